"""Defacto's notifications about a loan request arriving before the request's own answer.

Defacto notifies as it works: the invoice sent with a loan request is SUBMITTED, the loan
SUBMITTED then decided, while POST /loans may still wait for the decision (up to 30 s
with `wait_for_validation`) or end in a 504 although the loan was made. Whatever comes
first, the marketplace invoice keeps one mirror row and its loan, and a second "Cash in
now" on it is refused: one invoice, one loan, here and at Defacto.
"""

from __future__ import annotations

from typing import Any

import pytest
import requests
from requests.adapters import BaseAdapter

from django_defacto.models import Invoice, Loan, LoanStatus
from django_defacto.services.loans import reconcile_loan_request
from django_defacto.services.webhooks import HANDLED_EVENT_TYPES
from tests.conftest import IN_PROCESS_URL
from tests.integration.api_steps import ask_for_loan, ref, signed_in
from tests.integration.sellers import ready_seller
from tests.integration.webhook_delivery import (  # noqa: F401 (fixtures)
    receiver_fixture,
    subscribe,
    webhooks_on_fixture,
)
from tests.marketplace import make_invoice

pytestmark = pytest.mark.django_db


class NotificationsFirst(BaseAdapter):
    """Hands every POST /loans answer back only after the notifications it caused were
    delivered and processed: Defacto's webhooks overtaking its own answer."""

    def __init__(self, inner: BaseAdapter, deliver: Any) -> None:
        super().__init__()
        self.inner = inner
        self.deliver = deliver

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        response = self.inner.send(request, **kwargs)
        if request.method == "POST" and request.path_url.split("?")[0] == "/loans":
            self.deliver()
        return response

    def close(self) -> None:
        pass


@pytest.fixture
def notifications_first(http_session, contract_adapter, receiver, sandbox):
    http_session.mount(
        IN_PROCESS_URL,
        NotificationsFirst(contract_adapter, lambda: receiver.pump(sandbox.webhooks)),
    )


def active_loans_at_defacto(client) -> list[dict]:
    ended = {"DECLINED", "CANCELED", "DELETED"}
    return [loan for loan in client.loans.list().to_list() if loan["status"] not in ended]


def test_a_504_after_the_loan_was_made_then_its_notifications_keep_the_invoice_financed(
    defacto_client, control, sandbox, receiver, webhooks_on, django_capture_on_commit_callbacks
):
    subscribe(defacto_client, list(HANDLED_EVENT_TYPES))
    seller, _ = ready_seller(control)
    invoice = make_invoice(seller, total=80_000)
    browser = signed_in(seller.user)
    # Defacto makes the loan and answers 504; the client's retries meet 504s too.
    control.add_fault("timeout_504_after", next=1, path="/loans", method="POST")
    control.add_fault("timeout_504_before", next=3, path="/loans", method="POST")

    with django_capture_on_commit_callbacks(execute=True):
        first = ask_for_loan(browser, invoice)
    assert first.status_code == 201, first.content
    assert first.json()["status"] == LoanStatus.REQUESTED
    # Invoice.SUBMITTED, Loan.SUBMITTED, Loan.PENDING_VALIDATION... reach the worker now,
    # before anything answered the request.
    receiver.pump(sandbox.webhooks)
    control.advance_clock(10)
    receiver.pump(sandbox.webhooks)

    with django_capture_on_commit_callbacks(execute=True):
        second = ask_for_loan(browser, invoice)

    assert second.status_code == 409, second.content
    assert second.json()["code"] == "already_financed"
    assert Invoice.objects.count() == 1
    row = Invoice.objects.get()
    assert row.invoice_key == ref(invoice)
    assert row.defacto_id is not None
    [loan] = Loan.objects.all()
    assert loan.invoice_id == row.pk
    assert len(active_loans_at_defacto(defacto_client)) == 1
    assert reconcile_loan_request(loan).invoice_id == row.pk


def test_notifications_overtaking_a_waiting_request_leave_one_row_and_one_loan(
    defacto_client,
    control,
    sandbox,
    receiver,
    webhooks_on,
    notifications_first,
    django_capture_on_commit_callbacks,
    settings,
):
    settings.DEFACTO = {**settings.DEFACTO, "WAIT_FOR_VALIDATION": True, "AUTO_VALIDATE": True}
    subscribe(defacto_client, list(HANDLED_EVENT_TYPES))
    seller, _ = ready_seller(control)
    invoices = [make_invoice(seller, total=50_000) for _ in range(3)]
    browser = signed_in(seller.user)

    for invoice in invoices:
        with django_capture_on_commit_callbacks(execute=True):
            first = ask_for_loan(browser, invoice)
        assert first.status_code == 201, first.content
        assert first.json()["status"] not in (LoanStatus.REQUESTED, LoanStatus.REQUEST_FAILED)
        with django_capture_on_commit_callbacks(execute=True):
            again = ask_for_loan(browser, invoice)
        assert again.status_code == 409, again.content

    rows = Invoice.objects.order_by("pk")
    assert [row.invoice_key for row in rows] == [ref(invoice) for invoice in invoices]
    assert all(row.defacto_id for row in rows)
    assert sorted(Loan.objects.values_list("invoice_id", flat=True)) == [row.pk for row in rows]
    assert len(active_loans_at_defacto(defacto_client)) == len(invoices)


def test_an_invoice_row_made_from_a_notification_alone_is_folded_into_the_marketplaces(
    defacto_client, control, django_capture_on_commit_callbacks
):
    """A row an older version created from a notification (no `invoice_key`) gives way
    to the marketplace invoice's own row when the loan's answer names it."""
    from django_defacto.services.loans import cash_in_now

    seller, _ = ready_seller(control)
    invoice = make_invoice(seller)
    control.add_fault("timeout_504_after", next=1, path="/loans", method="POST")
    control.add_fault("timeout_504_before", next=3, path="/loans", method="POST")
    loan = cash_in_now(invoice)
    [at_defacto] = defacto_client.invoices.list().to_list()
    Invoice.objects.create(defacto_id=at_defacto["id"], invoice_number="orphan")

    loan = reconcile_loan_request(loan)

    [row] = Invoice.objects.all()
    assert row.invoice_key == ref(invoice)
    assert row.defacto_id == at_defacto["id"]
    assert loan.invoice_id == row.pk

"""A seller's sales history shared with Defacto: with consent only, in batches, each
invoice sent once whatever dies or overlaps, retried when Defacto is down, and the limit
the seller sees rising.

The sandbox raises the limit by a tenth of the paid sales of the last year (at most
50,000 EUR), keeping each uploaded invoice once by its `salt_id`."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
import requests
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse
from requests.adapters import BaseAdapter

from django_defacto.adapter import MarketplaceAdapter
from django_defacto.conf import get_adapter
from django_defacto.exceptions import SalesHistoryUnavailable
from django_defacto.models import Borrower, SalesHistoryConsent, SharedInvoice
from django_defacto.sandbox.business_data import MAX_SALES_BONUS
from django_defacto.sandbox.credit_lines import DEFAULT_POOL_AMOUNT
from django_defacto.services.borrowers import (
    current_credit_line,
    give_consent,
    revoke_consent,
    share_all_sales_histories,
    share_sales_history,
)
from django_defacto.tasks.sales_history import share_sales_histories
from example_project.marketplace.models import Invoice
from tests.conftest import IN_PROCESS_URL, TEST_API_KEY
from tests.integration.api_steps import api, signed_in
from tests.integration.dying import ProcessDies
from tests.integration.sellers import ready_seller
from tests.marketplace import make_invoice, make_seller

pytestmark = pytest.mark.django_db

UPLOAD = "/business/data/invoices"


def paid_sales(seller: Any, count: int, total: int = 120_000) -> list[Invoice]:
    """`count` invoices issued last month, due and paid since."""
    invoices = []
    for offset in range(count):
        invoice = make_invoice(seller, total=total)
        Invoice.objects.filter(pk=invoice.pk).update(
            issued_on=date.today() - timedelta(days=40 + offset),
            due_on=date.today() - timedelta(days=10),
            paid_on=date.today() - timedelta(days=5),
        )
        invoices.append(invoice)
    return invoices


def consenting_seller(control: Any, sales: int = 3, **options: Any) -> tuple[Any, Borrower]:
    seller, borrower = ready_seller(control, **options)
    paid_sales(seller, sales)
    give_consent(seller, seller.user.get_username())
    return seller, borrower


def uploads(contract_adapter: Any) -> list[Any]:
    return contract_adapter.checked("POST", UPLOAD)


def uploaded_numbers(contract_adapter: Any) -> list[str]:
    return [
        item["invoice_number"]
        for exchange in uploads(contract_adapter)
        for item in exchange.request_body["invoices"]
    ]


def limit(borrower: Borrower) -> int:
    line = current_credit_line(borrower)
    assert line is not None
    return line.pool_amount


# ---- the limit rises -------------------------------------------------------------------


def test_sharing_paid_sales_raises_the_limit_the_seller_sees(defacto_client, control):
    seller, borrower = consenting_seller(control, sales=3)
    assert limit(borrower) == DEFAULT_POOL_AMOUNT

    report = share_sales_history(borrower)

    assert (report.sent, report.uploads, report.errors) == (3, 1, [])
    # A tenth of 3 x 1,200 EUR paid.
    assert limit(borrower) == DEFAULT_POOL_AMOUNT + 36_000
    browser = signed_in(seller.user)
    line = browser.get(api("financing/")).json()["credit_line"]
    assert line["limit"] == DEFAULT_POOL_AMOUNT + 36_000
    page = browser.get(reverse("marketplace:financing")).content.decode()
    assert "3 invoices sent" in page


def test_unpaid_invoices_not_yet_due_wait_and_follow_once_paid(
    defacto_client, control, contract_adapter
):
    seller, borrower = consenting_seller(control, sales=1)
    open_invoice = make_invoice(seller, total=500_000, due_in_days=30)

    first = share_sales_history(borrower)
    assert (first.sent, first.held_back) == (1, 1)
    Invoice.objects.filter(pk=open_invoice.pk).update(paid_on=date.today())
    second = share_sales_history(borrower)

    assert (second.sent, second.already_shared) == (1, 1)
    assert sorted(uploaded_numbers(contract_adapter)) == sorted(
        Invoice.objects.filter(seller=seller).values_list("number", flat=True)
    )
    assert limit(borrower) == DEFAULT_POOL_AMOUNT + 12_000 + 50_000


def test_the_raise_is_bounded(defacto_client, control, settings):
    seller, borrower = consenting_seller(control, sales=0)
    paid_sales(seller, 3, total=20_000_000)  # 600,000 EUR paid

    share_sales_history(borrower)

    assert limit(borrower) == DEFAULT_POOL_AMOUNT + MAX_SALES_BONUS


# ---- batches, never twice --------------------------------------------------------------


def test_uploads_go_in_batches_and_nothing_is_sent_twice(
    defacto_client, control, settings, contract_adapter
):
    settings.DEFACTO = {**settings.DEFACTO, "SALES_HISTORY_BATCH_SIZE": 2}
    _, borrower = consenting_seller(control, sales=5)

    first = share_sales_history(borrower)
    again = share_sales_history(borrower)

    assert [len(exchange.request_body["invoices"]) for exchange in uploads(contract_adapter)] == [
        2,
        2,
        1,
    ]
    assert (first.sent, first.uploads) == (5, 3)
    assert (again.sent, again.uploads, again.already_shared) == (0, 0, 5)
    assert SharedInvoice.objects.filter(borrower=borrower, sent_at__isnull=False).count() == 5
    body = uploads(contract_adapter)[0].request_body
    assert body["identifier"] == borrower.identifier
    assert {item["direction"] for item in body["invoices"]} == {"receivable"}
    assert all(item["salt_id"].startswith("marketplace.invoice:") for item in body["invoices"])


def test_a_run_killed_between_defactos_answer_and_the_record_sends_again_once(
    defacto_client, control, settings, http_session, contract_adapter
):
    settings.DEFACTO = {**settings.DEFACTO, "SALES_HISTORY_LEASE_SECONDS": 0}
    _, borrower = consenting_seller(control, sales=2)
    http_session.mount(IN_PROCESS_URL, ProcessDies(contract_adapter, path=UPLOAD))

    with pytest.raises(ProcessDies.Killed):
        share_sales_history(borrower)
    # Defacto took them; nothing here says they were sent.
    assert not SharedInvoice.objects.filter(sent_at__isnull=False).exists()

    report = share_sales_history(borrower)

    assert report.sent == 2
    assert len(uploads(contract_adapter)) == 2
    # The same salt_ids: Defacto kept each invoice once, and counted it once.
    assert control.state()["counts"]["shared_invoices"] == 2
    assert limit(borrower) == DEFAULT_POOL_AMOUNT + 24_000


def test_a_claim_still_held_by_a_live_run_is_left_to_it(
    defacto_client, control, http_session, contract_adapter
):
    _, borrower = consenting_seller(control, sales=2)
    http_session.mount(IN_PROCESS_URL, ProcessDies(contract_adapter, path=UPLOAD))
    with pytest.raises(ProcessDies.Killed):
        share_sales_history(borrower)

    report = share_sales_history(borrower)

    # Within the lease the first run may still record Defacto's answer: not sent again.
    assert (report.sent, report.already_shared) == (0, 2)
    assert len(uploads(contract_adapter)) == 1


class RunsAnotherShareMeanwhile(BaseAdapter):
    """While the first upload is on its way to Defacto, a second run starts."""

    def __init__(self, inner: BaseAdapter, borrower: Borrower) -> None:
        super().__init__()
        self.inner = inner
        self.borrower = borrower
        self.reports: list[Any] = []

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        if request.path_url == UPLOAD and not self.reports:
            self.reports.append(share_sales_history(self.borrower))
        return self.inner.send(request, **kwargs)

    def close(self) -> None:
        pass


def test_two_overlapping_runs_send_each_invoice_once(
    defacto_client, control, http_session, contract_adapter
):
    seller, borrower = consenting_seller(control, sales=3)
    overlapping = RunsAnotherShareMeanwhile(contract_adapter, borrower)
    http_session.mount(IN_PROCESS_URL, overlapping)

    first = share_sales_history(borrower)

    [second] = overlapping.reports
    assert (first.sent, second.sent, second.already_shared) == (3, 0, 3)
    assert len(uploads(contract_adapter)) == 1
    assert sorted(uploaded_numbers(contract_adapter)) == sorted(
        Invoice.objects.filter(seller=seller).values_list("number", flat=True)
    )


def test_defacto_down_marks_nothing_sent_and_the_next_run_sends(
    defacto_client, control, contract_adapter
):
    _, borrower = consenting_seller(control, sales=2)
    control.add_fault("http_500", next=10, path=UPLOAD)

    report = share_sales_history(borrower)

    assert report.sent == 0
    assert "sent again at the next run" in report.errors[0]
    assert not SharedInvoice.objects.exists()
    assert limit(borrower) == DEFAULT_POOL_AMOUNT

    control.clear_faults()
    assert share_sales_history(borrower).sent == 2
    assert limit(borrower) == DEFAULT_POOL_AMOUNT + 24_000


# ---- consent ---------------------------------------------------------------------------


def test_without_consent_or_after_revoking_it_nothing_is_sent(
    defacto_client, control, contract_adapter
):
    seller, borrower = ready_seller(control)
    paid_sales(seller, 2)
    assert share_sales_history(borrower).sent == 0

    give_consent(seller, "seller")
    assert share_sales_history(borrower).sent == 2
    assert revoke_consent(seller, "seller") is True
    paid_sales(seller, 1)

    assert share_sales_history(borrower).sent == 0
    assert len(uploads(contract_adapter)) == 1
    consent = SalesHistoryConsent.objects.get(borrower=borrower)
    assert consent.revoked_at is not None and consent.revoked_by == "seller"


def test_consent_revoked_mid_run_stops_the_next_batches(
    defacto_client, control, settings, http_session, contract_adapter
):
    settings.DEFACTO = {**settings.DEFACTO, "SALES_HISTORY_BATCH_SIZE": 1}
    seller, borrower = consenting_seller(control, sales=3)

    class RevokesAfterFirstUpload(BaseAdapter):
        def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
            response = contract_adapter.send(request, **kwargs)
            if request.path_url == UPLOAD:
                revoke_consent(seller, "seller")
            return response

        def close(self) -> None:
            pass

    http_session.mount(IN_PROCESS_URL, RevokesAfterFirstUpload())

    assert share_sales_history(borrower).sent == 1
    assert len(uploads(contract_adapter)) == 1


def test_the_periodic_task_shares_for_every_consenting_seller(defacto_client, control):
    _, sharing = consenting_seller(control, sales=1)
    quiet_seller, quiet = ready_seller(control)
    paid_sales(quiet_seller, 1)

    result = share_sales_histories.delay().get()

    assert (result["borrowers"], result["sent"], result["errors"]) == (1, 1, [])
    assert limit(sharing) == DEFAULT_POOL_AMOUNT + 12_000
    assert not SharedInvoice.objects.filter(borrower=quiet).exists()
    assert share_all_sales_histories().sent == 0


def test_consent_needs_an_enrolled_seller_and_a_marketplace_that_shares(
    defacto_client, control, monkeypatch
):
    with pytest.raises(SalesHistoryUnavailable):
        give_consent(make_seller(), "someone")
    seller, _ = ready_seller(control)
    # A marketplace whose adapter lists no sales history.
    monkeypatch.setattr(type(get_adapter()), "sales_history", MarketplaceAdapter.sales_history)
    with pytest.raises(SalesHistoryUnavailable):
        give_consent(seller, "someone")


def test_consent_given_queues_the_first_upload(
    defacto_client, control, django_capture_on_commit_callbacks
):
    seller, borrower = ready_seller(control)
    paid_sales(seller, 2)

    with django_capture_on_commit_callbacks(execute=True):
        give_consent(seller, "seller")

    assert SharedInvoice.objects.filter(borrower=borrower, sent_at__isnull=False).count() == 2
    assert limit(borrower) == DEFAULT_POOL_AMOUNT + 24_000


# ---- seller API ------------------------------------------------------------------------


def test_a_seller_gives_reads_and_revokes_its_consent_through_the_api(defacto_client, control):
    seller, borrower = ready_seller(control)
    other, _ = ready_seller(control)
    browser = signed_in(seller.user)

    assert browser.get(api("financing/sales-history/")).json()["sharing"] is False
    given = browser.post(api("financing/sales-history/"), content_type="application/json")
    assert given.status_code == 200
    assert given.json()["sharing"] is True and given.json()["offered"] is True
    consent = SalesHistoryConsent.objects.get(borrower=borrower)
    assert consent.given_by == seller.user.get_username()

    # Another seller sees only its own.
    assert signed_in(other.user).get(api("financing/sales-history/")).json()["sharing"] is False

    revoked = browser.delete(api("financing/sales-history/"))
    assert revoked.status_code == 200 and revoked.json()["sharing"] is False
    consent.refresh_from_db()
    assert consent.revoked_by == seller.user.get_username()


def test_a_seller_not_enrolled_cannot_consent(defacto_client):
    seller = make_seller()

    answer = signed_in(seller.user).post(
        api("financing/sales-history/"), content_type="application/json"
    )

    assert answer.status_code == 409
    assert answer.json()["code"] == "sales_history_unavailable"
    assert not SalesHistoryConsent.objects.exists()


def test_the_financing_page_shares_and_stops_sharing(
    defacto_client, control, django_capture_on_commit_callbacks
):
    seller, borrower = ready_seller(control)
    paid_sales(seller, 1)
    browser = Client()
    browser.force_login(seller.user)

    assert (
        "Share my sales history" in browser.get(reverse("marketplace:financing")).content.decode()
    )
    with django_capture_on_commit_callbacks(execute=True):
        browser.post(reverse("marketplace:sales_history"), {"share": "start"})
    page = browser.get(reverse("marketplace:financing")).content.decode()
    assert "Stop sharing my sales history" in page and "1 invoice sent" in page
    assert limit(borrower) == DEFAULT_POOL_AMOUNT + 12_000

    browser.post(reverse("marketplace:sales_history"), {"share": "stop"})
    assert (
        "Share my sales history" in browser.get(reverse("marketplace:financing")).content.decode()
    )


# ---- admin -----------------------------------------------------------------------------


def test_staff_audit_consents_and_sent_invoices_read_only(defacto_client, control):
    seller, borrower = consenting_seller(control, sales=1)
    share_sales_history(borrower)
    staff = get_user_model().objects.create_superuser("ops", "ops@example.com", "pw")
    browser = Client()
    browser.force_login(staff)
    shared = SharedInvoice.objects.get()

    listing = browser.get(reverse("admin:django_defacto_sharedinvoice_changelist"))
    assert listing.status_code == 200 and shared.number in listing.content.decode()
    detail = browser.get(reverse("admin:django_defacto_sharedinvoice_change", args=[shared.pk]))
    assert detail.status_code == 200
    assert 'name="sent_at"' not in detail.content.decode()
    assert browser.get(reverse("admin:django_defacto_sharedinvoice_add")).status_code == 403
    consents = browser.get(reverse("admin:django_defacto_saleshistoryconsent_changelist"))
    assert consents.status_code == 200 and seller.user.get_username() in consents.content.decode()
    deleted = browser.post(
        reverse("admin:django_defacto_sharedinvoice_delete", args=[shared.pk]), {"post": "yes"}
    )
    assert deleted.status_code == 403 and SharedInvoice.objects.filter(pk=shared.pk).exists()


# ---- the sandbox and the contract ------------------------------------------------------


def test_the_sandbox_refuses_an_upload_that_breaks_the_contract(
    defacto_client, control, contract_adapter, http_session
):
    _, borrower = ready_seller(control)
    with contract_adapter.sending_invalid_requests():
        answer = http_session.post(
            f"{IN_PROCESS_URL}{UPLOAD}",
            json={"identifier": borrower.identifier, "invoices": [{"invoice_number": "1"}]},
            headers={"Authorization": f"Bearer {TEST_API_KEY}"},
        )
    assert answer.status_code in (400, 422)
    assert limit(borrower) == DEFAULT_POOL_AMOUNT

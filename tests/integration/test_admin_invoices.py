"""Invoices in the admin, "Cash in now" for a marketplace invoice (choose, see the offer,
confirm), and the other read-only mirrors: credit lines, payments and bills."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format

from django_defacto.conf import get_adapter
from django_defacto.models import Bill, CreditLine, Invoice, Loan, LoanStatus, Payment
from django_defacto.services.loans.eligibility import check_eligibility
from tests.integration.admin_steps import (
    action_names,
    change_url,
    changelist_url,
    messages_of,
    staff_client,
)
from tests.integration.sellers import ready_seller
from tests.marketplace import make_invoice, make_seller

pytestmark = pytest.mark.django_db

CASH_IN_URL = "admin:django_defacto_invoice_cash_in"


def invoice_key(invoice) -> str:
    return get_adapter().invoice_key(invoice)


# ---- Cash in now for a marketplace invoice ------------------------------------------------


def test_the_cash_in_page_lists_the_marketplaces_invoices(admin_client):
    seller = make_seller("SUCCESS", name="Imprimerie Morel")
    invoice = make_invoice(seller)

    response = admin_client.get(reverse(CASH_IN_URL))

    choices = dict(response.context["form"].fields["invoice"].choices)
    assert choices[invoice_key(invoice)] == f"{invoice.number}, Imprimerie Morel"


def test_the_offer_shows_amount_cost_and_repayment_date_before_anything_is_sent(
    admin_client, defacto_client, control
):
    seller, _borrower = ready_seller(control)
    invoice = make_invoice(seller, total=240_000)
    quote = check_eligibility(invoice).quote

    response = admin_client.post(reverse(CASH_IN_URL), {"invoice": invoice_key(invoice)})

    html = response.content.decode()
    assert response.status_code == 200
    assert "€2,400.00" in html
    cost = f"€{quote.cost // 100:,}.{quote.cost % 100:02d}"
    assert cost in html
    assert date_format(quote.to_repay_at, "DATE_FORMAT") in html
    assert 'name="confirm" value="yes"' in html
    assert not Loan.objects.exists()


def test_confirming_requests_the_loan_and_reports_its_status_in_words(
    admin_client, admin_user, defacto_client, control
):
    seller, _borrower = ready_seller(control)
    invoice = make_invoice(seller)

    response = admin_client.post(
        reverse(CASH_IN_URL), {"invoice": invoice_key(invoice), "confirm": "yes"}
    )

    loan = Loan.objects.get()
    assert loan.status == LoanStatus.TO_VALIDATE
    assert loan.requested_by == admin_user
    assert response.status_code == 302
    assert response["Location"] == change_url(loan)
    [message] = messages_of(response)
    assert invoice.number in message
    assert "Approved, awaiting consent" in message


def test_an_invoice_that_cannot_be_financed_shows_why_and_no_confirm_button(
    admin_client, defacto_client
):
    invoice = make_invoice(make_seller("SUCCESS"))

    response = admin_client.post(reverse(CASH_IN_URL), {"invoice": invoice_key(invoice)})

    html = response.content.decode()
    assert "The seller is not enrolled with Defacto yet." in html
    assert 'name="confirm"' not in html


def test_confirming_an_invoice_that_cannot_be_financed_requests_nothing(
    admin_client, defacto_client
):
    invoice = make_invoice(make_seller("SUCCESS"))

    response = admin_client.post(
        reverse(CASH_IN_URL), {"invoice": invoice_key(invoice), "confirm": "yes"}
    )

    assert response.status_code == 302
    assert "The seller is not enrolled with Defacto yet." in messages_of(response)[0]
    assert not Loan.objects.exists()


def test_a_chosen_repayment_date_must_be_1_to_120_days_away(admin_client, defacto_client, control):
    seller, _borrower = ready_seller(control)
    invoice = make_invoice(seller)
    too_far = timezone.localdate() + timedelta(days=150)

    refused = admin_client.post(
        reverse(CASH_IN_URL), {"invoice": invoice_key(invoice), "to_repay_on": too_far}
    )
    assert "Choose a day between 1 and 120 days from today" in refused.content.decode()

    day = timezone.localdate() + timedelta(days=20)
    admin_client.post(
        reverse(CASH_IN_URL),
        {"invoice": invoice_key(invoice), "to_repay_on": day, "confirm": "yes"},
    )
    assert timezone.localtime(Loan.objects.get().to_repay_at).date() == day


def test_cash_in_needs_the_request_loan_permission():
    clerk = staff_client("view_invoice", "view_loan")
    assert clerk.get(reverse(CASH_IN_URL)).status_code == 403
    assert "Cash in now" not in clerk.get(changelist_url("invoice")).content.decode()

    requester = staff_client("view_invoice", "view_loan", "request_loan")
    assert requester.get(reverse(CASH_IN_URL)).status_code == 200
    for model_name in ("invoice", "loan"):
        html = requester.get(changelist_url(model_name)).content.decode()
        assert "Cash in now for a marketplace invoice" in html


# ---- the invoice mirror -----------------------------------------------------------------


def test_a_financed_invoice_is_listed_with_its_loan(admin_client, defacto_client, control):
    seller, borrower = ready_seller(control)
    host_invoice = make_invoice(seller, total=99_900)
    admin_client.post(
        reverse(CASH_IN_URL), {"invoice": invoice_key(host_invoice), "confirm": "yes"}
    )
    invoice = Invoice.objects.get(invoice_key=invoice_key(host_invoice))

    listing = admin_client.get(changelist_url("invoice")).content.decode()
    assert host_invoice.number in listing
    assert "€999.00" in listing
    assert str(borrower) in listing

    page = admin_client.get(change_url(invoice)).content.decode()
    assert str(Loan.objects.get()) in page
    assert "Approved, awaiting consent" in page
    assert 'name="_save"' not in page


# ---- read-only mirrors ---------------------------------------------------------------------


def mirror_rows() -> list:
    now = timezone.now()
    line = CreditLine.objects.create(defacto_id="cl-1", pool_amount=1_000_000, end_date=now)
    payment = Payment.objects.create(defacto_id="pay-1", amount=10_000, status="PAID")
    bill = Bill.objects.create(defacto_id="bill-1", status="TO_PAY", to_pay_amount=1_234)
    invoice = Invoice.objects.create(defacto_id="inv-1", invoice_number="INV-1")
    return [line, payment, bill, invoice]


def test_credit_lines_payments_bills_and_invoices_are_view_only(admin_client):
    for row in mirror_rows():
        name = row._meta.model_name
        assert admin_client.get(changelist_url(name)).status_code == 200
        assert admin_client.get(reverse(f"admin:django_defacto_{name}_add")).status_code == 403
        assert admin_client.post(change_url(row), {}).status_code == 403
        page = admin_client.get(change_url(row))
        assert page.status_code == 200
        assert 'name="_save"' not in page.content.decode()
        delete = reverse(f"admin:django_defacto_{name}_delete", args=[row.pk])
        assert admin_client.post(delete, {"post": "yes"}).status_code == 403
        assert "delete_selected" not in action_names(admin_client, name)
        assert type(row).objects.filter(pk=row.pk).exists()


def test_mirrors_show_amounts_from_cents(admin_client):
    mirror_rows()
    assert "€10,000.00" in admin_client.get(changelist_url("creditline")).content.decode()
    assert "€100.00" in admin_client.get(changelist_url("payment")).content.decode()
    assert "€12.34" in admin_client.get(changelist_url("bill")).content.decode()

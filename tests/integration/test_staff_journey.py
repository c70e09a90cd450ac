"""The acceptance scenario, as operations staff live it in the admin against the sandbox:
enroll a seller who accepted Defacto's terms, see its credit line open, request financing
for an invoice, validate it, follow it to TO_REPAY and CLOSED; cancel a second loan before
it is paid; see a declined loan with its reason in words."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from django_defacto.conf import get_adapter
from django_defacto.models import Borrower, Loan, LoanStatus
from django_defacto.sandbox.control import SandboxControl
from example_project.marketplace.models import Invoice as HostInvoice
from example_project.marketplace.models import Seller
from tests.integration.admin_steps import change_url, changelist_url, messages_of, run_action
from tests.marketplace import make_invoice, make_seller

pytestmark = pytest.mark.django_db

S = LoanStatus


def enroll_in_admin(staff: Client, seller: Seller) -> Borrower:
    """ "Enroll a seller", ticking "the seller accepted Defacto's terms"."""
    key = get_adapter().seller_key(seller)
    page = staff.get(reverse("admin:django_defacto_borrower_enroll"))
    assert seller.name in page.content.decode()
    response = staff.post(
        reverse("admin:django_defacto_borrower_enroll"), {"seller": key, "terms_accepted": "on"}
    )
    assert response.status_code == 302, messages_of(response)
    return Borrower.objects.get(seller_key=key)


def wait_for_credit_line(staff: Client, control: SandboxControl, borrower: Borrower) -> str:
    """Let sandbox time pass, then "Refresh status and credit lines"; the borrower list."""
    control.advance_clock(5)
    run_action(staff, "refresh_selected", [borrower])
    return staff.get(changelist_url("borrower")).content.decode()


def cash_in_in_admin(staff: Client, invoice: HostInvoice) -> tuple[Loan, str]:
    """ "Cash in now for a marketplace invoice": choose, read the offer, confirm."""
    url = reverse("admin:django_defacto_invoice_cash_in")
    key = get_adapter().invoice_key(invoice)
    offer = staff.post(url, {"invoice": key})
    assert 'name="confirm" value="yes"' in offer.content.decode()
    response = staff.post(url, {"invoice": key, "confirm": "yes"})
    assert response.status_code == 302
    [report] = messages_of(response)
    loan = Loan.objects.get(invoice__invoice_key=key)
    return loan, report


def refresh_in_admin(staff: Client, loan: Loan) -> Loan:
    run_action(staff, "refresh_selected", [loan])
    loan.refresh_from_db()
    return loan


def test_staff_run_cash_in_now_from_the_admin(admin_client, defacto_client, control):
    staff = admin_client

    # A seller who accepted Defacto's terms is enrolled; the credit line opens.
    seller = make_seller("SUCCESS", name="Atelier Girard SAS")
    borrower = enroll_in_admin(staff, seller)
    assert borrower.terms_accepted_at is not None
    borrowers = wait_for_credit_line(staff, control, borrower)
    assert ">Ready<" in borrowers
    assert "€0.00 / " in borrowers

    # Financing is requested for an invoice; Defacto approves it.
    loan, report = cash_in_in_admin(staff, make_invoice(seller, total=180_000))
    assert loan.status == S.TO_VALIDATE
    assert "Approved, awaiting consent" in report
    assert "€1,800.00" in staff.get(change_url(loan)).content.decode()

    # Staff validate it (the seller's consent): Defacto schedules the payment.
    response = run_action(staff, "validate_selected", [loan])
    loan.refresh_from_db()
    assert loan.status in {S.VALIDATED, S.SCHEDULED}
    assert loan.get_status_display() in messages_of(response)[0]

    # Time passes: the seller is paid, then the buyer's payment repays the loan.
    control.advance_clock(130)
    assert refresh_in_admin(staff, loan).status == S.TO_REPAY
    listing = staff.get(changelist_url("loan")).content.decode()
    assert 'defacto-badge--paid" title="TO_REPAY">Paid, to repay<' in listing

    control.advance_clock(60)
    assert refresh_in_admin(staff, loan).status == S.CLOSED
    page = staff.get(change_url(loan)).content.decode()
    assert 'defacto-badge--closed" title="CLOSED">Closed<' in page
    payments = list(loan.payments.all())
    assert payments
    assert all(payment.payment_type in page for payment in payments)

    # Another loan is canceled before the money leaves.
    second, _report = cash_in_in_admin(staff, make_invoice(seller, total=60_000))
    assert second.status == S.TO_VALIDATE
    response = run_action(staff, "cancel_selected", [second])
    second.refresh_from_db()
    assert second.status == S.CANCELED
    assert "Canceled" in messages_of(response)[0]

    # A seller whose loans Defacto rejects: the loan shows DECLINED and why, in words.
    rejected_seller = make_seller("REJECT", name="Scierie Faure")
    wait_for_credit_line(staff, control, enroll_in_admin(staff, rejected_seller))
    declined, report = cash_in_in_admin(staff, make_invoice(rejected_seller))
    reason = "The business does not meet our credit risk criteria."
    assert declined.status == S.DECLINED
    assert reason in report
    listing = staff.get(f"{changelist_url('loan')}?status__exact=DECLINED").content.decode()
    assert 'defacto-badge--declined" title="DECLINED">Declined<' in listing
    assert reason in listing
    assert "Scierie Faure" in listing

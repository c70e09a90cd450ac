"""The sellers' pages of the example marketplace: invoices with the Cash in now button,
financing (enrolment, credit line, loans, bills), each seller's own data only, and the
sandbox time control of the demo."""

from __future__ import annotations

import re
from html import unescape

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from django_defacto.models import Bill, Loan, LoanStatus
from django_defacto.services.loans import cash_in_now
from django_defacto.services.loans.actions import refresh_loan
from example_project.marketplace.management.commands.run_demo import Command as RunDemo
from example_project.marketplace.models import Notification
from tests.integration.sellers import ready_seller
from tests.marketplace import make_invoice, make_seller


def signed_in(seller) -> Client:
    browser = Client()
    browser.force_login(seller.user)
    return browser


def text_of(response) -> str:
    """The page's visible words, tags removed and spaces collapsed."""
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", response.content.decode(), flags=re.S)
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


@pytest.fixture
def sandbox_time(settings):
    """The demo's conditions for moving sandbox time: DEBUG and a sandbox on this machine."""
    settings.DEBUG = True
    settings.DEFACTO = {**settings.DEFACTO, "BASE_URL": "http://127.0.0.1:8765"}


@pytest.mark.django_db
def test_the_site_root_sends_visitors_to_log_in_and_sellers_to_their_invoices():
    assert Client().get("/").url == reverse("marketplace:login")
    seller = make_seller()
    assert signed_in(seller).get("/").url == reverse("marketplace:invoices")


@pytest.mark.django_db
def test_a_seller_logs_in_with_the_login_form_and_lands_on_their_invoices():
    seller = make_seller()
    browser = Client()
    page = browser.get(reverse("marketplace:login"))
    assert "Log in" in text_of(page)

    answer = browser.post(
        reverse("marketplace:login"), {"username": seller.user.username, "password": "pw"}
    )

    assert answer.url == reverse("marketplace:invoices")
    assert seller.name in text_of(browser.get(answer.url))


@pytest.mark.django_db
def test_my_invoices_lists_number_buyer_amount_due_date_and_the_cash_in_now_button(
    defacto_client, control
):
    seller, _ = ready_seller(control)
    invoice = make_invoice(seller, total=123_456)

    page = signed_in(seller).get(reverse("marketplace:invoices"))

    words = text_of(page)
    assert invoice.number in words and invoice.buyer.name in words
    assert "€1,234.56" in words
    assert "Not financed" in words
    html = page.content.decode()
    assert "data-defacto-button" in html and "data-defacto-dialog" in html


@pytest.mark.django_db
def test_an_invoice_not_financeable_yet_shows_no_button():
    seller = make_seller()
    make_invoice(seller)

    page = signed_in(seller).get(reverse("marketplace:invoices"))

    assert "data-defacto-dialog" not in page.content.decode()


@pytest.mark.django_db
def test_my_invoices_invites_a_seller_not_enrolled_to_activate_financing():
    seller = make_seller()
    invoices = [make_invoice(seller, total=150_000), make_invoice(seller, total=80_000)]

    page = signed_in(seller).get(reverse("marketplace:invoices"))

    html = page.content.decode()
    links = re.findall(
        r'<a class="defacto-invitation__link" href="([^"]+)">'
        r"Get paid today: activate financing with Defacto</a>",
        html,
    )
    assert links == [reverse("marketplace:financing")] * len(invoices)
    assert "data-defacto-button" not in html
    # The amounts are the invoices' own, in their column; none is offered as financing.
    invitations = re.findall(r"<p class=\"defacto-invitation.*?</p>", html, flags=re.S)
    assert invitations and not any("€" in text for text in invitations)
    assert 'style="' not in html


@pytest.mark.django_db
def test_a_financed_invoice_shows_its_loan_status_and_links_to_the_loan(defacto_client, control):
    seller, _ = ready_seller(control)
    invoice = make_invoice(seller)
    loan = cash_in_now(invoice, auto_validate=True)

    page = signed_in(seller).get(reverse("marketplace:invoices"))

    assert loan.get_status_display() in text_of(page)
    assert reverse("marketplace:loan", args=[loan.pk]) in page.content.decode()
    assert "data-defacto-dialog" not in page.content.decode()


@pytest.mark.django_db
def test_a_seller_enrols_by_accepting_the_terms_and_sees_the_credit_line_gauge(
    defacto_client, control
):
    seller = make_seller()
    browser = signed_in(seller)
    page = browser.get(reverse("marketplace:financing"))
    assert "Not enrolled" in text_of(page)
    assert 'name="accept_terms"' in page.content.decode()

    refused = browser.post(reverse("marketplace:enroll"), follow=True)
    assert "Please accept Defacto's terms to enrol." in text_of(refused)

    enrolled = browser.post(reverse("marketplace:enroll"), {"accept_terms": "on"}, follow=True)
    assert "You are enrolled with Defacto" in text_of(enrolled)
    assert 'name="accept_terms"' not in enrolled.content.decode()
    assert "You accepted Defacto's terms on" in text_of(enrolled)

    seller, borrower = ready_seller(control)
    page = signed_in(seller).get(reverse("marketplace:financing"))
    html = page.content.decode()
    assert re.search(r"<meter [^>]*min=\"0\" max=\"\d+\" value=\"0\"", html)
    assert "used of" in text_of(page) and "available" in text_of(page)
    assert borrower.get_status_display() in text_of(page)


@pytest.mark.django_db
def test_my_financing_shows_each_loan_with_its_timeline_and_how_to_repay_once_paid(
    defacto_client, control, django_capture_on_commit_callbacks
):
    seller, _ = ready_seller(control)
    invoice = make_invoice(seller, total=200_000)
    loan = cash_in_now(invoice, auto_validate=True)
    browser = signed_in(seller)
    assert "How to repay" not in text_of(browser.get(reverse("marketplace:financing")))

    # The transfer is initiated, then arrives: the loan is TO_REPAY.
    control.advance_clock(61)
    control.advance_clock(61)
    with django_capture_on_commit_callbacks(execute=True):
        loan = refresh_loan(loan)
    assert loan.status == LoanStatus.TO_REPAY

    words = text_of(browser.get(reverse("marketplace:financing")))
    assert "How to repay" in words
    assert loan.repayment_iban in words
    assert loan.repayment_references[0] in words
    assert "€2,000.00" in words
    assert "Timeline" in words and "Paid, to repay" in words and "Payment scheduled" in words
    loan_page = text_of(browser.get(reverse("marketplace:loan", args=[loan.pk])))
    assert "How to repay" in loan_page and invoice.number in loan_page


@pytest.mark.django_db
def test_a_declined_loan_says_why_in_words(defacto_client, control):
    seller, _ = ready_seller(control, "REJECT")
    loan = cash_in_now(make_invoice(seller))
    assert loan.status == LoanStatus.DECLINED

    words = text_of(signed_in(seller).get(reverse("marketplace:loan", args=[loan.pk])))

    assert "Why it was declined" in words
    assert "Declined" in words


@pytest.mark.django_db
def test_my_financing_lists_the_sellers_bills(defacto_client, control):
    seller, borrower = ready_seller(control)
    Bill.objects.create(
        borrower=borrower,
        defacto_id="bill-1",
        status="TO_PAY",
        to_pay_amount=1_234,
        invoice_number="BILL-2026-10",
        start_date=timezone.now(),
        end_date=timezone.now(),
        due_date=timezone.now(),
    )

    words = text_of(signed_in(seller).get(reverse("marketplace:financing")))

    assert "BILL-2026-10" in words and "€12.34" in words and "To pay" in words


@pytest.mark.django_db
def test_a_seller_never_sees_another_sellers_invoice_loan_or_notification(defacto_client, control):
    owner, _ = ready_seller(control)
    invoice = make_invoice(owner)
    loan = cash_in_now(invoice, auto_validate=True)
    note = Notification.objects.create(seller=owner, kind="k", subject="s", message="m")
    other = signed_in(make_seller())

    assert other.get(reverse("marketplace:invoice", args=[invoice.pk])).status_code == 404
    assert other.get(reverse("marketplace:loan", args=[loan.pk])).status_code == 404
    assert other.post(reverse("marketplace:notification_read", args=[note.pk])).status_code == 404
    assert invoice.number not in text_of(other.get(reverse("marketplace:invoices")))
    assert invoice.number not in text_of(other.get(reverse("marketplace:financing")))
    owner_view = signed_in(owner)
    assert owner_view.get(reverse("marketplace:invoice", args=[invoice.pk])).status_code == 200
    assert owner_view.get(reverse("marketplace:loan", args=[loan.pk])).status_code == 200


@pytest.mark.django_db
def test_the_pages_ask_visitors_to_log_in():
    for name in ("invoices", "financing", "notifications"):
        answer = Client().get(reverse(f"marketplace:{name}"))
        assert answer.status_code == 302
        assert answer.url.startswith(reverse("marketplace:login"))


@pytest.mark.django_db
def test_staff_get_a_link_to_the_admin(admin_user):
    staff = Client()
    staff.force_login(admin_user)

    page = staff.get(reverse("marketplace:invoices"))

    assert page.status_code == 403
    assert "No seller account" in text_of(page)
    assert reverse("admin:index") in page.content.decode()
    seller = make_seller()
    seller.user.is_staff = True
    seller.user.save()
    assert reverse("admin:index") in signed_in(seller).get("/invoices/").content.decode()
    assert reverse("admin:index") not in signed_in(make_seller()).get("/invoices/").content.decode()


@pytest.mark.django_db
def test_the_sellers_pages_forbid_inline_scripts_and_styles(admin_client):
    seller = make_seller()
    page = signed_in(seller).get(reverse("marketplace:invoices"))

    assert page["Content-Security-Policy"] == "default-src 'self'"
    html = page.content.decode()
    assert "<style" not in html and " style=" not in html
    assert not re.search(r"<script(?![^>]*\bsrc=)", html)
    # The admin keeps its own inline scripts.
    assert "Content-Security-Policy" not in admin_client.get(reverse("admin:index")).headers


@pytest.mark.django_db
def test_sandbox_time_control_is_offered_only_for_a_local_sandbox_in_debug(settings):
    seller = make_seller()
    settings.DEBUG = False
    assert "Advance sandbox time" not in text_of(signed_in(seller).get("/invoices/"))
    assert signed_in(seller).post("/sandbox/clock/", {"seconds": 60}).status_code == 404

    settings.DEBUG = True
    settings.DEFACTO = {**settings.DEFACTO, "BASE_URL": "https://api.getdefacto.com"}
    assert "Advance sandbox time" not in text_of(signed_in(seller).get("/invoices/"))

    settings.DEFACTO = {**settings.DEFACTO, "BASE_URL": "http://localhost:8765"}
    words = text_of(signed_in(seller).get("/invoices/"))
    for step in ("1 minute", "1 hour", "1 day"):
        assert f"Advance sandbox time by {step}" in words


@pytest.mark.django_db
def test_advancing_sandbox_time_from_the_page_shows_the_loans_new_state(
    defacto_client, control, sandbox_time, django_capture_on_commit_callbacks
):
    seller, _ = ready_seller(control)
    loan = cash_in_now(make_invoice(seller), auto_validate=True)
    assert loan.status == LoanStatus.SCHEDULED
    browser = signed_in(seller)

    with django_capture_on_commit_callbacks(execute=True):
        page = browser.post(
            reverse("marketplace:sandbox_clock"),
            {"seconds": 60, "next": reverse("marketplace:financing")},
            follow=True,
        )

    assert page.redirect_chain[-1][0] == reverse("marketplace:financing")
    assert "Sandbox time is now" in text_of(page)
    assert Loan.objects.get(pk=loan.pk).status == LoanStatus.INITIATED
    assert "Payment initiated" in text_of(page)


@pytest.mark.django_db
def test_the_sandbox_clock_form_needs_csrf(defacto_client, sandbox_time):
    seller = make_seller()
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(seller.user)

    assert browser.post(reverse("marketplace:sandbox_clock"), {"seconds": 60}).status_code == 403


@pytest.mark.django_db
def test_the_sandbox_clock_command_advances_time_and_refreshes_every_sellers_loans(
    defacto_client, control, sandbox_time, capsys
):
    seller, _ = ready_seller(control)
    loan = cash_in_now(make_invoice(seller), auto_validate=True)

    call_command("sandbox_clock", "--advance", "3600")

    assert Loan.objects.get(pk=loan.pk).status == LoanStatus.CLOSED
    assert "Sandbox time is now" in capsys.readouterr().out


def test_the_demo_ends_with_the_site_address_the_logins_and_what_to_try():
    guide = RunDemo.site_guide("http://127.0.0.1:8000")

    assert "http://127.0.0.1:8000/" in guide
    assert "seller-success " in guide and "seller-reject " in guide
    assert "admin / admin" in guide
    assert "Try it:" in guide and "advance the sandbox time" in guide


@pytest.mark.django_db
def test_the_information_page_asks_for_the_iban_and_directors_defacto_names(
    defacto_client, control
):
    from django_defacto.exceptions import EnrollmentIncomplete
    from django_defacto.services.borrowers import borrower_for_seller, enroll_seller

    seller = make_seller()
    # The sandbox knows this French company as one whose directors and IBAN it lacks.
    seller.legal_identifier, seller.iban = "000271825", ""
    seller.save()
    with pytest.raises(EnrollmentIncomplete):
        enroll_seller(seller, terms_accepted_at=timezone.now())
    browser = signed_in(seller)
    url = reverse("marketplace:information")

    page = text_of(browser.get(url))

    assert "The company's directors" in page
    assert "The seller's IBAN, needed for direct debit repayments" in page
    assert "Director 1" in page and "IBAN" in page
    form = {
        "directors-TOTAL_FORMS": "2",
        "directors-INITIAL_FORMS": "0",
        "directors-MIN_NUM_FORMS": "1",
        "directors-MAX_NUM_FORMS": "10",
        "directors-0-first_name": "Camille",
        "directors-0-last_name": "Martin",
        "directors-0-email": "camille@example.com",
        "directors-0-birth_date": "1981-05-06",
        "directors-0-nationality": "FR",
        "directors-0-country_of_residence": "FR",
        "iban": "FR76 3000 4008 1900 0123 4567 8",  # one digit short
    }
    refused = text_of(browser.post(url, form))
    assert "The IBAN ending in …5678 is not valid" in refused
    assert not borrower_for_seller(seller).is_enrolled

    answer = browser.post(url, {**form, "iban": "FR7630004008190001234567879"})

    assert answer.status_code == 302
    borrower = borrower_for_seller(seller)
    assert borrower.is_enrolled
    assert control.state()["counts"]["borrowers"] == 1
    assert "you are enrolled with Defacto" in text_of(browser.get(reverse("marketplace:financing")))

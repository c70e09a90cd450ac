"""Loans in the admin: what operations staff see on the list and the change page, and the
actions they take (validate, cancel, refresh, change the repayment date), each confirmed
on its own page and reported loan by loan."""

from __future__ import annotations

import itertools
from datetime import datetime, time, timedelta
from urllib.parse import urlencode

import pytest
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format

from django_defacto.admin.forms import check_repayment_day
from django_defacto.models import Borrower, Invoice, Loan, LoanEvent, LoanStatus, Payment
from django_defacto.services.loans import cash_in_now, validate_loan
from tests.integration.admin_steps import (
    action_names,
    change_url,
    changelist_url,
    choose_action,
    confirm_action,
    messages_of,
    run_action,
    staff_client,
)
from tests.integration.sellers import ready_seller
from tests.marketplace import just_after_midnight_in_paris, make_invoice

pytestmark = pytest.mark.django_db

S = LoanStatus
_numbers = itertools.count(1)


@pytest.fixture(autouse=True)
def fresh_cache():
    cache.clear()
    yield
    cache.clear()


def borrower_row(name: str = "") -> Borrower:
    number = next(_numbers)
    return Borrower.objects.create(
        seller_key=f"marketplace.seller:{900 + number}",
        identifier=f"{910000000 + number}",
        name=name or f"Borrower {number} SARL",
        defacto_id=f"borrower-{number}",
        status="READY",
    )


def loan_row(**fields) -> Loan:
    """A mirrored loan as a sync would have left it."""
    number = next(_numbers)
    fields.setdefault("borrower", borrower_row())
    fields.setdefault("defacto_id", f"loan-{number:04d}")
    fields.setdefault("amount", 150_000)
    fields.setdefault("status", S.TO_VALIDATE)
    return Loan.objects.create(**fields)


@pytest.fixture
def approved_loan(defacto_client, control) -> Loan:
    """A loan Defacto approved in the sandbox, awaiting the seller's consent."""
    seller, _borrower = ready_seller(control)
    loan = cash_in_now(make_invoice(seller))
    assert loan.status == S.TO_VALIDATE, loan.request_error
    return loan


# ---- the list ------------------------------------------------------------------------


def test_the_list_shows_status_amount_seller_invoice_and_dates(admin_client):
    borrower = borrower_row("Atelier Dupont SAS")
    invoice = Invoice.objects.create(invoice_number="INV-2041", borrower=borrower)
    requested = timezone.now() - timedelta(days=2)
    decided = requested + timedelta(minutes=5)
    loan_row(
        borrower=borrower,
        invoice=invoice,
        status=S.TO_REPAY,
        amount=1_234_567,
        requested_at=requested,
        decided_at=decided,
    )

    html = admin_client.get(changelist_url("loan")).content.decode()

    assert "€12,345.67" in html
    assert 'defacto-badge--paid" title="TO_REPAY">Paid, to repay<' in html
    assert "Atelier Dupont SAS" in html
    assert "INV-2041" in html
    assert date_format(timezone.localtime(requested), "DATETIME_FORMAT") in html
    assert date_format(timezone.localtime(decided), "DATETIME_FORMAT") in html


@pytest.mark.parametrize(
    ("status", "family"),
    [
        (S.PENDING_VALIDATION, "awaiting"),
        (S.REQUESTED, "awaiting"),
        (S.TO_VALIDATE, "approved"),
        (S.SCHEDULED, "approved"),
        (S.TO_REPAY, "paid"),
        (S.CLOSED, "closed"),
        (S.DECLINED, "declined"),
        (S.CANCELED, "declined"),
        ("ON_HOLD", "unknown"),
    ],
)
def test_a_status_badge_is_coloured_by_its_family(admin_client, status, family):
    loan_row(status=status)
    html = admin_client.get(changelist_url("loan")).content.decode()
    assert f'defacto-badge--{family}" title="{status}"' in html


def test_a_status_defacto_adds_later_is_shown_as_it_is(admin_client):
    loan_row(status="ON_HOLD")
    html = admin_client.get(changelist_url("loan")).content.decode()
    assert 'title="ON_HOLD">ON_HOLD</span>' in html


def test_a_declined_loan_shows_its_reason_in_words(admin_client, defacto_client):
    loan_row(status=S.DECLINED, denial_reason="CREDIT_RISK_NOT_ELIGIBLE")
    html = admin_client.get(changelist_url("loan")).content.decode()
    assert "The business does not meet our credit risk criteria." in html


def test_a_request_whose_answer_was_lost_is_marked(admin_client):
    loan_row(status=S.REQUESTED, defacto_id=None, request_outcome_unknown=True)
    loan_row(status=S.REQUESTED, defacto_id=None)
    html = admin_client.get(changelist_url("loan")).content.decode()
    assert html.count(">Outcome unknown</span>") == 1


def shown(client: Client, query: str) -> set[Loan]:
    response = client.get(f"{changelist_url('loan')}?{query}")
    assert response.status_code == 200
    return set(response.context["cl"].result_list)


def test_loans_filter_by_status_seller_and_requested_date(admin_client):
    dupont = borrower_row("Dupont")
    declined = loan_row(status=S.DECLINED, borrower=dupont)
    old = loan_row(status=S.CLOSED, requested_at=timezone.now() - timedelta(days=40))
    recent = loan_row(status=S.CLOSED)

    assert shown(admin_client, "status__exact=DECLINED") == {declined}
    assert shown(admin_client, f"borrower__id__exact={dupont.pk}") == {declined}
    midnight = timezone.make_aware(datetime.combine(timezone.localdate(), time()))
    query = urlencode(
        {"requested_at__gte": midnight, "requested_at__lt": midnight + timedelta(days=1)}
    )
    assert shown(admin_client, f"status__exact=CLOSED&{query}") == {recent}
    assert old not in shown(admin_client, query)


def test_loans_are_found_by_defacto_id_salt_id_invoice_number_and_seller(admin_client):
    borrower = borrower_row("Boulangerie Martin")
    invoice = Invoice.objects.create(invoice_number="INV-7731", borrower=borrower)
    loan = loan_row(defacto_id="lo_8f2a", borrower=borrower, invoice=invoice)
    request = loan_row(defacto_id=None, status=S.REQUESTED)
    loan_row()

    assert shown(admin_client, "q=lo_8f2a") == {loan}
    assert shown(admin_client, f"q={request.salt_id}") == {request}
    assert shown(admin_client, "q=INV-7731") == {loan}
    assert shown(admin_client, "q=martin") == {loan}
    assert shown(admin_client, f"q={borrower.identifier}") == {loan}


# ---- the change page ---------------------------------------------------------------------


def test_the_change_page_shows_everything_read_only_with_events_and_payments(admin_client):
    loan = loan_row(status=S.TO_REPAY, amount=150_000)
    LoanEvent.objects.create(
        loan=loan, status=S.TO_VALIDATE, transition_name="approve", timestamp=timezone.now()
    )
    Payment.objects.create(
        defacto_id="pay-1", loan=loan, payment_type="LOAN_PAYMENT", status="PAID", amount=150_000
    )

    response = admin_client.get(change_url(loan))

    html = response.content.decode()
    assert response.status_code == 200
    assert "approve" in html
    assert "LOAN_PAYMENT" in html
    assert "€1,500.00" in html
    assert 'name="amount"' not in html
    assert 'name="_save"' not in html
    assert "-DELETE" not in html
    assert "add-row" not in html


def test_staff_cannot_add_edit_or_delete_a_loan_by_hand(admin_client):
    loan = loan_row()
    assert admin_client.get(reverse("admin:django_defacto_loan_add")).status_code == 403
    assert admin_client.post(change_url(loan), {"amount": 1}).status_code == 403
    delete = reverse("admin:django_defacto_loan_delete", args=[loan.pk])
    assert admin_client.post(delete, {"post": "yes"}).status_code == 403
    assert "delete_selected" not in action_names(admin_client, "loan")
    loan.refresh_from_db()
    assert loan.amount == 150_000


# ---- actions -----------------------------------------------------------------------------


def test_validating_asks_for_confirmation_first(admin_client, approved_loan):
    page = choose_action(admin_client, "validate_selected", [approved_loan])

    assert page.status_code == 200
    html = page.content.decode()
    assert str(approved_loan) in html
    assert 'name="post" value="yes"' in html
    approved_loan.refresh_from_db()
    assert approved_loan.status == S.TO_VALIDATE


def test_validating_gives_the_sellers_consent_and_reports_the_new_status(
    admin_client, approved_loan
):
    response = run_action(admin_client, "validate_selected", [approved_loan])

    assert response.status_code == 302
    approved_loan.refresh_from_db()
    assert approved_loan.status in {S.VALIDATED, S.SCHEDULED}
    [message] = messages_of(response)
    assert str(approved_loan) in message
    assert approved_loan.get_status_display() in message


def test_each_loan_gets_its_own_report_and_a_refusal_is_not_an_error_page(
    admin_client, approved_loan
):
    declined = loan_row(status=S.DECLINED, denial_reason="CREDIT_RISK_NOT_ELIGIBLE")

    response = run_action(admin_client, "validate_selected", [approved_loan, declined])

    assert response.status_code == 302
    reports = messages_of(response)
    assert len(reports) == 2
    [refusal] = [text for text in reports if str(declined) in text]
    assert "Defacto declined this loan, so it cannot be validated." in refusal
    approved_loan.refresh_from_db()
    assert approved_loan.status in {S.VALIDATED, S.SCHEDULED}


def test_canceling_before_disbursement(admin_client, approved_loan):
    response = run_action(admin_client, "cancel_selected", [approved_loan])

    approved_loan.refresh_from_db()
    assert approved_loan.status == S.CANCELED
    assert "Canceled" in messages_of(response)[0]


def test_refreshing_reads_the_loan_its_events_and_payments_again(
    admin_client, approved_loan, control
):
    validate_loan(approved_loan)
    control.advance_clock(130)

    response = run_action(admin_client, "refresh_selected", [approved_loan])

    approved_loan.refresh_from_db()
    assert approved_loan.status == S.TO_REPAY
    assert "Paid, to repay" in messages_of(response)[0]
    assert approved_loan.events.exists()
    assert approved_loan.payments.exists()


def test_changing_the_repayment_date_asks_for_a_date_of_1_to_120_days(admin_client, approved_loan):
    page = choose_action(admin_client, "change_repayment_date_selected", [approved_loan])
    assert 'name="to_repay_on"' in page.content.decode()
    before = approved_loan.to_repay_at

    too_far = timezone.localdate() + timedelta(days=200)
    refused = confirm_action(
        admin_client, "change_repayment_date_selected", [approved_loan], to_repay_on=too_far
    )

    assert refused.status_code == 200
    assert "Choose a day between 1 and 120 days from today" in refused.content.decode()
    approved_loan.refresh_from_db()
    assert approved_loan.to_repay_at == before

    new_day = timezone.localdate() + timedelta(days=45)
    response = confirm_action(
        admin_client, "change_repayment_date_selected", [approved_loan], to_repay_on=new_day
    )

    assert response.status_code == 302
    approved_loan.refresh_from_db()
    assert timezone.localtime(approved_loan.to_repay_at).date() == new_day
    assert date_format(new_day, "DATE_FORMAT") in messages_of(response)[0]


def test_staff_repayment_day_counts_from_utcs_today_as_defacto_does(monkeypatch):
    moment = just_after_midnight_in_paris()
    monkeypatch.setattr(timezone, "now", lambda: moment)
    last_day = moment.date() + timedelta(days=120)  # 119 days from the date in Paris

    assert check_repayment_day(last_day) == last_day
    with pytest.raises(ValidationError, match="this one is 121"):
        check_repayment_day(last_day + timedelta(days=1))


def test_each_action_needs_its_own_permission():
    viewer = staff_client("view_loan")
    assert action_names(viewer, "loan") == []

    validator = staff_client("view_loan", "validate_loan")
    assert action_names(validator, "loan") == ["validate_selected"]

    everything = staff_client(
        "view_loan",
        "validate_loan",
        "cancel_loan",
        "refresh_loan",
        "change_repayment_date",
        "settle_loan_request",
    )
    assert set(action_names(everything, "loan")) == {
        "validate_selected",
        "cancel_selected",
        "refresh_selected",
        "settle_selected",
        "change_repayment_date_selected",
    }


def test_staff_settle_requests_without_an_answer_from_the_admin(defacto_client, control):
    """One request Defacto made (its answer lost), one it never received (the web process
    died before sending it); both resends refused by a rotated key."""
    seller, _ = ready_seller(control)
    control.add_fault("timeout_504_after", next=1, path="/loans", method="POST")
    control.add_fault("timeout_504_before", next=3, path="/loans", method="POST")
    made = cash_in_now(make_invoice(seller))
    control.add_fault("connection_reset", next=4, path="/loans", method="POST")
    never_sent = cash_in_now(make_invoice(seller))
    Loan.objects.update(answer_due_by=timezone.now() - timedelta(minutes=1))
    control.add_fault("http_401", next=2, path="/loans", method="POST")
    staff = staff_client("view_loan", "settle_loan_request")
    listed = staff.get(changelist_url("loan") + "?status__exact=REQUESTED").content.decode()
    assert str(made.pk) in listed and str(never_sent.pk) in listed

    response = run_action(staff, "settle_selected", [made, never_sent])

    made.refresh_from_db()
    never_sent.refresh_from_db()
    assert made.status == S.TO_VALIDATE and made.defacto_id
    assert never_sent.status == S.REQUEST_FAILED
    assert "lists no loan" in never_sent.request_error
    report = " ".join(messages_of(response))
    assert "now Request failed" in report and "now Approved, awaiting consent" in report
    assert len(defacto_client.loans.list().to_list()) == 1


def test_an_action_posted_without_its_permission_does_nothing(approved_loan):
    validator = staff_client("view_loan", "validate_loan")

    response = confirm_action(validator, "cancel_selected", [approved_loan])

    approved_loan.refresh_from_db()
    assert approved_loan.status == S.TO_VALIDATE
    assert messages_of(response) == ["No action selected."]


def test_many_loans_are_refreshed_in_the_background_once_the_request_commits(
    admin_client, defacto_client, control, settings, django_capture_on_commit_callbacks
):
    settings.DEFACTO = {**settings.DEFACTO, "ADMIN_BACKGROUND_THRESHOLD": 2}
    seller, _borrower = ready_seller(control)
    loans = [cash_in_now(make_invoice(seller, total=50_000)) for _ in range(3)]
    for loan in loans:
        validate_loan(loan)
    control.advance_clock(130)

    page = choose_action(admin_client, "refresh_selected", loans)
    assert "handled in the background" in page.content.decode()
    with django_capture_on_commit_callbacks() as queued:
        response = confirm_action(admin_client, "refresh_selected", loans)

    assert response.status_code == 302
    [message] = messages_of(response)
    assert "3 loans will be handled in the background" in message
    assert len(queued) == 1
    assert {loan.status for loan in Loan.objects.filter(pk__in=[x.pk for x in loans])} == {
        S.SCHEDULED
    }

    queued[0]()  # the example project runs Celery tasks eagerly

    assert {loan.status for loan in Loan.objects.filter(pk__in=[x.pk for x in loans])} == {
        S.TO_REPAY
    }


def test_up_to_the_threshold_loans_are_handled_while_staff_wait(
    admin_client, approved_loan, settings, django_capture_on_commit_callbacks
):
    settings.DEFACTO = {**settings.DEFACTO, "ADMIN_BACKGROUND_THRESHOLD": 1}

    with django_capture_on_commit_callbacks():
        response = run_action(admin_client, "validate_selected", [approved_loan])
        # Done within the request, before anything queued on commit could run.
        approved_loan.refresh_from_db()
        assert approved_loan.status in {S.VALIDATED, S.SCHEDULED}

    assert "background" not in messages_of(response)[0]


def test_a_new_repayment_date_for_many_loans_reaches_the_background_task(
    admin_client, defacto_client, control, settings, django_capture_on_commit_callbacks
):
    settings.DEFACTO = {**settings.DEFACTO, "ADMIN_BACKGROUND_THRESHOLD": 1}
    seller, _borrower = ready_seller(control)
    loans = [cash_in_now(make_invoice(seller, total=40_000)) for _ in range(2)]
    new_day = timezone.localdate() + timedelta(days=60)

    with django_capture_on_commit_callbacks(execute=True):
        response = run_action(
            admin_client, "change_repayment_date_selected", loans, to_repay_on=new_day
        )

    assert "2 loans will be handled in the background" in messages_of(response)[0]
    for loan in loans:
        loan.refresh_from_db()
        assert timezone.localtime(loan.to_repay_at).date() == new_day

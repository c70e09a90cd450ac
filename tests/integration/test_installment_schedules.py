"""Installment schedules: the one the package proposes from a count always follows the
rules a schedule is checked against, a wrong one is named field by field before any call,
and a loan asked for in installments sends Defacto the schedule."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from hypothesis import given
from hypothesis import strategies as st

from django_defacto.exceptions import InvalidInstallments, NotEligible
from django_defacto.models import Borrower, Loan
from django_defacto.services.borrowers import refresh_borrower_and_credit_lines
from django_defacto.services.loans import cash_in_now, check_eligibility, financing_cost
from django_defacto.services.loans.installments import (
    Installment,
    installment_problems,
    propose_installments,
)
from django_defacto.support.formatting import day_of
from tests.integration.api_steps import api, ask_for_loan, ref, signed_in
from tests.integration.sellers import ready_seller
from tests.integration.test_cash_in_now import loan_posts
from tests.marketplace import just_after_midnight_in_paris, make_invoice

TODAY = date(2026, 12, 7)


def problems_of(amount: int, schedule: list[Installment], to_repay_on: date) -> list[tuple]:
    return [
        (problem.field, str(problem.message))
        for problem in installment_problems(amount, schedule, TODAY, to_repay_on)
    ]


def test_three_installments_share_the_amount_and_end_on_the_repayment_day():
    schedule = propose_installments(100_000, 3, TODAY, TODAY + timedelta(days=90))

    assert schedule == [
        Installment(33_333, date(2027, 1, 6)),
        Installment(33_333, date(2027, 2, 5)),
        Installment(33_334, date(2027, 3, 7)),  # the rounding cent on the last
    ]


@given(
    amount=st.integers(min_value=2, max_value=20_000_000),
    count=st.integers(min_value=2, max_value=12),
    days=st.integers(min_value=1, max_value=120),
)
def test_every_proposed_schedule_passes_the_checks(amount, count, days):
    last_on = TODAY + timedelta(days=days)
    if days < count or amount < count:
        with pytest.raises(ValueError):
            propose_installments(amount, count, TODAY, last_on)
        return

    schedule = propose_installments(amount, count, TODAY, last_on)

    assert len(schedule) == count
    assert sum(item.amount for item in schedule) == amount
    assert schedule[-1].due_on == last_on
    assert installment_problems(amount, schedule, TODAY, last_on) == []


def test_a_wrong_schedule_is_named_field_by_field():
    due = TODAY + timedelta(days=60)
    schedule = [
        Installment(50_000, TODAY),  # today is too soon
        Installment(0, TODAY + timedelta(days=30)),
        Installment(40_000, TODAY + timedelta(days=20)),  # before the one before
    ]

    assert problems_of(100_000, schedule, due) == [
        ("installments[0].due_on", "Each installment must fall 1 to 120 days from today."),
        ("installments[1].amount", "Each installment must be a positive amount."),
        ("installments[2].due_on", "Each installment must fall after the one before."),
        ("installments", "The installments must add up to the loan's amount."),
        ("installments[2].due_on", "The last installment must fall on the repayment date."),
    ]


def test_one_installment_is_not_a_schedule():
    due = TODAY + timedelta(days=30)

    assert problems_of(1_000, [Installment(1_000, due)], due) == [
        ("installments", "Give at least 2 installments.")
    ]


# ---- asked for with a loan --------------------------------------------------------------


@pytest.mark.django_db
def test_a_seller_cashes_in_with_three_installments(defacto_client, control, contract_adapter):
    seller, _ = ready_seller(control)
    invoice = make_invoice(seller, total=300_000, due_in_days=60)

    loan = cash_in_now(invoice, installments=3)

    [post] = loan_posts(contract_adapter)
    sent = post.request_body
    assert sent["installment_plan_type"] == "INSTALLMENTS"
    assert [item["amount"] for item in sent["installments"]] == [100_000, 100_000, 100_000]
    assert sent["installments"][-1]["date"] == sent["to_repay_at"]
    assert post.status == 201
    assert [item["amount"] for item in loan.installment_plan_items] == [100_000] * 3
    assert loan.installment_plan_items[-1]["due_on"] == day_of(loan.to_repay_at)


@pytest.mark.django_db
def test_a_schedule_that_cannot_fit_is_refused_before_any_call(
    defacto_client, control, contract_adapter
):
    seller, _ = ready_seller(control)
    invoice = make_invoice(seller, total=300_000)
    today = timezone.localdate()
    wrong = [Installment(100_000, today + timedelta(days=5)), Installment(100_000, today)]

    with pytest.raises(InvalidInstallments) as refused:
        cash_in_now(invoice, installments=wrong)

    fields = [field for field, _ in refused.value.problems]
    assert "installments" in fields and "installments[1].due_on" in fields
    assert loan_posts(contract_adapter) == []


@pytest.mark.django_db
def test_a_product_without_installments_refuses_them(defacto_client, control, settings):
    seller, borrower = ready_seller(control)
    control.add_financial_product(str(borrower.defacto_id), "One go only")
    refresh_borrower_and_credit_lines(borrower)
    settings.DEFACTO = {**settings.DEFACTO, "FINANCIAL_PRODUCT": "One go only"}

    with pytest.raises(NotEligible) as refused:
        cash_in_now(make_invoice(seller), installments=2)

    assert [code for code, _ in refused.value.reasons] == ["installments_not_offered"]


@pytest.mark.django_db
def test_the_seller_api_takes_a_count_and_shows_the_schedule(defacto_client, control):
    seller, _ = ready_seller(control)
    invoice = make_invoice(seller, total=100_001, due_in_days=45)
    browser = signed_in(seller.user)

    made = ask_for_loan(browser, invoice, installments=2)
    refused = ask_for_loan(browser, make_invoice(seller), installments=1)

    assert made.status_code == 201, made.content
    amounts = [item["amount"] for item in made.json()["installments"]]
    assert amounts == [50_000, 50_001]
    assert refused.status_code == 400
    too_many = ask_for_loan(browser, make_invoice(seller, due_in_days=5), installments=12)
    assert too_many.status_code == 422
    assert too_many.json()["code"] == "invalid_installments"
    assert too_many.json()["fields"] == {
        "installments": ["12 installments do not fit before the repayment date."]
    }


# ---- offered before the seller asks -----------------------------------------------------


def offer_of(seller, invoice, query: str = "") -> dict:
    answer = signed_in(seller.user).get(api(f"invoices/{ref(invoice)}/offer/{query}"))
    assert answer.status_code == 200, answer.content
    return answer.json()


@pytest.mark.django_db
def test_the_offer_shows_the_schedule_and_its_lower_cost(defacto_client, control):
    seller, borrower = ready_seller(control)
    refresh_borrower_and_credit_lines(borrower)  # its product, which offers installments
    invoice = make_invoice(seller, total=300_000, due_in_days=60)

    in_one_go = offer_of(seller, invoice)
    in_three = offer_of(seller, invoice, "?installments=3")

    assert in_one_go["max_installments"] == 12 and in_one_go["quote"]["installments"] == []
    schedule = in_three["quote"]["installments"]
    assert [step["amount"] for step in schedule] == [100_000, 100_000, 100_000]
    assert schedule[-1]["due_on"] == in_three["quote"]["to_repay_at"]
    # Each third is borrowed for 20, 40 and 60 days: two thirds of the one-go interest.
    assert in_three["quote"]["cost"] == pytest.approx(in_one_go["quote"]["cost"] * 2 / 3, abs=1)
    assert "in 3 installments" in in_three["consent_text"]


@pytest.mark.django_db
def test_the_offer_says_when_installments_do_not_fit_or_are_not_offered(defacto_client, control):
    seller, borrower = ready_seller(control)
    refresh_borrower_and_credit_lines(borrower)
    soon = make_invoice(seller, total=300_000, due_in_days=5)

    crowded = offer_of(seller, soon, "?installments=12")

    assert crowded["max_installments"] == 5
    assert crowded["eligible"] is False
    assert [reason["code"] for reason in crowded["reasons"]] == ["invalid_installments"]

    # As Defacto would list a product repaid in one go only.
    kept = Borrower.objects.get(pk=borrower.pk).financial_products
    assert kept
    only_in_fine = [{**item, "installment_types": ["IN_FINE"]} for item in kept]
    Borrower.objects.filter(pk=borrower.pk).update(financial_products=only_in_fine)
    not_offered = offer_of(seller, make_invoice(seller), "?installments=2")
    assert not_offered["max_installments"] == 0
    assert [reason["code"] for reason in not_offered["reasons"]] == ["installments_not_offered"]


@pytest.mark.django_db
def test_staff_cash_in_with_installments_from_the_admin(defacto_client, control, admin_client):
    seller, borrower = ready_seller(control)
    refresh_borrower_and_credit_lines(borrower)
    invoice = make_invoice(seller, total=300_000, due_in_days=60)
    key = f"marketplace.invoice:{invoice.pk}"
    page = reverse("admin:django_defacto_invoice_cash_in")

    offered = admin_client.post(page, {"invoice": key, "installments": "3"}).content.decode()
    admin_client.post(page, {"invoice": key, "installments": "3", "confirm": "yes"})

    assert 'class="defacto-installments"' in offered and offered.count("€1,000.00") == 3
    loan = Loan.objects.get()
    assert [step["amount"] for step in loan.installment_plan_items] == [100_000] * 3


@pytest.mark.django_db
def test_in_the_hour_after_midnight_in_paris_days_and_bounds_count_from_utcs_today(
    defacto_client, control, monkeypatch
):
    seller, borrower = ready_seller(control)
    refresh_borrower_and_credit_lines(borrower)
    rate = borrower.credit_lines.get().fees_daily_rate
    moment = just_after_midnight_in_paris()
    monkeypatch.setattr(timezone, "now", lambda: moment)
    utc_today = moment.date()
    assert timezone.localdate() == utc_today + timedelta(days=1)  # already tomorrow in Paris
    invoice = make_invoice(seller, total=300_000, due_in_days=60)

    in_one_go = check_eligibility(invoice)
    in_three = check_eligibility(invoice, installments=3)

    assert in_one_go.quote.days == 60
    # The days the seller may choose, counted as Defacto counts them.
    assert day_of(in_one_go.quote.earliest_repay_at) == utc_today + timedelta(days=1)
    assert day_of(in_one_go.quote.latest_repay_at) == utc_today + timedelta(days=120)
    assert in_one_go.quote.cost == financing_cost(300_000, 60, rate)
    assert [item.due_on - utc_today for item in in_three.quote.installments] == [
        timedelta(days=20),
        timedelta(days=40),
        timedelta(days=60),
    ]
    assert in_three.quote.cost == sum(financing_cost(100_000, days, rate) for days in (20, 40, 60))

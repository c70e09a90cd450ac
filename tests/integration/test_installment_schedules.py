"""Installment schedules: the one the package proposes from a count always follows the
rules a schedule is checked against, and a wrong one is named field by field."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from django_defacto.services.loans.installments import (
    Installment,
    installment_problems,
    propose_installments,
)

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

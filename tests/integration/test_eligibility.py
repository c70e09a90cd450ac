"""Whether an invoice can be financed, every reason it cannot, and what it would cost."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.conf import settings
from django.test import override_settings
from django.utils import timezone
from django.utils.functional import Promise

from django_defacto.models import CreditLine
from django_defacto.services.borrowers import enroll_seller
from django_defacto.services.loans.eligibility import (
    MAX_LOAN_AMOUNT,
    check_eligibility,
    financing_cost,
)
from tests.integration.sellers import ready_seller
from tests.marketplace import make_invoice, make_seller

# ---- the cost of financing: pure computation, exact cents ------------------------------


@pytest.mark.parametrize(
    ("amount", "days", "rate", "cost"),
    [
        (150_000, 30, "0.07", 3_150),  # 1,500.00 EUR for 30 days at 0.07 %/day: 31.50 EUR
        (MAX_LOAN_AMOUNT, 120, "0.1", 2_400_000),  # the largest loan, the longest term
        (123_456, 45, "0.05", 2_778),  # 2,777.76 cents, rounded up
        (123_456, 44, "0.05", 2_716),  # 2,716.032 cents, rounded down
        (1_000, 1, "0.05", 1),  # exactly half a cent rounds up
        (5_000, 1, "0.05", 3),  # 2.5 cents: half-up, not to even
        (999, 1, "0.05", 0),  # 0.4995 cents rounds down
        (10_001, 1, "0.05", 5),  # 5.0005 cents rounds down to 5
        (100_000, 0, "0.07", 70),  # a loan repaid the same day costs one day
        (100_000, -3, "0.07", 70),
        (0, 30, "0.07", 0),
    ],
)
def test_financing_cost_is_exact_in_cents(amount, days, rate, cost):
    assert financing_cost(amount, days, Decimal(rate)) == cost


def test_financing_cost_is_an_integer_of_cents():
    assert type(financing_cost(150_000, 30, Decimal("0.07"))) is int


# ---- eligibility against the local mirror -----------------------------------------------


@pytest.mark.django_db
def test_a_ready_seller_can_finance_an_invoice_due_in_30_days(defacto_client, control):
    seller, borrower = ready_seller(control)
    invoice = make_invoice(seller, total=150_000, due_in_days=30)

    result = check_eligibility(invoice)

    assert result.eligible, result.reasons
    assert result.reasons == []
    assert result.borrower == borrower
    assert result.credit_line is not None
    quote = result.quote
    assert quote.amount == 150_000
    assert quote.currency == "EUR"
    assert quote.to_repay_at.date() == invoice.due_on  # the invoice's due date
    assert quote.days == 30
    assert quote.daily_rate == result.credit_line.fees_daily_rate
    assert quote.cost == financing_cost(150_000, 30, quote.daily_rate)
    assert quote.cost_is_estimate is True
    assert (quote.latest_repay_at - quote.earliest_repay_at).days == 119


@pytest.mark.django_db
def test_a_seller_not_enrolled_hears_it_together_with_every_invoice_problem(defacto_client):
    seller = make_seller()
    invoice = make_invoice(seller, currency="USD")

    result = check_eligibility(invoice, amount=0, to_repay_at=timezone.now())

    assert not result.eligible
    assert result.codes == [
        "not_enrolled",
        "amount_too_low",
        "currency_not_supported",
        "repayment_date_out_of_bounds",
    ]
    assert result.quote is None
    assert result.borrower is None


@pytest.mark.django_db
def test_terms_not_accepted_and_no_credit_line_yet(defacto_client):
    seller = make_seller()
    enroll_seller(seller)

    result = check_eligibility(make_invoice(seller))

    assert result.codes == ["terms_not_accepted", "no_credit_line"]


@pytest.mark.django_db
def test_a_signed_seller_waits_for_defacto_to_open_the_credit_line(defacto_client):
    seller = make_seller()
    enroll_seller(seller, terms_accepted_at=timezone.now())

    result = check_eligibility(make_invoice(seller))

    assert result.codes == ["borrower_not_ready", "no_credit_line"]
    assert "Signed" in str(result.reasons[0].message)


@pytest.mark.django_db
def test_an_expired_credit_line_is_named_as_such(defacto_client, control):
    seller, borrower = ready_seller(control)
    CreditLine.objects.filter(borrower=borrower).update(end_date=timezone.now() - timedelta(1))

    result = check_eligibility(make_invoice(seller))

    assert result.codes == ["credit_line_expired"]


@pytest.mark.django_db
def test_amounts_beyond_the_invoice_the_balance_or_the_loan_limit(defacto_client, control):
    seller, borrower = ready_seller(control)
    available = borrower.credit_lines.get().balance_available
    small = make_invoice(seller, total=100_000)
    huge = make_invoice(seller, total=MAX_LOAN_AMOUNT + 100)

    assert check_eligibility(small, amount=100_001).codes == ["amount_too_high"]
    assert check_eligibility(huge, amount=available + 1).codes == ["balance_too_low"]
    assert check_eligibility(huge).codes == ["amount_too_high", "balance_too_low"]
    assert check_eligibility(small, amount=-5).codes == ["amount_too_low"]
    assert check_eligibility(small, amount=100_000).eligible


@pytest.mark.django_db
def test_the_invoice_currency_must_be_supported_and_match_the_credit_line(defacto_client, control):
    seller, _ = ready_seller(control)

    in_pounds = check_eligibility(make_invoice(seller, currency="GBP"))
    in_francs = check_eligibility(make_invoice(seller, currency="CHF"))

    assert in_pounds.codes == ["currency_not_supported"]
    assert "EUR" in str(in_pounds.reasons[0].message)
    assert in_francs.codes == ["currency_not_supported"]


@pytest.mark.django_db
def test_the_repayment_date_must_be_1_to_120_days_away(defacto_client, control):
    seller, _ = ready_seller(control)
    invoice = make_invoice(seller)
    now = timezone.now()

    for days, eligible in [(0, False), (1, True), (120, True), (121, False)]:
        result = check_eligibility(invoice, to_repay_at=now + timedelta(days=days))
        assert result.eligible is eligible, days
        assert result.quote.days == days
        if not eligible:
            assert result.codes == ["repayment_date_out_of_bounds"]


@pytest.mark.django_db
def test_an_invoice_due_too_far_away_is_repaid_after_the_default_days(defacto_client, control):
    seller, _ = ready_seller(control)
    far = make_invoice(seller, due_in_days=200)
    overdue = make_invoice(seller, due_in_days=-3)

    assert check_eligibility(far).quote.days == 30
    assert check_eligibility(overdue).quote.days == 30
    with override_settings(DEFACTO={**settings.DEFACTO, "DEFAULT_REPAYMENT_DAYS": 45}):
        result = check_eligibility(far)
    assert result.eligible
    assert result.quote.days == 45
    assert result.quote.cost == financing_cost(far.total_amount, 45, result.quote.daily_rate)


@pytest.mark.django_db
def test_reasons_are_translatable_sentences(defacto_client):
    seller = make_seller()

    result = check_eligibility(make_invoice(seller, currency="USD"), amount=0)

    for reason in result.reasons:
        assert isinstance(reason.message, Promise)
        assert str(reason.message).endswith(".")
        code, message = reason
        assert (code, message) == (reason.code, reason.message)

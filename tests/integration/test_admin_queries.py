"""The admin's change lists cost the same number of queries however many rows they show,
and a declined loan's reason comes from the cache, not from Defacto on every row."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from django_defacto.models import (
    Bill,
    Borrower,
    CreditLine,
    Invoice,
    Loan,
    LoanEvent,
    LoanStatus,
    Payment,
)
from tests.integration.admin_steps import changelist_url

pytestmark = pytest.mark.django_db

_numbers = itertools.count(1)
DENIAL_CODES = ("CREDIT_RISK_NOT_ELIGIBLE", "BORROWER_STATUS")


@pytest.fixture(autouse=True)
def fresh_cache():
    cache.clear()
    yield
    cache.clear()


def add_borrower(
    limit: int = 1_000_000, available: int = 400_000, key_prefix: str = "marketplace.seller"
) -> Borrower:
    """A READY borrower with an open credit line of `limit` cents, `available` unused."""
    number = next(_numbers)
    borrower = Borrower.objects.create(
        seller_key=f"{key_prefix}:{number}",
        identifier=f"{600000000 + number}",
        name=f"Seller {number}",
        defacto_id=f"b-{number}",
        status="READY",
    )
    now = timezone.now()
    CreditLine.objects.create(
        borrower=borrower,
        defacto_id=f"cl-{number}",
        pool_amount=limit,
        balance_available=available,
        start_date=now - timedelta(days=30),
        end_date=now + timedelta(days=300),
    )
    return borrower


def add_invoice() -> Invoice:
    number = next(_numbers)
    return Invoice.objects.create(
        defacto_id=f"inv-{number}",
        invoice_key=f"marketplace.invoice:{number}",
        invoice_number=f"INV-{number}",
        borrower=add_borrower(),
        total_amount=150_000,
    )


def add_loan() -> Loan:
    """A declined loan, with its events and payments (not shown on the list)."""
    number = next(_numbers)
    invoice = add_invoice()
    loan = Loan.objects.create(
        defacto_id=f"loan-{number}",
        borrower=invoice.borrower,
        invoice=invoice,
        amount=150_000,
        status=LoanStatus.DECLINED,
        denial_reason=DENIAL_CODES[number % 2],
        decided_at=timezone.now(),
    )
    LoanEvent.objects.create(loan=loan, status=LoanStatus.DECLINED, timestamp=timezone.now())
    return loan


def add_payment() -> Payment:
    number = next(_numbers)
    loan = Loan.objects.create(defacto_id=f"loan-{number}", amount=1, status=LoanStatus.TO_REPAY)
    return Payment.objects.create(defacto_id=f"pay-{number}", loan=loan, amount=150_000)


def add_bill() -> Bill:
    number = next(_numbers)
    return Bill.objects.create(
        defacto_id=f"bill-{number}", borrower=add_borrower(), status="TO_PAY", to_pay_amount=99
    )


def add_credit_line() -> CreditLine:
    return add_borrower().credit_lines.get()


def queries_of_changelist(client, model_name: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(changelist_url(model_name))
    assert response.status_code == 200
    return len(queries)


@pytest.mark.parametrize(
    ("model_name", "add"),
    [
        ("loan", add_loan),
        ("borrower", add_borrower),
        ("invoice", add_invoice),
        ("payment", add_payment),
        ("bill", add_bill),
        ("creditline", add_credit_line),
    ],
)
def test_a_change_list_makes_as_many_queries_for_30_rows_as_for_3(
    admin_client, defacto_client, model_name: str, add: Callable[[], object]
):
    for _ in range(3):
        add()
    queries_of_changelist(admin_client, model_name)  # warms the session and caches
    with_3 = queries_of_changelist(admin_client, model_name)

    for _ in range(27):
        add()
    with_30 = queries_of_changelist(admin_client, model_name)

    assert with_30 == with_3


def test_denial_reasons_are_asked_once_per_code_then_come_from_the_cache(
    admin_client, defacto_client, contract_adapter
):
    for _ in range(30):
        add_loan()

    def translations_asked() -> int:
        return sum(
            1
            for exchange in contract_adapter.exchanges
            if exchange.path.startswith("/translation/denial-code/")
        )

    html = admin_client.get(changelist_url("loan")).content.decode()
    assert "The business does not meet our credit risk criteria." in html
    assert "The borrower&#x27;s account does not allow new loans." in html
    assert translations_asked() == len(DENIAL_CODES)

    admin_client.get(changelist_url("loan"))
    assert translations_asked() == len(DENIAL_CODES)

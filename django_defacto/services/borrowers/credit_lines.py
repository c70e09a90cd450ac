"""A borrower's credit lines: the local mirror's view, and a refresh from Defacto."""

from __future__ import annotations

from django.db.models import F, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext

from ...conf import get_client
from ...models import Borrower, CreditLine
from ...support.paging import DEFACTO_PAGE_SIZE
from ..client_errors import defacto_call
from ..mirror.apply import apply_credit_line_page
from .enrolment import refresh_borrower
from .financial_products import refresh_financial_products


def credit_lines_of(borrower: Borrower) -> QuerySet[CreditLine]:
    """The borrower's local credit lines, linked or only named by its identifier."""
    return CreditLine.objects.filter(
        Q(borrower=borrower) | Q(borrower__isnull=True, borrower_identifier=borrower.identifier)
    )


def refresh_credit_lines(borrower: Borrower) -> list[CreditLine]:
    """Fetch the borrower's credit lines (GET /credit_lines?borrower=<identifier>, one
    request per page) and return all of them, newest first."""
    if borrower.identifier:
        with defacto_call(gettext("refresh the seller's credit lines")):
            pages = get_client().credit_lines.list(
                borrower=borrower.identifier, page_size=DEFACTO_PAGE_SIZE
            )
            for page in pages.pages():
                apply_credit_line_page(page)
    return list(credit_lines_of(borrower).order_by(F("start_date").desc(nulls_last=True), "-pk"))


def current_credit_line(borrower: Borrower) -> CreditLine | None:
    """The latest credit line that has not expired (from the local mirror)."""
    now = timezone.now()
    return (
        credit_lines_of(borrower)
        .filter(Q(end_date__isnull=True) | Q(end_date__gt=now))
        .order_by(F("start_date").desc(nulls_last=True), "-pk")
        .first()
    )


def refresh_borrower_and_credit_lines(borrower: Borrower) -> Borrower:
    """The borrower's status, its credit lines and financial products, as Defacto has
    them now."""
    borrower = refresh_borrower(borrower)
    refresh_credit_lines(borrower)
    refresh_financial_products(borrower)
    return borrower

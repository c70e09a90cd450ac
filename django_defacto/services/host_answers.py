"""What the host's adapter says of an invoice or a seller, and the seller's borrower row,
asked once per service call.

A "Cash in now" goes through several rules (the seller's scope, eligibility, the invoice's
mirror row, Defacto's format) that each need the invoice's details and the seller's
borrower. Inside `asked_once()` the first answer is kept for the rest of the call, so the
adapter (often a database read of the host's own) and the borrower table are read once;
outside it every call asks again.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import wraps
from typing import Any, TypeVar, cast

from ..adapter import InvoiceDetails
from ..conf import get_adapter
from ..models import Borrower
from ..models.loan import overdue_loan_exists

T = TypeVar("T")
F = TypeVar("F", bound=Callable[..., Any])

# Each answer is kept with its subject, so the subject outlives the call and its id()
# cannot name another object meanwhile.
_answers: ContextVar[dict[Hashable, tuple[Any, Any]] | None] = ContextVar(
    "django_defacto_host_answers", default=None
)


@contextmanager
def asked_once() -> Iterator[None]:
    """Keep the answers below for the duration of the block (nested blocks share the
    outermost one's)."""
    if _answers.get() is not None:
        yield
        return
    token = _answers.set({})
    try:
        yield
    finally:
        _answers.reset(token)


def asking_once(function: F) -> F:
    """Run `function` inside `asked_once()`."""

    @wraps(function)
    def asking(*args: Any, **kwargs: Any) -> Any:
        with asked_once():
            return function(*args, **kwargs)

    return cast(F, asking)


def _answer(key: Hashable, subject: Any, ask: Callable[[], T]) -> T:
    answers = _answers.get()
    if answers is None:
        return ask()
    if key not in answers:
        answers[key] = (subject, ask())
    return answers[key][1]


def invoice_details(invoice: Any) -> InvoiceDetails:
    return _answer(
        ("details", id(invoice)), invoice, lambda: get_adapter().invoice_details(invoice)
    )


def invoice_seller(invoice: Any) -> Any:
    return _answer(("seller", id(invoice)), invoice, lambda: get_adapter().invoice_seller(invoice))


def invoice_key(invoice: Any) -> str:
    return _answer(("key", id(invoice)), invoice, lambda: get_adapter().invoice_key(invoice))


def borrower_for_seller(seller: Any) -> Borrower | None:
    """The seller's local borrower row (enrolled or not), or None."""
    key = get_adapter().seller_key(seller)
    return _answer(
        ("borrower", key),
        seller,
        lambda: (
            Borrower.objects.filter(seller_key=key)
            .annotate(has_overdue_loan=overdue_loan_exists())
            .first()
        ),
    )

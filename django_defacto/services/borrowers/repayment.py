"""How a seller repays Defacto: SEPA Direct Debit from its own account, or SEPA Credit
Transfer to Defacto's, changeable at any time (`/borrower/{id}/repayment-methods`). The
list is asked of Defacto; the borrower keeps only the method in use and its account's
last four characters (the accounts are personal data)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext

from ...conf import get_client
from ...exceptions import EnrollmentIncomplete, InvalidSellerDetails
from ...models import Borrower, RepaymentKind
from ...support.identifiers import Problem, bic_problem, iban_problem, masked_iban
from ..client_errors import defacto_call
from ..mirror.upserts import update_fields

DIRECT_DEBIT = RepaymentKind.DIRECT_DEBIT


@dataclass(frozen=True)
class RepaymentMethod:
    """One way the seller can repay: `kind` DIRECT_DEBIT or SCT, whether it is the one
    used for new loans (`is_default`), Defacto's `status`, and the account's last four
    characters (the seller's, debited; or Defacto's, credited)."""

    kind: str
    is_default: bool
    status: str
    account_end: str


def _method(payload: dict[str, Any]) -> RepaymentMethod:
    account = payload.get("account_to_debit") or payload.get("account_to_credit") or {}
    return RepaymentMethod(
        kind=str(payload.get("payment_method") or ""),
        is_default=bool(payload.get("is_main")),
        status=str(payload.get("status") or ""),
        account_end=masked_iban(str(account.get("account_number") or "")),
    )


def _enrolled(borrower: Borrower | None) -> Borrower:
    if borrower is None or not borrower.is_enrolled:
        raise EnrollmentIncomplete(
            gettext("The seller is not enrolled with Defacto yet: enrol first.")
        )
    return borrower


def repayment_methods(borrower: Borrower | None) -> list[RepaymentMethod]:
    """The seller's repayment methods at Defacto, the default first (none before it is
    enrolled)."""
    if borrower is None or not borrower.is_enrolled:
        return []
    with defacto_call(gettext("read the seller's repayment methods")):
        pages = get_client().borrowers.repayment_methods(str(borrower.defacto_id))
        methods = [_method(item) for page in pages.pages() for item in page]
    methods.sort(key=lambda method: not method.is_default)
    if methods and methods[0].is_default:
        _remember(borrower, methods[0])
    return methods


def _remember(borrower: Borrower, method: RepaymentMethod) -> None:
    """Keep the default method on the borrower, so pages show it without asking Defacto
    (the account by its last four characters only)."""
    if (borrower.repayment_method, borrower.repayment_account_end) != (
        method.kind,
        method.account_end,
    ):
        update_fields(
            borrower, repayment_method=method.kind, repayment_account_end=method.account_end
        )


def choose_repayment_method(
    borrower: Borrower | None,
    kind: str,
    *,
    iban: str = "",
    bic: str = "",
    apply_to_active_loans: bool = True,
) -> RepaymentMethod:
    """Make `kind` (DIRECT_DEBIT from `iban`/`bic`, or SCT) the seller's repayment method
    for new loans, and for those to repay now unless `apply_to_active_loans` is False.
    Raises `InvalidSellerDetails` naming the field before any call when the account
    cannot be valid, `EnrollmentIncomplete` before enrolment."""
    borrower = _enrolled(borrower)
    problems: list[Problem | None] = []
    if kind not in RepaymentKind.values:
        problems.append(
            Problem("payment_method", gettext("Choose direct debit or credit transfer."))
        )
    if kind == DIRECT_DEBIT:
        problems += [iban_problem(iban), bic_problem(bic) if bic.strip() else None]
    if any(problems):
        raise InvalidSellerDetails.naming(problem for problem in problems if problem)
    body: dict[str, Any] = {
        "payment_method": kind,
        "is_default_repayment_method": True,
        "apply_to_all_active_loans": apply_to_active_loans,
    }
    if kind == DIRECT_DEBIT:
        account: dict[str, Any] = {"account_number": iban.replace(" ", "").upper()}
        if bic.strip():
            account["bank_identifier"] = bic.strip().upper()
        body["from_account"] = account
    with defacto_call(gettext("change the seller's repayment method")):
        payload = get_client().borrowers.choose_repayment_method(str(borrower.defacto_id), body)
    chosen = _method(payload)
    _remember(borrower, chosen)
    return chosen

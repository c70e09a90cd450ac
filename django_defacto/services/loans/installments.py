"""Repaying a loan in installments (`installment_plan_type: INSTALLMENTS`), where the
seller's financial product offers it.

Defacto's rules (APIPostLoan): the installments add up to the loan's amount and the last
falls on `to_repay_at`. This package adds what a seller would expect of a schedule: at
least two, each a positive amount, on days one after the other, from tomorrow to at most
120 days ahead (Defacto's longest loan). `propose_installments` makes one from a count
(equal amounts, the rounding cents on the last; days spread evenly up to the repayment
day); `installment_problems` says, in words and by field, what is wrong with one a host
gives, before any call.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from decimal import Decimal

from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from ...exceptions import InvalidInstallments, NotEligible
from ...support.identifiers import Problem
from ..borrowers.financial_products import FinancialProduct
from ..borrowers.status import Reason
from .terms import MAX_LOAN_DAYS, MIN_LOAN_DAYS, Installment, financing_cost

MIN_INSTALLMENTS = 2
# The most a seller is offered: one a week for three months is already a lot to follow.
MAX_INSTALLMENTS = 12
INSTALLMENTS = "INSTALLMENTS"


def propose_installments(amount: int, count: int, today: date, last_on: date) -> list[Installment]:
    """`count` installments of `amount` cents ending on `last_on`: equal amounts with the
    rounding cents on the last, days spread evenly from `today` (exclusive). Raises
    ValueError when no such schedule follows the rules (see `installment_problems`)."""
    days = (last_on - today).days
    if count < MIN_INSTALLMENTS or days < count or days > MAX_LOAN_DAYS or amount < count:
        raise ValueError("no schedule of that many installments fits these bounds")
    share = amount // count
    schedule = [
        Installment(share, today + timedelta(days=round(days * number / count)))
        for number in range(1, count + 1)
    ]
    last = schedule[-1]
    schedule[-1] = Installment(amount - share * (count - 1), last.due_on)
    return schedule


def installment_problems(
    amount: int, installments: list[Installment], today: date, to_repay_on: date
) -> list[Problem]:
    """What is wrong with a schedule for a loan of `amount` cents repaid on `to_repay_on`,
    each problem naming its field (`installments`, `installments[2].due_on`...)."""
    if len(installments) < MIN_INSTALLMENTS:
        return [
            Problem(
                "installments",
                format_lazy(_("Give at least {count} installments."), count=MIN_INSTALLMENTS),
            )
        ]
    problems = []
    earliest = today + timedelta(days=MIN_LOAN_DAYS)
    latest = today + timedelta(days=MAX_LOAN_DAYS)
    previous: date | None = None
    for number, installment in enumerate(installments):
        field = f"installments[{number}]"
        if installment.amount <= 0:
            problems.append(
                Problem(f"{field}.amount", _("Each installment must be a positive amount."))
            )
        if not earliest <= installment.due_on <= latest:
            problems.append(
                Problem(
                    f"{field}.due_on",
                    format_lazy(
                        _("Each installment must fall {low} to {high} days from today."),
                        low=MIN_LOAN_DAYS,
                        high=MAX_LOAN_DAYS,
                    ),
                )
            )
        elif previous is not None and installment.due_on <= previous:
            problems.append(
                Problem(f"{field}.due_on", _("Each installment must fall after the one before."))
            )
        previous = installment.due_on
    if sum(installment.amount for installment in installments) != amount:
        problems.append(
            Problem("installments", _("The installments must add up to the loan's amount."))
        )
    if installments[-1].due_on != to_repay_on:
        problems.append(
            Problem(
                f"installments[{len(installments) - 1}].due_on",
                _("The last installment must fall on the repayment date."),
            )
        )
    return problems


def loan_schedule(
    amount: int,
    to_repay_on: date,
    asked: int | Sequence[Installment] | None,
    product: FinancialProduct | None,
    *,
    today: date,
) -> list[Installment]:
    """The schedule a loan request asks for: none (repaid in one go), or `asked` (a count
    the package spreads, or the host's own list) once checked. Raises `NotEligible` when
    the seller's product does not offer installments, `InvalidInstallments` naming each
    field of a wrong schedule."""
    if not asked:
        return []
    if product is not None and INSTALLMENTS not in product.installment_types:
        raise NotEligible(
            str(_("The seller's financing cannot be repaid in installments.")),
            reasons=[
                Reason(
                    "installments_not_offered",
                    _("The seller's financing cannot be repaid in installments."),
                )
            ],
        )
    if isinstance(asked, int):
        try:
            schedule = propose_installments(amount, asked, today, to_repay_on)
        except ValueError:
            message = format_lazy(
                _("{count} installments do not fit before the repayment date."), count=asked
            )
            raise InvalidInstallments(
                str(message), problems=[("installments", str(message))]
            ) from None
    else:
        schedule = list(asked)
    wrong = installment_problems(amount, schedule, today, to_repay_on)
    if wrong:
        pairs = [(problem.field, str(problem.message)) for problem in wrong]
        raise InvalidInstallments(" ".join(dict.fromkeys(m for _, m in pairs)), problems=pairs)
    return schedule


def installments_offered(products: Sequence[FinancialProduct]) -> bool:
    """Whether the seller may repay in installments: one of its products offers it."""
    return any(INSTALLMENTS in product.installment_types for product in products)


def schedule_cost(schedule: Sequence[Installment], start: date, daily_rate: Decimal) -> int:
    """The interest of a loan repaid along `schedule`: each installment's share of the
    principal is borrowed from `start` to its own day, so it costs less than the same
    loan repaid in one go on the last day."""
    return sum(
        financing_cost(item.amount, (item.due_on - start).days, daily_rate) for item in schedule
    )


def schedule_json(schedule: Sequence[Installment]) -> list[dict[str, object]]:
    """The schedule as kept on the loan."""
    return [{"amount": item.amount, "due_on": item.due_on.isoformat()} for item in schedule]


def schedule_of(kept: object) -> list[Installment]:
    """The schedule kept on a loan (`schedule_json`)."""
    if not isinstance(kept, list):
        return []
    return [
        Installment(int(item["amount"]), date.fromisoformat(str(item["due_on"])))
        for item in kept
        if isinstance(item, dict) and "amount" in item and "due_on" in item
    ]

"""The sandbox's whole state as plain JSON-ready data, with lookup indexes by id.

Entities are stored as the dicts the API returns; keys starting with `_` are private to the
sandbox and stripped when rendered. Indexes are derived and rebuilt after loading.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field
from typing import Any

STATE_FORMAT = 1

ENTITY_COLLECTIONS = (
    "borrowers",
    "credit_lines",
    "invoices",
    "loans",
    "payments",
    "installments",
    "bills",
    "webhooks",
    "payment_links",
)


@dataclass(order=True)
class ScheduledTransition:
    """A state change due at `due` (POSIX seconds of sandbox time)."""

    due: float
    sequence: int
    kind: str = field(compare=False)
    entity_id: str = field(compare=False)

    def to_dict(self) -> dict[str, Any]:
        return {
            "due": self.due,
            "sequence": self.sequence,
            "kind": self.kind,
            "entity_id": self.entity_id,
        }


@dataclass
class SandboxState:
    borrowers: dict[str, dict[str, Any]] = field(default_factory=dict)
    credit_lines: dict[str, dict[str, Any]] = field(default_factory=dict)
    invoices: dict[str, dict[str, Any]] = field(default_factory=dict)
    loans: dict[str, dict[str, Any]] = field(default_factory=dict)
    payments: dict[str, dict[str, Any]] = field(default_factory=dict)
    installments: dict[str, dict[str, Any]] = field(default_factory=dict)
    bills: dict[str, dict[str, Any]] = field(default_factory=dict)
    webhooks: dict[str, dict[str, Any]] = field(default_factory=dict)
    # Pages where a loan is repaid now (`POST /repay/now`), by id.
    payment_links: dict[str, dict[str, Any]] = field(default_factory=dict)
    loan_events: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    account_events: list[dict[str, Any]] = field(default_factory=list)
    eligibility: dict[str, str] = field(default_factory=dict)  # identifier -> OK/NOT_ELIGIBLE
    # Invoices uploaded as business data: borrower id -> salt_id (or number) -> invoice.
    shared_invoices: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    generated_identifiers: list[str] = field(default_factory=list)
    schedule: list[ScheduledTransition] = field(default_factory=list)  # a heap
    sequence: int = 0
    clock_offset: float = 0.0
    # The account's platform sends Defacto's bills to the payers itself (Defacto sets
    # this by contract; the sandbox through `POST /_sandbox/billing`).
    partner_sends_bills: bool = False
    # Derived indexes (not serialised).
    borrower_id_by_identifier: dict[str, str] = field(default_factory=dict)
    loan_id_by_salt: dict[str, str] = field(default_factory=dict)
    loan_ids_by_borrower: dict[str, list[str]] = field(default_factory=dict)
    credit_line_id_by_borrower: dict[str, str] = field(default_factory=dict)
    exposure_by_borrower: dict[str, dict[str, int]] = field(default_factory=dict)

    def next_sequence(self) -> int:
        self.sequence += 1
        return self.sequence

    def schedule_transition(self, due: float, kind: str, entity_id: str) -> None:
        heapq.heappush(
            self.schedule, ScheduledTransition(due, self.next_sequence(), kind, entity_id)
        )

    def pop_due(self, until: float) -> ScheduledTransition | None:
        """Remove and return the earliest transition due at or before `until`, if any."""
        if self.schedule and self.schedule[0].due <= until:
            return heapq.heappop(self.schedule)
        return None

    def has_scheduled(self, kind: str) -> bool:
        return any(item.kind == kind for item in self.schedule)

    # Indexes ------------------------------------------------------------------------

    def index_borrower(self, borrower: dict[str, Any]) -> None:
        self.borrower_id_by_identifier[borrower["identifier"]] = borrower["id"]

    def index_loan(self, loan: dict[str, Any]) -> None:
        if loan.get("_salt_id"):
            self.loan_id_by_salt[loan["_salt_id"]] = loan["id"]
        self.loan_ids_by_borrower.setdefault(loan["_borrower_id"], []).append(loan["id"])

    def index_credit_line(self, credit_line: dict[str, Any]) -> None:
        self.credit_line_id_by_borrower[credit_line["_borrower_id"]] = credit_line["id"]

    def rebuild_indexes(self) -> None:
        self.borrower_id_by_identifier.clear()
        self.loan_id_by_salt.clear()
        self.loan_ids_by_borrower.clear()
        self.credit_line_id_by_borrower.clear()
        for borrower in self.borrowers.values():
            self.index_borrower(borrower)
        for loan in sorted(self.loans.values(), key=lambda item: item["_sequence"]):
            self.index_loan(loan)
        for credit_line in self.credit_lines.values():
            self.index_credit_line(credit_line)

    # Persistence --------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """Return the state as JSON-ready data (entities are shared, not copied)."""
        data: dict[str, Any] = {
            name: list(getattr(self, name).values()) for name in ENTITY_COLLECTIONS
        }
        data.update(
            format=STATE_FORMAT,
            loan_events=self.loan_events,
            account_events=self.account_events,
            eligibility=self.eligibility,
            shared_invoices=self.shared_invoices,
            generated_identifiers=self.generated_identifiers,
            schedule=[item.to_dict() for item in sorted(self.schedule)],
            sequence=self.sequence,
            clock_offset=self.clock_offset,
            partner_sends_bills=self.partner_sends_bills,
        )
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SandboxState:
        """Return the state `to_dict` produced (raises ValueError for another format)."""
        if data.get("format") != STATE_FORMAT:
            raise ValueError(f"Unsupported sandbox state format: {data.get('format')!r}")
        state = cls(
            loan_events={key: list(value) for key, value in data.get("loan_events", {}).items()},
            account_events=list(data.get("account_events", [])),
            eligibility=dict(data.get("eligibility", {})),
            shared_invoices={
                key: dict(value) for key, value in data.get("shared_invoices", {}).items()
            },
            generated_identifiers=list(data.get("generated_identifiers", [])),
            schedule=[ScheduledTransition(**item) for item in data.get("schedule", [])],
            sequence=int(data.get("sequence", 0)),
            clock_offset=float(data.get("clock_offset", 0.0)),
            partner_sends_bills=bool(data.get("partner_sends_bills", False)),
        )
        for name in ENTITY_COLLECTIONS:
            setattr(state, name, {item["id"]: item for item in data.get(name, [])})
        heapq.heapify(state.schedule)
        state.rebuild_indexes()
        return state

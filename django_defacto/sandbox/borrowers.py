"""Borrowers (the marketplace's sellers): creation, signature, deactivation, products."""

from __future__ import annotations

from typing import Any

from .clock import normalise_iso, parse_datetime
from .context import SandboxWorld, bad_request, not_found, public
from .credit_lines import balances, create_credit_line, credit_line_of, is_expired
from .messages import ApiProblem, SandboxRequest, SandboxResponse
from .pagination import paginate, query_datetime, query_value, query_values, single_page
from .scenarios import SANDBOX_BIC

NOT_ELIGIBLE = "NOT_ELIGIBLE"
NOT_ELIGIBLE_REASON = "CREDIT_RISK_NOT_ELIGIBLE"
# Why a loan on an invoice whose buyer is not eligible is declined.
COUNTERPARTY_NOT_ELIGIBLE_REASON = "CREDIT_RISK_NOT_ELIGIBLE_COUNTERPARTY"
# Identifiers starting with this play a business whose data Defacto cannot obtain from
# public registers: enrolment answers 400 naming what is missing until the body gives it.
INCOMPLETE_DATA_PREFIX = "000"


def is_not_eligible(world: SandboxWorld, identifier: str) -> bool:
    return world.state.eligibility.get(identifier) == NOT_ELIGIBLE


def get_borrower_or_404(world: SandboxWorld, borrower_id: str) -> dict[str, Any]:
    borrower = world.state.borrowers.get(borrower_id)
    if borrower is None:
        raise not_found("Borrower", borrower_id)
    return borrower


def borrower_by_identifier(world: SandboxWorld, identifier: str) -> dict[str, Any] | None:
    borrower_id = world.state.borrower_id_by_identifier.get(identifier)
    return world.state.borrowers.get(borrower_id) if borrower_id else None


def _owner(world: SandboxWorld, owner: dict[str, Any] | None) -> dict[str, Any] | None:
    if not owner or not owner.get("email"):
        return None
    return {
        "id": world.new_id(),
        "email": owner["email"],
        "phone_number": owner.get("phone_number"),
    }


def _accounts(account_number: str | None) -> list[dict[str, Any]]:
    if not account_number:
        return []
    return [
        {
            "account_name": None,
            "account_number": account_number,
            "account_number_type": "iban",
            "bank_identifier": SANDBOX_BIC,
            "bank_identifier_type": "bic",
        }
    ]


def _address(address: dict[str, Any] | None) -> dict[str, Any] | None:
    if not address:
        return None
    keys = ("address_line_1", "address_line_2", "city", "country", "postal_code", "state")
    return {key: address.get(key) for key in keys}


def open_credit_line_when_due(
    world: SandboxWorld, borrower: dict[str, Any], wait_for_ready: bool
) -> None:
    """Open the signed borrower's credit line now (`wait_for_ready`) or after the usual delay."""
    if wait_for_ready:
        open_credit_line(world, borrower["id"])
    else:
        world.schedule(world.settings.credit_line_delay, "open_credit_line", borrower["id"])


def open_credit_line(world: SandboxWorld, borrower_id: str) -> None:
    """Transition: a signed, eligible borrower without a line gets one and becomes READY."""
    borrower = world.state.borrowers.get(borrower_id)
    if borrower is None or borrower["status"] != "SIGNED" or credit_line_of(world, borrower_id):
        return
    if is_not_eligible(world, borrower["identifier"]):
        borrower["status_reason"] = NOT_ELIGIBLE_REASON
        world.touch()
        return
    create_credit_line(world, borrower)
    borrower["status"] = "READY"
    borrower["status_reason"] = None
    world.emit(
        "borrower_financial_product",
        "BorrowerFinancialProductCreated",
        "READY",
        "CREATE",
        lambda: render_financial_product(world, borrower),
    )


# The product every borrower gets at enrolment: invoice financing, repaid in one go or in
# installments.
FIRST_PRODUCT = {
    "name": "Invoice financing",
    "product_type": "INVOICE_BASED_FINANCING",
    "installment_types": ["IN_FINE", "INSTALLMENTS"],
}


def financial_products_of(borrower: dict[str, Any]) -> list[dict[str, Any]]:
    """The borrower's financial products: the one made at enrolment, then those added
    with the sandbox control `POST /_sandbox/financial-products`."""
    first = {"id": borrower["_financial_product_id"], **FIRST_PRODUCT}
    return [first, *borrower.get("_more_products", [])]


def add_financial_product(
    world: SandboxWorld, borrower_id: str, name: str, installment_types: list[str]
) -> dict[str, Any]:
    """Give a borrower one more financial product (Defacto's sandbox has no such call:
    several products are rare, and set up by Defacto's team)."""
    borrower = get_borrower_or_404(world, borrower_id)
    product = {
        "id": world.new_id(),
        "name": name,
        "product_type": "INVOICE_BASED_FINANCING",
        "installment_types": list(installment_types),
    }
    borrower.setdefault("_more_products", []).append(product)
    world.touch()
    world.emit(
        "borrower_financial_product",
        "BorrowerFinancialProductCreated",
        "READY",
        "CREATE",
        lambda: render_financial_product(world, borrower, product),
    )
    return render_financial_product(world, borrower, product)


def render_financial_product(
    world: SandboxWorld, borrower: dict[str, Any], product: dict[str, Any] | None = None
) -> dict[str, Any]:
    """A borrower's product as Defacto shows it; its balances are the credit line's."""
    product = product or financial_products_of(borrower)[0]
    credit_line = credit_line_of(world, borrower["id"])
    amounts = balances(world, borrower["id"])
    if borrower["status"] == "DEACTIVATED":
        status = "DEACTIVATED"
    elif borrower["status"] == "TO_SIGN":
        status = "TO_SIGN"
    elif is_not_eligible(world, borrower["identifier"]):
        status = "BLOCKED"
    elif credit_line is None:
        status = "CREATED"
    else:
        status = "READY"
    usable = status == "READY" and credit_line is not None and not is_expired(world, credit_line)
    return {
        "id": product["id"],
        "borrower_id": borrower["id"],
        "status": status,
        "status_reason": NOT_ELIGIBLE_REASON if status == "BLOCKED" else None,
        "can_request_loan": usable,
        "fees_daily_rate": credit_line["fees_daily_rate"] if credit_line else None,
        "max_amount": credit_line["pool_amount"] if credit_line else None,
        "available_amount": amounts["balance_available"] if credit_line else None,
        "amount_pending_validation": amounts["balance_pending_validation"],
        "amount_outstanding": amounts["outstanding"],
        "unlock_loan_request_link": None,
        "financial_product": {
            "name": product["name"],
            "product_type": product["product_type"],
            "configuration": {
                "installments": {"available_types": list(product["installment_types"])}
            },
        },
    }


# The country of a business by its identifier's type; a VAT number says it by its prefix.
_COUNTRY_OF_IDENTIFIER_TYPE = {
    "siren": "FR",
    "siret": "FR",
    "cif": "ES",
    "nif": "ES",
    "hr_nummer": "DE",
    "steuernummer": "DE",
    "kvk": "NL",
    "bsn": "NL",
    "belgium_registration_number": "BE",
}


def business_country(body: dict[str, Any]) -> str:
    """The country of the business in a POST /borrowers body: its head office's, else
    the one its identifier names (France when nothing says)."""
    for key in ("address", "siege_address"):
        address = body.get(key) or {}
        if isinstance(address, dict) and address.get("country"):
            return str(address["country"]).upper()[:2]
    kind = body.get("identifier_type") or ""
    if kind == "vat_number":
        return str(body["identifier"])[:2].upper()
    return _COUNTRY_OF_IDENTIFIER_TYPE.get(kind, "FR")


def missing_enrollment_data(identifier: str, body: dict[str, Any]) -> list[dict[str, str]]:
    """What Defacto would say it could not obtain for this business. Outside France it
    often cannot find the directors in public registers (POST /borrowers reference), so
    the sandbox asks for them there; in France only identifiers starting with
    `INCOMPLETE_DATA_PREFIX` (a sandbox rule) lack anything."""
    abroad = business_country(body) != "FR"
    if not abroad and not identifier.startswith(INCOMPLETE_DATA_PREFIX):
        return []
    missing = []
    if not body.get("directors"):
        missing.append(
            {
                "name": "directors",
                "reason": "No director found in public registers; give at least one.",
            }
        )
    if not abroad and not body.get("account_number"):
        missing.append(
            {
                "name": "account_number",
                "reason": "An IBAN is needed to set up SEPA Direct Debit repayments.",
            }
        )
    return missing


# Operations --------------------------------------------------------------------------


def create_borrower(
    world: SandboxWorld, request: SandboxRequest, body: dict[str, Any]
) -> SandboxResponse:
    identifier = body["identifier"].strip()
    if not identifier or " " in identifier:
        raise bad_request(
            "Invalid identifier", "The identifier must be non-empty and contain no spaces."
        )
    existing = borrower_by_identifier(world, identifier)
    if existing is not None:
        raise bad_request(
            "Borrower already exists",
            f"A borrower with identifier {identifier} already exists (id {existing['id']}).",
        )
    missing = missing_enrollment_data(identifier, body)
    if missing:
        raise ApiProblem(
            400,
            "Missing borrower data",
            "Defacto could not obtain some of the business's data: "
            + ", ".join(item["name"] for item in missing)
            + ".",
            invalid_params=missing,
        )
    signed_at = normalise_iso(body["signed_at"], "signed_at") if body.get("signed_at") else None
    borrower = {
        "id": world.new_id(),
        "identifier": identifier,
        "identifier_type": body.get("identifier_type"),
        "name": body.get("name"),
        "legal_form": body.get("legal_form"),
        "vat_number": body.get("vat_number"),
        "address": _address(body.get("address")),
        "metadata": body.get("metadata"),
        "status": "SIGNED" if signed_at else "TO_SIGN",
        "status_reason": None,
        "signed_at": signed_at,
        "accounts": _accounts(body.get("account_number")),
        "active_enrollments": [],
        "directors": body.get("directors"),
        "owner": _owner(world, body.get("owner")),
        "compliance_checks": {"status": "APPROVED"},
        "contract_id": None,
        "contract_s3_url": None,
        "can_reonboard": False,
        "next_actions": [],
        "_business_id": world.new_id(),
        "_financial_product_id": world.new_id(),
        "_created_at": world.now_iso(),
        "_sequence": world.state.next_sequence(),
    }
    world.state.borrowers[borrower["id"]] = borrower
    world.state.index_borrower(borrower)
    world.touch()
    if signed_at:
        _record_signature(world, borrower)
        open_credit_line_when_due(world, borrower, bool(body.get("wait_for_ready")))
    return SandboxResponse(201, render_borrower(borrower, world, request))


def _record_signature(world: SandboxWorld, borrower: dict[str, Any]) -> None:
    borrower["contract_id"] = world.new_id()


# How long a contract link works, as Defacto's pre-signed links.
CONTRACT_LINK_SECONDS = 900


def contract_link(world: SandboxWorld, request: SandboxRequest, contract_id: str) -> str:
    """A link to the contract's PDF on this sandbox, valid `CONTRACT_LINK_SECONDS`: callers
    must not store it, as with Defacto's pre-signed links."""
    host = request.headers.get("host") or "defacto-sandbox.invalid"
    expires = int(world.now().timestamp()) + CONTRACT_LINK_SECONDS
    return f"http://{host}/_sandbox/contracts/{contract_id}.pdf?expires={expires}"


def render_borrower(
    borrower: dict[str, Any], world: SandboxWorld, request: SandboxRequest
) -> dict[str, Any]:
    shown = public(borrower)
    if borrower.get("contract_id"):
        shown["contract_s3_url"] = contract_link(world, request, borrower["contract_id"])
    return shown


def list_borrowers(world: SandboxWorld, request: SandboxRequest, body: Any) -> SandboxResponse:
    ids = set(query_values(request, "borrower_id"))
    identifier = query_value(request, "borrower_identifier")
    signed_from = query_datetime(request, "from_signed_at")
    signed_to = query_datetime(request, "to_signed_at")
    matching = []
    for borrower in world.state.borrowers.values():
        if ids and borrower["id"] not in ids:
            continue
        if identifier and borrower["identifier"] != identifier:
            continue
        if signed_from or signed_to:
            if not borrower["signed_at"]:
                continue
            signed = parse_datetime(borrower["signed_at"])
            if (signed_from and signed < signed_from) or (signed_to and signed > signed_to):
                continue
        matching.append(borrower)
    page = paginate(
        request,
        matching,
        lambda borrower: render_borrower(borrower, world, request),
        world.settings.page_size,
    )
    return SandboxResponse(200, page)


def get_borrower(
    world: SandboxWorld, request: SandboxRequest, body: Any, borrower_id: str
) -> SandboxResponse:
    return SandboxResponse(
        200, render_borrower(get_borrower_or_404(world, borrower_id), world, request)
    )


def sign_borrower(
    world: SandboxWorld, request: SandboxRequest, body: dict[str, Any] | None, borrower_id: str
) -> SandboxResponse:
    borrower = get_borrower_or_404(world, borrower_id)
    body = body or {}
    if borrower["status"] in ("DEACTIVATED", "BLOCKED", "PROHIBITED"):
        raise bad_request(
            "Borrower cannot sign", f"Borrower {borrower_id} is {borrower['status']}."
        )
    if borrower["status"] == "TO_SIGN":
        signed_at = body.get("signed_at")
        borrower["signed_at"] = (
            normalise_iso(signed_at, "signed_at") if signed_at else world.now_iso()
        )
        borrower["status"] = "SIGNED"
        _record_signature(world, borrower)
        world.touch()
        open_credit_line_when_due(world, borrower, bool(body.get("wait_for_ready")))
    elif body.get("wait_for_ready"):
        open_credit_line(world, borrower_id)
    return SandboxResponse(200, render_borrower(borrower, world, request))


def deactivate_borrower(
    world: SandboxWorld, request: SandboxRequest, body: Any, borrower_id: str
) -> SandboxResponse:
    borrower = get_borrower_or_404(world, borrower_id)
    if borrower["status"] != "DEACTIVATED":
        borrower["status"] = "DEACTIVATED"
        world.touch()
    return SandboxResponse(204)


def list_financial_products(
    world: SandboxWorld, request: SandboxRequest, body: Any, borrower_id: str
) -> SandboxResponse:
    borrower = get_borrower_or_404(world, borrower_id)
    products = [
        render_financial_product(world, borrower, product)
        for product in financial_products_of(borrower)
    ]
    return SandboxResponse(200, single_page(products))

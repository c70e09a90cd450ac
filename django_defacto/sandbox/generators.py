"""Sandbox data generators: businesses to onboard, scenario IBANs, invoices to finance."""

from __future__ import annotations

import base64
from datetime import timedelta
from typing import Any

from .clock import to_iso
from .context import SandboxWorld
from .messages import ApiProblem, SandboxRequest, SandboxResponse
from .pagination import query_value
from .scenarios import SANDBOX_BIC, SCENARIOS, SUCCESS, generate_iban

_COMPANY_WORDS = (
    "Atelier",
    "Maison",
    "Studio",
    "Comptoir",
    "Fabrique",
    "Bureau",
    "Galerie",
    "Cave",
)
_COMPANY_NAMES = ("Lumière", "Horizon", "Boréal", "Azur", "Cèdre", "Granit", "Opale", "Zéphyr")
_CITIES = (("Paris", "75011"), ("Lyon", "69002"), ("Nantes", "44000"), ("Lille", "59000"))
_FIRST_NAMES = ("Camille", "Louis", "Chloé", "Hugo", "Léa", "Jules")
_LAST_NAMES = ("Martin", "Bernard", "Dubois", "Moreau", "Laurent", "Girard")


def _luhn_check_digit(digits: str) -> str:
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2 == 0:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return str((10 - total % 10) % 10)


def new_siren(world: SandboxWorld) -> str:
    """Return a Luhn-valid SIREN that no generated business or borrower uses yet."""
    taken = set(world.state.generated_identifiers) | set(world.state.borrower_id_by_identifier)
    while True:
        body = f"{world.rng.randrange(10**7, 10**8):08d}"
        siren = body + _luhn_check_digit(body)
        if siren not in taken:
            world.state.generated_identifiers.append(siren)
            world.touch()
            return siren


def _scenario_param(value: str | None) -> str:
    scenario = value or SUCCESS
    if scenario not in SCENARIOS:
        raise ApiProblem(
            422,
            "Unprocessable Entity",
            f"Unknown scenario {scenario!r}.",
            [{"name": "scenario", "reason": f"Must be one of {', '.join(SCENARIOS)}."}],
        )
    return scenario


def _company_name(world: SandboxWorld) -> str:
    return f"{world.rng.choice(_COMPANY_WORDS)} {world.rng.choice(_COMPANY_NAMES)} SAS"


def _counterparty(world: SandboxWorld) -> dict[str, Any]:
    city, postal_code = world.rng.choice(_CITIES)
    return {
        "identifier": new_siren(world),
        "identifier_type": "siren",
        "name": _company_name(world),
        "address": {
            "address_line_1": f"{world.rng.randint(1, 120)} rue de la République",
            "address_line_2": None,
            "city": city,
            "postal_code": postal_code,
            "country": "FR",
            "state": None,
        },
    }


# A one-page PDF saying "Sandbox invoice"; enough for anything that opens it.
_PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
    b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]/Contents 4 0 R"
    b"/Resources<</Font<</F1 5 0 R>>>>>>endobj\n"
    b"4 0 obj<</Length 44>>stream\nBT /F1 24 Tf 72 760 Td (Sandbox invoice) Tj ET\n"
    b"endstream endobj\n"
    b"5 0 obj<</Type/Font/Subtype/Type1/BaseFont/Helvetica>>endobj\n"
    b"trailer<</Root 1 0 R>>\n%%EOF\n"
)
SANDBOX_INVOICE_PDF_BASE64 = base64.b64encode(_PDF).decode()


# Operations --------------------------------------------------------------------------


def generate_business(world: SandboxWorld, request: SandboxRequest, body: Any) -> SandboxResponse:
    business = _counterparty(world)
    first_name, last_name = world.rng.choice(_FIRST_NAMES), world.rng.choice(_LAST_NAMES)
    address = {key: value for key, value in business["address"].items() if value is not None}
    payload = {
        "identifier": business["identifier"],
        "identifier_type": "siren",
        "name": business["name"],
        "legal_form": "SAS",
        "address": address,
        "account_number": generate_iban(SUCCESS, world.rng),
        "owner": {
            "first_name": first_name,
            "last_name": last_name,
            "email": f"{first_name.lower()}.{last_name.lower()}@example.com".replace("é", "e"),
        },
        "preferred_language": "fr",
    }
    return SandboxResponse(200, payload)


def generate_iban_for_scenario(
    world: SandboxWorld, request: SandboxRequest, body: Any
) -> SandboxResponse:
    scenario = _scenario_param(query_value(request, "scenario"))
    return SandboxResponse(201, {"iban": generate_iban(scenario, world.rng)})


def generate_invoice(
    world: SandboxWorld, request: SandboxRequest, body: dict[str, Any]
) -> SandboxResponse:
    scenario = _scenario_param(body.get("scenario"))
    total = world.rng.randrange(1_000, 5_000) * 100
    net = round(total / 1.2)
    now = world.now()
    invoice_number = f"SBX-{world.state.next_sequence():06d}"
    payload = {
        "invoice_number": invoice_number,
        "currency": "EUR",
        "total_amount": total,
        "net_amount": net,
        "tax_amount": total - net,
        "to_pay_amount": total,
        "issued_at": to_iso(now - timedelta(days=1)),
        "due_at": to_iso(now + timedelta(days=30)),
        "seller": body.get("seller") or _counterparty(world),
        "buyer": body.get("buyer") or _counterparty(world),
        "to_account": {
            "account_number": generate_iban(scenario, world.rng),
            "account_number_type": "iban",
            "bank_identifier": SANDBOX_BIC,
            "bank_identifier_type": "bic",
        },
        "document": SANDBOX_INVOICE_PDF_BASE64,
    }
    world.touch()
    return SandboxResponse(
        201,
        {
            "invoice_creation_payload": payload,
            "pdf_download_url": f"https://sandbox-documents.invalid/generated/{invoice_number}.pdf",
        },
    )

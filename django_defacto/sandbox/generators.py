"""Sandbox data generators: businesses to onboard, scenario IBANs, invoices to finance."""

from __future__ import annotations

import base64
import unicodedata
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from stdnum import luhn
from stdnum.be import vat as be_enterprise
from stdnum.es import cif

from .clock import to_iso
from .context import SandboxWorld
from .messages import ApiProblem, SandboxRequest, SandboxResponse
from .pagination import query_value
from .scenarios import SANDBOX_BIC, SCENARIOS, SUCCESS, generate_iban


@dataclass(frozen=True)
class _Market:
    """How a business of one of Defacto's markets looks: its identifier, legal form,
    language, cities (with a postal code), street (where the number goes, as the country
    writes it) and people's names."""

    alpha3: str
    identifier_type: str
    legal_form: str
    language: str
    cities: tuple[tuple[str, str], ...]
    street: str
    first_names: tuple[str, ...]
    last_names: tuple[str, ...]
    words: tuple[str, ...]


_MARKETS = {
    "FR": _Market(
        "FRA",
        "siren",
        "SAS",
        "fr",
        (("Paris", "75011"), ("Lyon", "69002"), ("Nantes", "44000"), ("Lille", "59000")),
        "{number} rue de la République",
        ("Camille", "Louis", "Chloé", "Hugo", "Léa", "Jules"),
        ("Martin", "Bernard", "Dubois", "Moreau", "Laurent", "Girard"),
        ("Atelier", "Maison", "Studio", "Comptoir", "Fabrique", "Galerie"),
    ),
    "ES": _Market(
        "ESP",
        "cif",
        "SL",
        "es",
        (("Madrid", "28013"), ("Barcelona", "08001"), ("Valencia", "46001"), ("Sevilla", "41001")),
        "Calle Mayor {number}",
        ("Lucía", "Hugo", "Martina", "Pablo", "Sofía", "Mateo"),
        ("García", "Fernández", "López", "Martínez", "Sánchez", "Romero"),
        ("Taller", "Casa", "Estudio", "Almacén", "Fábrica", "Galería"),
    ),
    "DE": _Market(
        "DEU",
        "hr_nummer",
        "GmbH",
        "de",
        (("Berlin", "10115"), ("München", "80331"), ("Hamburg", "20095"), ("Köln", "50667")),
        "Hauptstraße {number}",
        ("Anna", "Lukas", "Mia", "Leon", "Emma", "Felix"),
        ("Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Wagner"),
        ("Werkstatt", "Haus", "Studio", "Kontor", "Manufaktur", "Galerie"),
    ),
    "NL": _Market(
        "NLD",
        "kvk",
        "B.V.",
        "nl",
        (("Amsterdam", "1012 AB"), ("Rotterdam", "3011 AA"), ("Utrecht", "3511 AA")),
        "Kerkstraat {number}",
        ("Emma", "Daan", "Julia", "Sem", "Tess", "Lucas"),
        ("de Jong", "Jansen", "de Vries", "van Dijk", "Bakker", "Visser"),
        ("Atelier", "Huis", "Studio", "Werkplaats", "Fabriek", "Galerie"),
    ),
    "BE": _Market(
        "BEL",
        "belgium_registration_number",
        "SRL",
        "fr",
        (("Bruxelles", "1000"), ("Antwerpen", "2000"), ("Liège", "4000"), ("Gent", "9000")),
        "{number} Rue Royale",
        ("Louise", "Arthur", "Olivia", "Noah", "Elena", "Victor"),
        ("Peeters", "Janssens", "Maes", "Dubois", "Lambert", "Claes"),
        ("Atelier", "Maison", "Studio", "Comptoir", "Fabrique", "Galerie"),
    ),
}
_NAMES = ("Lumière", "Horizon", "Boréal", "Azur", "Cèdre", "Granit", "Opale", "Zéphyr")
# Defacto's business generator takes ISO 3166 alpha-3 codes; its French overseas ones
# make French businesses here.
_COUNTRY_PARAM = {market.alpha3: code for code, market in _MARKETS.items()} | {
    "GUF": "FR",
    "MAF": "FR",
    "REU": "FR",
}


def _identifier(market_code: str, rng: Any) -> str:
    """A new identifier of the market's type, its check digits python-stdnum's."""
    if market_code == "FR":
        body = f"{rng.randrange(10**7, 10**8):08d}"
        return body + luhn.calc_check_digit(body)
    if market_code == "ES":
        body = f"B{rng.randrange(10**7):07d}"
        return body + cif.calc_check_digits(body)[0]  # a company's check is its digit
    if market_code == "DE":
        return f"HRB{rng.randrange(10**4, 10**6)}"  # no check digit
    if market_code == "NL":
        return f"{rng.randrange(10**7, 10**8):08d}"  # a KvK number has no check digit
    body = f"0{rng.randrange(10**6, 10**7):07d}"
    # The enterprise number's two check digits: the one pair stdnum finds valid.
    return next(
        f"{body}{check:02d}"
        for check in range(1, 98)
        if be_enterprise.is_valid(f"{body}{check:02d}")
    )


def new_identifier(world: SandboxWorld, market_code: str = "FR") -> str:
    """Return a valid identifier of the market's type that no generated business or
    borrower uses yet."""
    taken = set(world.state.generated_identifiers) | set(world.state.borrower_id_by_identifier)
    while True:
        identifier = _identifier(market_code, world.rng)
        if identifier not in taken:
            world.state.generated_identifiers.append(identifier)
            world.touch()
            return identifier


def new_siren(world: SandboxWorld) -> str:
    """Return a Luhn-valid SIREN that no generated business or borrower uses yet."""
    return new_identifier(world, "FR")


def _country_param(value: str | None) -> str:
    """The market of the `country` parameter (alpha-3, FRA by default)."""
    code = (value or "FRA").upper()
    if code not in _COUNTRY_PARAM:
        raise ApiProblem(
            422,
            "Unprocessable Entity",
            f"Unknown country {code!r}.",
            [{"name": "country", "reason": f"Must be one of {', '.join(sorted(_COUNTRY_PARAM))}."}],
        )
    return _COUNTRY_PARAM[code]


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


def _company_name(world: SandboxWorld, market: _Market) -> str:
    return f"{world.rng.choice(market.words)} {world.rng.choice(_NAMES)} {market.legal_form}"


def _counterparty(world: SandboxWorld, market_code: str = "FR") -> dict[str, Any]:
    market = _MARKETS[market_code]
    city, postal_code = world.rng.choice(market.cities)
    return {
        "identifier": new_identifier(world, market_code),
        "identifier_type": market.identifier_type,
        "name": _company_name(world, market),
        "address": {
            "address_line_1": market.street.format(number=world.rng.randint(1, 120)),
            "address_line_2": None,
            "city": city,
            "postal_code": postal_code,
            "country": market_code,
            "state": None,
        },
    }


def one_page_pdf(text: str) -> bytes:
    """A one-page PDF saying `text` (ASCII); enough for anything that opens it."""
    stream = f"BT /F1 24 Tf 72 760 Td ({text}) Tj ET\n".encode("ascii")
    return (
        b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
        b"2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
        b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]/Contents 4 0 R"
        b"/Resources<</Font<</F1 5 0 R>>>>>>endobj\n"
        + f"4 0 obj<</Length {len(stream)}>>stream\n".encode("ascii")
        + stream
        + b"endstream endobj\n"
        b"5 0 obj<</Type/Font/Subtype/Type1/BaseFont/Helvetica>>endobj\n"
        b"trailer<</Root 1 0 R>>\n%%EOF\n"
    )


_PDF = one_page_pdf("Sandbox invoice")
# What a borrower's contract link serves.
CONTRACT_PDF = one_page_pdf("Sandbox contract")
SANDBOX_INVOICE_PDF_BASE64 = base64.b64encode(_PDF).decode()


# Operations --------------------------------------------------------------------------


def _email(first_name: str, last_name: str) -> str:
    local = f"{first_name}.{last_name}".lower().replace(" ", "")
    return unicodedata.normalize("NFKD", local).encode("ascii", "ignore").decode() + "@example.com"


def generate_business(world: SandboxWorld, request: SandboxRequest, body: Any) -> SandboxResponse:
    market_code = _country_param(query_value(request, "country"))
    market = _MARKETS[market_code]
    business = _counterparty(world, market_code)
    first_name, last_name = (
        world.rng.choice(market.first_names),
        world.rng.choice(market.last_names),
    )
    email = _email(first_name, last_name)
    address = {key: value for key, value in business["address"].items() if value is not None}
    payload: dict[str, Any] = {
        "identifier": business["identifier"],
        "identifier_type": market.identifier_type,
        "name": business["name"],
        "legal_form": market.legal_form,
        "address": address,
        "account_number": generate_iban(SUCCESS, world.rng, market_code),
        "owner": {"first_name": first_name, "last_name": last_name, "email": email},
        "preferred_language": market.language,
    }
    if market_code != "FR":
        # Outside France Defacto often cannot find the directors itself: the business
        # comes with its managing director, who is also the owner.
        birth = world.now().date() - timedelta(days=world.rng.randint(30 * 365, 60 * 365))
        payload["directors"] = [
            {
                "first_name": first_name,
                "last_name": last_name,
                "birth_date": birth.isoformat(),
                "nationality": market.alpha3,
                "business_email": email,
                "address": address,
                "role": "DIRECTOR",
            }
        ]
    return SandboxResponse(200, payload)


def generate_iban_for_scenario(
    world: SandboxWorld, request: SandboxRequest, body: Any
) -> SandboxResponse:
    scenario = _scenario_param(query_value(request, "scenario"))
    country = _country_param(query_value(request, "country"))
    return SandboxResponse(201, {"iban": generate_iban(scenario, world.rng, country)})


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

"""Demo data of the example marketplace: one French seller per sandbox scenario, one seller
in each of Defacto's other markets (Spain, Germany, the Netherlands, Belgium), buyers and
invoices. The Spanish seller's directors are not known to the marketplace, so its
enrolment shows the "information needed" path: Defacto asks for them, the seller gives
them on My financing.

Every object has a fixed natural key (username, SIREN, invoice number), so seeding again
finds what is there and creates only what is missing. The logins are for a local demo
only: never seed a database reachable from the internet.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, timedelta

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone
from stdnum import luhn

from django_defacto.client import DefactoClient
from django_defacto.sandbox.scenarios import (
    CANCEL,
    FAIL,
    LATE,
    REJECT,
    REVIEW,
    SUCCESS,
    SUCCESS_ONE_DAY_LATER,
    generate_iban,
    scenario_iban,
)

from .models import Buyer, Director, Invoice, Seller

ADMIN_USERNAME = "admin"
ADMIN_PASSWORD = "admin"  # demo only
SELLER_PASSWORD = "demo"  # demo only
VAT_PERCENT = 20


def siren(base: str) -> str:
    """A 9-digit SIREN from 8 digits, with the Luhn check digit INSEE numbers carry."""
    return base + luhn.calc_check_digit(base)


@dataclass(frozen=True)
class DemoInvoice:
    net_amount: int  # cents, before VAT
    issued_days_ago: int
    due_in_days: int  # from today: 30 to 60
    description: str
    # Index in DEMO_BUYERS; by default the buyers Defacto finances take turns.
    buyer: int | None = None


@dataclass(frozen=True)
class DemoDirector:
    first_name: str
    last_name: str
    birth_date: date
    nationality: str  # ISO 3166 alpha-2, as is the country of residence


@dataclass(frozen=True)
class DemoSeller:
    scenario: str
    username: str
    name: str
    siren_base: str  # France: 8 digits, the 9th is the check digit; else the identifier
    account: str  # France: 11 digits of the sandbox IBAN that selects the scenario
    invoice_prefix: str
    invoices: tuple[DemoInvoice, ...]
    country: str = "FR"
    identifier_type: str = "siren"
    directors: tuple[DemoDirector, ...] = ()

    @property
    def legal_identifier(self) -> str:
        return siren(self.siren_base) if self.country == "FR" else self.siren_base

    @property
    def iban(self) -> str:
        if self.country == "FR":
            return scenario_iban(self.scenario, self.account)
        # A sandbox IBAN of the seller's country, the same at every seeding.
        return generate_iban(self.scenario, random.Random(self.username), self.country)

    @property
    def email(self) -> str:
        return f"{self.username}@example.com"


@dataclass(frozen=True)
class DemoBuyer:
    name: str
    siren_base: str
    # Defacto does not finance invoices to this buyer (set at the sandbox by run_demo).
    refused: bool = False

    @property
    def legal_identifier(self) -> str:
        return siren(self.siren_base)


def _invoices(*lines: tuple[int, int, int, str]) -> tuple[DemoInvoice, ...]:
    return tuple(DemoInvoice(*line) for line in lines)


DEMO_BUYERS = (
    DemoBuyer("Hôtels du Grand Large SA", "41236587"),
    DemoBuyer("Coopérative Agricole du Val de Loire", "39874125"),
    DemoBuyer("Parcs de Loisirs Vallée SAS", "37651942", refused=True),
)

DEMO_SELLERS = (
    DemoSeller(
        SUCCESS,
        "seller-success",
        "Atelier Lumière SAS",
        "81245367",
        "40218765301",
        "ATL",
        _invoices(
            (480_000, 3, 30, "Lobby lighting installation"),
            (1_250_000, 6, 45, "Conference rooms lighting"),
            (2_160_000, 10, 60, "Facade illumination"),
        ),
    ),
    DemoSeller(
        SUCCESS_ONE_DAY_LATER,
        "seller-success-one-day-later",
        "Boulangerie des Quais SARL",
        "82356478",
        "51329876402",
        "BDQ",
        _invoices(
            (312_500, 2, 30, "Breakfast pastries, monthly supply"),
            (645_000, 5, 40, "Bread for the restaurant, quarterly contract"),
            (987_500, 8, 60, "Wedding season catering"),
            (458_000, 4, 45, "Snack kiosks, summer season", 2),
        ),
    ),
    DemoSeller(
        FAIL,
        "seller-fail",
        "Menuiserie Garnier et Fils SARL",
        "83467589",
        "62430987503",
        "MGF",
        _invoices(
            (725_000, 4, 30, "Oak reception desk"),
            (1_480_000, 7, 50, "Guest room wardrobes"),
            (1_960_000, 12, 60, "Restaurant terrace decking"),
        ),
    ),
    DemoSeller(
        REJECT,
        "seller-reject",
        "Transports Rivière Express SAS",
        "84578691",
        "73541098604",
        "TRE",
        _invoices(
            (265_000, 1, 30, "Refrigerated deliveries, week 1"),
            (540_000, 6, 45, "Refrigerated deliveries, weeks 2 to 4"),
            (1_125_000, 9, 60, "Harvest season transport"),
        ),
    ),
    DemoSeller(
        CANCEL,
        "seller-cancel",
        "Studio Céleste Design SAS",
        "85689712",
        "84652109705",
        "SCD",
        _invoices(
            (390_000, 2, 35, "Brand identity workshop"),
            (860_000, 5, 45, "Signage design"),
            (1_320_000, 11, 60, "Website redesign"),
        ),
    ),
    DemoSeller(
        LATE,
        "seller-late",
        "Traiteur Dumas SARL",
        "86790823",
        "95763210806",
        "TDU",
        _invoices(
            (280_000, 3, 30, "Staff canteen, monthly"),
            (610_000, 6, 45, "Gala dinner catering"),
            (1_150_000, 10, 60, "Trade fair catering"),
        ),
    ),
    DemoSeller(
        REVIEW,
        "seller-review",
        "Imprimerie Lenoir SAS",
        "87801934",
        "06740321917",
        "ILE",
        _invoices(
            (240_000, 2, 30, "Catalogue printing"),
            (730_000, 5, 45, "Packaging, spring range"),
            (1_080_000, 9, 60, "Trade fair posters and leaflets"),
        ),
    ),
    DemoSeller(
        SUCCESS,
        "seller-spain",
        "Cerámicas del Sur SL",
        "B76543214",
        "",
        "CDS",
        _invoices(
            (410_000, 3, 30, "Hand-painted tiles, lobby"),
            (930_000, 6, 45, "Terrace flooring"),
            (1_240_000, 9, 60, "Spa mosaics"),
        ),
        country="ES",
        identifier_type="cif",
        # No directors: Defacto asks for them, and the seller gives them on My financing.
    ),
    DemoSeller(
        SUCCESS,
        "seller-germany",
        "Holzwerk Berger GmbH",
        "HRB204817",
        "",
        "HWB",
        _invoices(
            (520_000, 2, 30, "Sauna benches"),
            (880_000, 7, 45, "Oak wall panels"),
            (1_610_000, 10, 60, "Reception furniture"),
        ),
        country="DE",
        identifier_type="hr_nummer",
        directors=(DemoDirector("Anna", "Berger", date(1979, 3, 14), "DE"),),
    ),
    DemoSeller(
        SUCCESS,
        "seller-netherlands",
        "Fietsen van Dijk B.V.",
        "71234567",
        "",
        "FVD",
        _invoices(
            (275_000, 1, 30, "Guest bicycles, rental season"),
            (640_000, 5, 40, "Cargo bikes for deliveries"),
            (1_050_000, 8, 60, "E-bike fleet"),
        ),
        country="NL",
        identifier_type="kvk",
        directors=(DemoDirector("Daan", "van Dijk", date(1985, 9, 2), "NL"),),
    ),
    DemoSeller(
        SUCCESS,
        "seller-belgium",
        "Chocolaterie Lambert SRL",
        "0876543270",
        "",
        "CHL",
        _invoices(
            (330_000, 2, 30, "Welcome chocolates, monthly"),
            (720_000, 4, 45, "Wedding season pralines"),
            (990_000, 11, 60, "Corporate gifts"),
        ),
        country="BE",
        identifier_type="belgium_registration_number",
        directors=(DemoDirector("Louise", "Lambert", date(1982, 6, 21), "BE"),),
    ),
)


@dataclass(frozen=True)
class Login:
    username: str
    password: str
    role: str
    scenario: str = ""
    iban: str = ""


@dataclass
class SeedReport:
    """What seeding created (counts per kind) and the logins of the demo."""

    created: dict[str, int] = field(
        default_factory=lambda: {"users": 0, "sellers": 0, "buyers": 0, "invoices": 0}
    )
    logins: list[Login] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return any(self.created.values())


@transaction.atomic
def seed_demo(today: date | None = None) -> SeedReport:
    """Create whatever demo data is missing; existing objects are left as they are."""
    today = today or timezone.localdate()
    report = SeedReport()
    _ensure_admin(report)
    buyers = [_ensure_buyer(demo, report) for demo in DEMO_BUYERS]
    financed = [buyer for buyer, demo in zip(buyers, DEMO_BUYERS, strict=True) if not demo.refused]
    for demo in DEMO_SELLERS:
        seller = _ensure_seller(demo, report)
        for number, line in enumerate(demo.invoices, start=1):
            if line.buyer is None:
                buyer = financed[(number - 1) % len(financed)]
            else:
                buyer = buyers[line.buyer]
            _ensure_invoice(
                seller, buyer, f"{demo.invoice_prefix}-{number:04d}", line, today, report
            )
    return report


def _ensure_admin(report: SeedReport) -> None:
    users = get_user_model()._default_manager
    if not users.filter(username=ADMIN_USERNAME).exists():
        users.create_superuser(ADMIN_USERNAME, "admin@example.com", ADMIN_PASSWORD)
        report.created["users"] += 1
    report.logins.append(Login(ADMIN_USERNAME, ADMIN_PASSWORD, "staff superuser"))


def _ensure_buyer(demo: DemoBuyer, report: SeedReport) -> Buyer:
    buyer, created = Buyer.objects.get_or_create(
        legal_identifier=demo.legal_identifier, defaults={"name": demo.name}
    )
    report.created["buyers"] += created
    return buyer


def _ensure_seller(demo: DemoSeller, report: SeedReport) -> Seller:
    users = get_user_model()._default_manager
    user = users.filter(username=demo.username).first()
    if user is None:
        user = users.create_user(demo.username, demo.email, SELLER_PASSWORD)
        report.created["users"] += 1
    seller, created = Seller.objects.get_or_create(
        legal_identifier=demo.legal_identifier,
        defaults={
            "user": user,
            "name": demo.name,
            "iban": demo.iban,
            "email": demo.email,
            "country": demo.country,
            "identifier_type": demo.identifier_type,
        },
    )
    report.created["sellers"] += created
    if created:
        for director in demo.directors:
            Director.objects.create(
                seller=seller,
                first_name=director.first_name,
                last_name=director.last_name,
                email=f"{director.first_name.lower()}@example.com",
                birth_date=director.birth_date,
                nationality=director.nationality,
                country_of_residence=director.nationality,
            )
    report.logins.append(
        Login(demo.username, SELLER_PASSWORD, seller.name, demo.scenario, demo.iban)
    )
    return seller


def _ensure_invoice(
    seller: Seller, buyer: Buyer, number: str, line: DemoInvoice, today: date, report: SeedReport
) -> None:
    _, created = Invoice.objects.get_or_create(
        number=number,
        defaults={
            "seller": seller,
            "buyer": buyer,
            "net_amount": line.net_amount,
            "tax_amount": line.net_amount * VAT_PERCENT // 100,
            "issued_on": today - timedelta(days=line.issued_days_ago),
            "due_on": today + timedelta(days=line.due_in_days),
            "description": line.description,
        },
    )
    report.created["invoices"] += created


def refuse_demo_buyers(client: DefactoClient) -> list[str]:
    """Tell the sandbox which demo buyers Defacto does not finance (its
    `POST /sandbox/business-eligible`); returns their names."""
    refused = [demo for demo in DEMO_BUYERS if demo.refused]
    for demo in refused:
        client.sandbox.business_eligible(
            {
                "business_identifier": {
                    "identifier": demo.legal_identifier,
                    "identifier_type": "siren",
                },
                "scenario": "NOT_ELIGIBLE",
            }
        )
    return [demo.name for demo in refused]

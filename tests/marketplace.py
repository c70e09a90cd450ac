"""Sellers, buyers and invoices of the example marketplace, made for tests.

A seller's IBAN selects the sandbox scenario of every loan on its invoices.
"""

from __future__ import annotations

import itertools
from datetime import date, datetime, timedelta

from django.contrib.auth import get_user_model
from django.utils import timezone

from django_defacto.sandbox.scenarios import scenario_iban
from example_project.marketplace.demo_data import siren
from example_project.marketplace.models import Buyer, Invoice, Seller

_numbers = itertools.count(1)


def make_seller(
    scenario: str = "SUCCESS", *, name: str | None = None, language: str = "en"
) -> Seller:
    """A French seller who chose English: what is sent to them later reads in English."""
    number = next(_numbers)
    user = get_user_model().objects.create_user(f"seller{number}", password="pw")
    return Seller.objects.create(
        user=user,
        name=name or f"Seller {number} SAS",
        legal_identifier=siren(f"{80000000 + number:08d}"),
        iban=scenario_iban(scenario, f"{number:011d}"),
        email=f"seller{number}@example.com",
        language=language,
    )


def utc_today() -> date:
    """Today as Defacto counts days, in UTC: in the hour after midnight in the
    marketplace's time zone, the local date is already a day ahead of UTC's."""
    return timezone.now().date()


def just_after_midnight_in_paris() -> datetime:
    """The latest 23:30 UTC: half past midnight in Paris, already tomorrow there."""
    now = timezone.now()
    moment = now.replace(hour=23, minute=30, second=0, microsecond=0)
    return moment - timedelta(days=1) if moment > now else moment


def make_invoice(
    seller: Seller, *, total: int = 150_000, due_in_days: int = 30, currency: str = "EUR"
) -> Invoice:
    number = next(_numbers)
    buyer = Buyer.objects.create(name=f"Buyer {number}", legal_identifier=f"{700000000 + number}")
    tax = total // 6
    today = utc_today()
    return Invoice.objects.create(
        seller=seller,
        buyer=buyer,
        number=f"INV-{number:05d}",
        currency=currency,
        net_amount=total - tax,
        tax_amount=tax,
        issued_on=today - timedelta(days=1),
        due_on=today + timedelta(days=due_in_days),
    )

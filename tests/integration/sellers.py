"""Sellers of the example marketplace enrolled through the services, for integration tests."""

from __future__ import annotations

from django.utils import timezone

from django_defacto.models import Borrower
from django_defacto.sandbox.control import SandboxControl
from django_defacto.services.borrowers import enroll_seller, refresh_borrower, refresh_credit_lines
from example_project.marketplace.models import Seller
from tests.marketplace import make_seller


def ready_seller(
    control: SandboxControl, scenario: str = "SUCCESS", **options
) -> tuple[Seller, Borrower]:
    """A seller enrolled with the terms accepted, whose credit line Defacto has opened
    (3 sandbox seconds after the signature) and the mirror knows."""
    seller = make_seller(scenario, **options)
    borrower = enroll_seller(seller, terms_accepted_at=timezone.now())
    control.advance_clock(5)
    borrower = refresh_borrower(borrower)
    refresh_credit_lines(borrower)
    return seller, borrower

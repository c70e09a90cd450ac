"""What Defacto could not obtain about a seller, and what the seller gives in its place.

When Defacto answers an enrolment with 400 naming data it could not find (often the
directors of a company outside France), the borrower keeps the list
(`Borrower.missing_information`) and needs information. The seller gives it
(`give_information`); it is kept on the borrower (`supplied_information`) so a retry
does not ask again, sent with each attempt where the adapter's profile has nothing, and
cleared once Defacto has enrolled the seller. The enrolment resumed is the same local
row, looked up at Defacto before any re-creation, so a lost answer never enrols twice.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from django.db import transaction
from django.utils.text import capfirst, format_lazy
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from ...adapter import Person
from ...exceptions import EnrollmentIncomplete, InvalidSellerDetails
from ...models import Borrower
from ...support.identifiers import Problem, iban_problem, iso_country
from ..mirror.upserts import update_fields
from .enrolment import borrower_for_seller, enroll_seller
from .supplied import SuppliedInformation, as_json, person_country_problems, residence_country

# Checks -----------------------------------------------------------------------------

# What Defacto needs of a managing director for SEPA direct debit repayments (POST
# /borrowers reference): name, birth date, nationality, email and country of residence.
_DIRECTOR_NEEDS = {
    "first_name": _("the first name"),
    "last_name": _("the last name"),
    "birth_date": _("the birth date"),
    "nationality": _("the nationality"),
    "email": _("the email address"),
    "country_of_residence": _("the country of residence"),
}


def _director_problems(field: str, person: Person) -> list[Problem]:
    """What direct debit needs of a director and is missing, then wrong countries."""
    given = {
        "first_name": person.first_name,
        "last_name": person.last_name,
        "birth_date": person.birth_date,
        "nationality": person.nationality,
        "email": person.email,
        "country_of_residence": residence_country(person),
    }
    problems = [
        Problem(
            f"{field}.{name}",
            capfirst(format_lazy(_("{words} of this director is missing."), words=words)),
        )
        for name, words in _DIRECTOR_NEEDS.items()
        if not given[name]
    ]
    if person.birth_date is not None and person.birth_date >= date.today():
        problems.append(Problem(f"{field}.birth_date", _("The birth date must be in the past.")))
    return problems + person_country_problems(field, person)


def information_problems(information: SuppliedInformation, needed: list[str]) -> list[Problem]:
    """What is missing or wrong in what the seller gives, for the items Defacto asked."""
    problems: list[Problem] = []
    if "directors" in needed and not information.directors:
        problems.append(Problem("directors", _("Give at least one director.")))
    for index, person in enumerate(information.directors):
        problems += _director_problems(f"directors[{index}]", person)
    if "owner" in needed and information.owner is None:
        problems.append(Problem("owner", _("Give the person who subscribes for the company.")))
    if "address" in needed and information.address is None:
        problems.append(Problem("address", _("Give the company's head office address.")))
    office = information.address
    if office is not None and iso_country(office.country, letters=2) is None:
        problems.append(
            Problem(
                "address.country",
                format_lazy(_("{code} is not an ISO 3166 country code."), code=office.country),
            )
        )
    if "account_number" in needed and not information.iban.strip():
        problems.append(Problem("iban", _("The IBAN is missing.")))
    if information.iban.strip():
        problem = iban_problem(information.iban)
        if problem is not None:
            problems.append(problem)
    return problems


def give_information(seller: Any, information: SuppliedInformation) -> Borrower:
    """Keep what the seller gives for the information Defacto asked for, and resume its
    enrolment with it. Raises `InvalidSellerDetails` naming each field that is missing or
    wrong (nothing is kept then), `EnrollmentIncomplete` when the seller has no
    enrolment waiting for information, or when Defacto still needs more (the borrower
    then lists it), and `DefactoUnavailable` when Defacto cannot be reached (what was
    given is kept for the next attempt)."""
    borrower = borrower_for_seller(seller)
    if borrower is None or borrower.is_enrolled:
        raise EnrollmentIncomplete(
            gettext("There is no enrolment waiting for information from this seller.")
        )
    problems = information_problems(information, list(borrower.missing_information))
    if problems:
        raise InvalidSellerDetails.naming(problems)
    with transaction.atomic():
        borrower = Borrower.objects.select_for_update().get(pk=borrower.pk)
        kept = {**(borrower.supplied_information or {}), **as_json(information)}
        update_fields(borrower, supplied_information=kept)
    return enroll_seller(seller, terms_accepted_at=borrower.terms_accepted_at)

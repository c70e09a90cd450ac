"""What a seller gave to complete its enrolment, kept on its borrower row
(`Borrower.supplied_information`, JSON) until Defacto has enrolled it, and the profile
an attempt sends: the adapter's, completed with it where the adapter has nothing."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace
from datetime import date
from typing import Any

from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from ...adapter import Address, Person, SellerProfile
from ...models import Borrower
from ...support.identifiers import Problem, iso_country


@dataclass(frozen=True)
class SuppliedInformation:
    """What the seller gives to complete its enrolment."""

    directors: tuple[Person, ...] = ()
    owner: Person | None = None
    address: Address | None = None
    iban: str = ""


def _fields_of(kind: type[Any], value: dict[str, Any]) -> dict[str, Any]:
    """The items of `value` that are fields of the dataclass `kind` (kept JSON may be
    older or newer than it)."""
    return {field.name: value[field.name] for field in fields(kind) if field.name in value}


def _address_of(value: Any) -> Address | None:
    if not isinstance(value, dict) or not value.get("line1"):
        return None
    return Address(**_fields_of(Address, value))


def _person_json(person: Person | None) -> dict[str, Any] | None:
    if person is None:
        return None
    kept = asdict(person)  # the address too, as a dict
    kept["birth_date"] = person.birth_date.isoformat() if person.birth_date else None
    return kept


def _person_of(value: Any) -> Person | None:
    if not isinstance(value, dict) or not value.get("last_name"):
        return None
    born = value.get("birth_date")
    return Person(
        **{
            **_fields_of(Person, value),
            "birth_date": date.fromisoformat(born) if born else None,
            "address": _address_of(value.get("address")),
        }
    )


def supplied_information(borrower: Borrower) -> SuppliedInformation:
    """What the seller gave, as kept on the borrower."""
    kept = borrower.supplied_information or {}
    directors = tuple(
        person for value in kept.get("directors") or [] if (person := _person_of(value))
    )
    return SuppliedInformation(
        directors=directors,
        owner=_person_of(kept.get("owner")),
        address=_address_of(kept.get("address")),
        iban=str(kept.get("iban") or ""),
    )


def as_json(information: SuppliedInformation) -> dict[str, Any]:
    kept: dict[str, Any] = {
        "directors": [_person_json(person) for person in information.directors],
        "owner": _person_json(information.owner),
        "address": asdict(information.address) if information.address else None,
        "iban": information.iban.replace(" ", "").upper(),
    }
    return {name: value for name, value in kept.items() if value}


def with_supplied(profile: SellerProfile, borrower: Borrower) -> SellerProfile:
    """The adapter's profile, completed with what the seller gave where it has nothing."""
    given = supplied_information(borrower)
    return replace(
        profile,
        directors=profile.directors or given.directors,
        owner=profile.owner or given.owner,
        address=profile.address or given.address,
        iban=profile.iban or given.iban,
    )


def residence_country(person: Person) -> str:
    """Where the person lives: the address's country, else `country_of_residence`."""
    return person.address.country if person.address else person.country_of_residence


def person_country_problems(field: str, person: Person) -> list[Problem]:
    """The countries of `person` (named `field`, e.g. `directors[0]`) that name no country."""
    countries = {
        "nationality": person.nationality,
        "birth_country": person.birth_country,
        "country_of_residence": residence_country(person),
    }
    return [
        Problem(
            f"{field}.{name}",
            format_lazy(
                _("{person}: {code} is not an ISO 3166 country code."),
                person=f"{person.first_name} {person.last_name}".strip(),
                code=code,
            ),
        )
        for name, code in countries.items()
        if code and iso_country(code, letters=3) is None
    ]

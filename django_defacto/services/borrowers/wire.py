"""What POST /borrowers is sent: Defacto's `APIPostBorrower`, written from the adapter's
`SellerProfile` (the adapter describes the seller; the wire format is the package's).

Countries go out as Defacto asks: addresses in two letters, a person's nationality and
birth country in three. The owner, who must be a director too, is added to the directors
when the adapter did not list them there.
"""

from __future__ import annotations

from typing import Any

from ...adapter import Address, Person, SellerProfile
from ...models import Borrower
from ...support.formatting import defacto_moment
from ...support.identifiers import IDENTIFIER_TYPES_BY_COUNTRY, iso_country

# `identifier_type` values POST /borrowers accepts (openapi `APIPostBorrower`).
IDENTIFIER_TYPES = frozenset(
    kind for kinds in IDENTIFIER_TYPES_BY_COUNTRY.values() for kind in kinds
)


def _address(address: Address) -> dict[str, Any]:
    body = {
        "address_line_1": address.line1,
        "city": address.city,
        "postal_code": address.postal_code,
        "country": iso_country(address.country, letters=2) or address.country.upper(),
    }
    if address.line2:
        body["address_line_2"] = address.line2
    if address.state:
        body["state"] = address.state
    return body


def _residence(person: Person) -> dict[str, Any] | None:
    """Where the person lives: the address, or only its country."""
    if person.address is not None:
        return _address(person.address)
    if person.country_of_residence:
        code = person.country_of_residence
        return {"country": iso_country(code, letters=2) or code.upper()}
    return None


def _country3(code: str) -> str | None:
    return iso_country(code, letters=3) if code else None


def _director(person: Person) -> dict[str, Any]:
    body: dict[str, Any] = {
        "first_name": person.first_name,
        "last_name": person.last_name,
        "role": "DIRECTOR" if person.is_director else "NON_DIRECTOR",
    }
    optional = {
        "business_email": person.email,
        "business_phone_number": person.phone,
        "birth_date": person.birth_date.isoformat() if person.birth_date else None,
        "nationality": _country3(person.nationality),
        "title": person.title,
        "address": _residence(person),
    }
    body.update({key: value for key, value in optional.items() if value})
    if person.birth_city or person.birth_country:
        place = {"city": person.birth_city, "country": _country3(person.birth_country)}
        body["birth_place"] = {key: value for key, value in place.items() if value}
    return body


def _owner(person: Person) -> dict[str, Any]:
    body: dict[str, Any] = {"first_name": person.first_name, "last_name": person.last_name}
    optional = {
        "email": person.email,
        "phone_number": person.phone,
        "birth_date": person.birth_date.isoformat() if person.birth_date else None,
    }
    body.update({key: value for key, value in optional.items() if value})
    return body


def _same_person(one: Person, other: Person) -> bool:
    def name(person: Person) -> tuple[str, str]:
        return person.first_name.strip().lower(), person.last_name.strip().lower()

    return name(one) == name(other)


def borrower_creation_body(
    borrower: Borrower, profile: SellerProfile, *, wait_for_ready: bool = False
) -> dict[str, Any]:
    """The body of POST /borrowers for the seller of `borrower` (its local row, which
    holds the identity as enrolled and the terms' acceptance) and its `profile`."""
    body: dict[str, Any] = {"identifier": borrower.identifier}
    if borrower.identifier_type in IDENTIFIER_TYPES:
        body["identifier_type"] = borrower.identifier_type
    if borrower.name:
        body["name"] = borrower.name
    iban = profile.iban.replace(" ", "").upper()
    if iban:
        body["account_number"] = iban
    if borrower.terms_accepted_at is not None:
        body["signed_at"] = defacto_moment(borrower.terms_accepted_at)
    if profile.legal_form:
        body["legal_form"] = profile.legal_form
    if profile.vat_number:
        body["vat_number"] = profile.vat_number.replace(" ", "").upper()
    if profile.address is not None:
        body["address"] = _address(profile.address)
    if profile.preferred_language:
        body["preferred_language"] = profile.preferred_language.lower()
    directors = list(profile.directors)
    if profile.owner is not None:
        body["owner"] = _owner(profile.owner)
        if not any(_same_person(profile.owner, director) for director in directors):
            directors.insert(0, profile.owner)
    if directors:
        body["directors"] = [_director(person) for person in directors]
    if profile.metadata:
        body["metadata"] = dict(profile.metadata)
    if wait_for_ready:
        body["wait_for_ready"] = True
    return body

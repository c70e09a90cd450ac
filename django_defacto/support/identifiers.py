"""A seller's company identifier and bank account, checked before Defacto hears of them.

Defacto lends in France, Spain, Germany, the Netherlands and Belgium, and takes in each
the identifier types of `IDENTIFIER_TYPES_BY_COUNTRY`. Formats and check digits are
python-stdnum's; IBANs are schwifty's (the country's length and structure, and the
check digits of the IBAN itself). An IBAN's national check digits (France's RIB key)
are not checked: Defacto's own sandbox IBANs do not carry valid ones.

Each problem names the field it is about and says what is wrong in words; an IBAN is
shown by its last four characters only, as it is personal data.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pycountry
from django.utils.functional import Promise
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _
from schwifty import BIC, IBAN
from schwifty import exceptions as iban_errors
from stdnum import exceptions as stdnum_errors
from stdnum.be import vat as be_enterprise
from stdnum.de import stnr
from stdnum.es import cif, nif
from stdnum.eu import vat
from stdnum.fr import siren, siret
from stdnum.nl import bsn

#: Defacto's markets, by ISO 3166 alpha-2 code, with the alpha-3 code Defacto also uses.
COUNTRIES = {"FR": "FRA", "ES": "ESP", "DE": "DEU", "NL": "NLD", "BE": "BEL"}

#: The identifier types Defacto takes from a business of each country
#: (`APIPostBorrower.identifier_type`); an EU VAT number is taken everywhere.
IDENTIFIER_TYPES_BY_COUNTRY: dict[str, tuple[str, ...]] = {
    "FR": ("siren", "siret", "vat_number"),
    "ES": ("cif", "nif", "vat_number"),
    "DE": ("hr_nummer", "steuernummer", "vat_number"),
    "NL": ("kvk", "bsn", "vat_number"),
    "BE": ("belgium_registration_number", "vat_number"),
}

# A Handelsregister entry: its register (HRA, HRB, GnR, PR, VR) and number, with no court
# (Defacto takes identifiers without spaces). A KvK number is eight digits. Neither has
# check digits.
_HR_NUMMER = re.compile(r"^(HRA|HRB|GNR|PR|VR)\d{1,6}[A-Z]?$")
_KVK = re.compile(r"^\d{8}$")


@dataclass(frozen=True)
class Problem:
    """What is wrong with one field, in words."""

    field: str
    message: str | Promise


def _pattern(regex: re.Pattern[str]) -> Callable[[str], Any]:
    def validate(value: str) -> str:
        if not regex.match(value.upper()):
            raise stdnum_errors.InvalidFormat()
        return value

    return validate


# What checks each type, and its name in words.
_CHECKS: dict[str, tuple[Callable[[str], Any], Promise]] = {
    "siren": (siren.validate, _("SIREN")),
    "siret": (siret.validate, _("SIRET")),
    "cif": (cif.validate, _("CIF")),
    "nif": (nif.validate, _("NIF")),
    "steuernummer": (stnr.validate, _("Steuernummer")),
    "hr_nummer": (_pattern(_HR_NUMMER), _("Handelsregisternummer")),
    "kvk": (_pattern(_KVK), _("KvK number")),
    "bsn": (bsn.validate, _("BSN")),
    "belgium_registration_number": (be_enterprise.validate, _("enterprise number")),
    "vat_number": (vat.validate, _("VAT number")),
}

_COUNTRY_NAMES = {
    "FR": _("France"),
    "ES": _("Spain"),
    "DE": _("Germany"),
    "NL": _("the Netherlands"),
    "BE": _("Belgium"),
}


def country_code(country: str) -> str:
    """The alpha-2 code of one of Defacto's markets ("FRA" and "fr" are "FR"); any other
    country as given, in capitals."""
    code = (country or "").strip().upper()
    for alpha2, alpha3 in COUNTRIES.items():
        if code == alpha3:
            return alpha2
    return code


def iso_country(code: str, *, letters: int) -> str | None:
    """An ISO 3166 country code ("es", "ESP") as `letters` (2 or 3) capitals, or None
    when it names no country."""
    code = (code or "").strip().upper()
    if len(code) == 2:
        found = pycountry.countries.get(alpha_2=code)
    elif len(code) == 3:
        found = pycountry.countries.get(alpha_3=code)
    else:
        return None
    if found is None:
        return None
    return str(found.alpha_2 if letters == 2 else found.alpha_3)


def _stdnum_words(error: Exception) -> Promise:
    if isinstance(error, stdnum_errors.InvalidChecksum):
        return _("its check digits are wrong")
    if isinstance(error, stdnum_errors.InvalidLength):
        return _("it has the wrong number of characters")
    if isinstance(error, stdnum_errors.InvalidComponent):
        return _("a part of it does not exist")
    return _("it is not written as one")


def identifier_problems(identifier: str, identifier_type: str, country: str) -> list[Problem]:
    """What is wrong with a business identifier of `identifier_type` from `country`
    (nothing when it is valid). An identifier type Defacto does not list is left to
    Defacto."""
    country = country_code(country)
    if not identifier:
        return [Problem("legal_identifier", _("The company identifier is missing."))]
    if " " in identifier.strip():
        return [
            Problem(
                "legal_identifier",
                _("The company identifier must be written without spaces."),
            )
        ]
    allowed = IDENTIFIER_TYPES_BY_COUNTRY.get(country)
    if allowed is None:
        return [
            Problem(
                "country",
                format_lazy(
                    _(
                        "Defacto finances companies of France, Spain, Germany, the Netherlands "
                        "and Belgium, not of {country}."
                    ),
                    country=country or "?",
                ),
            )
        ]
    check = _CHECKS.get(identifier_type)
    if check is None:
        return []
    if identifier_type not in allowed:
        return [
            Problem(
                "identifier_type",
                format_lazy(
                    _("A {kind} is not an identifier of a company of {country}."),
                    kind=check[1],
                    country=_COUNTRY_NAMES[country],
                ),
            )
        ]
    validate, kind = check
    try:
        validate(identifier)
    except stdnum_errors.ValidationError as error:
        return [
            Problem(
                "legal_identifier",
                format_lazy(
                    _("{identifier} is not a valid {kind}: {why}."),
                    identifier=identifier,
                    kind=kind,
                    why=_stdnum_words(error),
                ),
            )
        ]
    if identifier_type == "vat_number" and vat.guess_country(identifier) != [country.lower()]:
        return [
            Problem(
                "legal_identifier",
                format_lazy(
                    _("{identifier} is not a VAT number of {country}."),
                    identifier=identifier,
                    country=_COUNTRY_NAMES[country],
                ),
            )
        ]
    return []


def masked_iban(iban: str) -> str:
    """An IBAN as it may be shown in a message: its last four characters."""
    compact = (iban or "").replace(" ", "")
    return f"…{compact[-4:]}" if len(compact) > 4 else "…"


def iban_problem(iban: str, field: str = "iban") -> Problem | None:
    """What is wrong with an IBAN (None when it is valid)."""
    compact = (iban or "").replace(" ", "").upper()
    if not compact:
        return Problem(field, _("The IBAN is missing."))
    try:
        IBAN(compact)
    except iban_errors.InvalidChecksumDigits:
        why = _("its check digits are wrong")
    except iban_errors.InvalidLength:
        why = _("it has the wrong number of characters for its country")
    except iban_errors.InvalidCountryCode:
        why = _("it does not start with a country code")
    except iban_errors.SchwiftyException:
        why = _("it is not written as one")
    else:
        return None
    return Problem(
        field,
        format_lazy(
            _("The IBAN ending in {end} is not valid: {why}."), end=masked_iban(compact), why=why
        ),
    )


# The BIC Defacto gives with its sandbox IBANs; it names no real bank (schwifty refuses
# its country code), yet Defacto's sandbox takes it.
DEFACTO_SANDBOX_BIC = "FK2FACTO"


def bic_problem(bic: str, field: str = "bic") -> Problem | None:
    """What is wrong with a BIC (None when it is valid, or Defacto's sandbox BIC)."""
    code = (bic or "").replace(" ", "").upper()
    if code == DEFACTO_SANDBOX_BIC:
        return None
    try:
        BIC(code)
    except iban_errors.SchwiftyException:
        return Problem(field, format_lazy(_("{bic} is not a valid BIC."), bic=code or "?"))
    return None

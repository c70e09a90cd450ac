"""Sellers as Defacto borrowers: enrolment and terms acceptance.

Enrolment never creates a second borrower at Defacto: the local row is saved first, and
before any (re-)creation the borrower is looked up by its legal identifier and adopted
when an earlier attempt created it although its answer was lost.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from ...adapter import SellerProfile
from ...client import DefactoError, InvalidRequestError
from ...conf import defacto_settings, get_adapter, get_client
from ...exceptions import (
    BorrowerIdentifierTaken,
    EnrollmentIncomplete,
    InvalidSellerDetails,
    SellerNotFound,
)
from ...models import Borrower
from ...models.statuses import BorrowerStatus
from ...support.formatting import defacto_moment
from ...support.identifiers import Problem, iban_problem, identifier_problems
from .. import host_answers
from ..client_errors import defacto_call, defacto_said, service_error
from ..mirror.apply import apply_borrower
from ..mirror.upserts import update_fields
from .supplied import person_country_problems, with_supplied
from .wire import borrower_creation_body

# What Defacto may say it could not obtain, in words a marketplace operator acts on.
MISSING_ITEMS = {
    "directors": _("the company's directors"),
    "account_number": _("the seller's IBAN, needed for direct debit repayments"),
    "owner": _("the legal representative's details"),
    "address": _("the company's address"),
}


def borrower_for_seller(seller: Any) -> Borrower | None:
    """The seller's local borrower row (enrolled or not), or None (read once per
    `host_answers.asked_once()` block)."""
    return host_answers.borrower_for_seller(seller)


def _local_borrower(
    seller_key: str, profile: SellerProfile, terms_accepted_at: datetime | None
) -> Borrower:
    """Get or create the seller's row, saved before Defacto hears of it. Until it is
    enrolled, the profile may have been corrected since the last attempt: take it again."""
    identity = {
        "identifier": profile.legal_identifier.replace(" ", ""),
        "identifier_type": profile.identifier_type,
        "name": profile.name,
        "email": profile.email,
    }
    with transaction.atomic():
        borrower, created = Borrower.objects.select_for_update().get_or_create(
            seller_key=seller_key, defaults=identity
        )
        changes: dict[str, Any] = {}
        if not created and not borrower.is_enrolled:
            changes.update(
                {
                    name: value
                    for name, value in identity.items()
                    if getattr(borrower, name) != value
                }
            )
        if terms_accepted_at is not None and borrower.terms_accepted_at is None:
            changes["terms_accepted_at"] = terms_accepted_at
        if changes:
            update_fields(borrower, **changes)
    return borrower


def _find_at_defacto(identifier: str) -> dict[str, Any] | None:
    with defacto_call(gettext("look the seller up at Defacto")):
        return get_client().borrowers.list(borrower_identifier=identifier).first()


def _already_exists(error: InvalidRequestError) -> bool:
    return "already exists" in f"{error.title} {error.detail}".lower()


def _missing_item(name: object) -> object:
    """A name Defacto gives in `invalid_params`, in words when it is a known one."""
    return MISSING_ITEMS.get(name, name) if isinstance(name, str) else name


def _incomplete(borrower: Borrower, error: DefactoError) -> EnrollmentIncomplete:
    missing = [str(param.get("name", "")) for param in error.invalid_params if param.get("name")]
    if missing:
        items = "; ".join(
            f"{_missing_item(param.get('name'))} ({param.get('reason', '')})"
            for param in error.invalid_params
        )
        message = gettext("Defacto needs more information to enroll %(seller)s: %(items)s.") % {
            "seller": borrower,
            "items": items,
        }
    else:
        message = gettext("Defacto refused to enroll %(seller)s: %(said)s") % {
            "seller": borrower,
            "said": defacto_said(error),
        }
    # What the seller can give is kept for them to give; anything else (the host's own
    # data) stays in the message for the marketplace to fix.
    givable = [name for name in missing if name in MISSING_ITEMS]
    update_fields(borrower, enrollment_error=message, missing_information=givable)
    return EnrollmentIncomplete(message, missing=missing)


def _people_problems(profile: SellerProfile) -> list[Problem]:
    """Countries of the owner and the directors that name no country."""
    people = [("owner", profile.owner)] if profile.owner is not None else []
    people += [(f"directors[{index}]", person) for index, person in enumerate(profile.directors)]
    return [
        problem
        for name, person in people
        if person is not None
        for problem in person_country_problems(name, person)
    ]


def _check_profile(borrower: Borrower, profile: SellerProfile) -> None:
    """Refuse, before Defacto is asked, a company identifier, an IBAN or a person's
    country that cannot be valid; the reason is kept on the borrower like Defacto's own
    refusals."""
    problems = identifier_problems(borrower.identifier, profile.identifier_type, profile.country)
    if profile.iban.strip():
        problem = iban_problem(profile.iban)
        if problem is not None:
            problems.append(problem)
    problems += _people_problems(profile)
    if not problems:
        return
    message = gettext("%(seller)s cannot be enrolled yet: %(problems)s") % {
        "seller": borrower,
        "problems": " ".join(str(problem.message) for problem in problems),
    }
    update_fields(borrower, enrollment_error=message)
    raise InvalidSellerDetails.naming(problems, message)


def _create_or_adopt(
    borrower: Borrower, profile: SellerProfile, *, wait_for_ready: bool
) -> dict[str, Any]:
    """The borrower's payload at Defacto: found by identifier, or created now."""
    payload = _find_at_defacto(borrower.identifier)
    if payload is not None:
        return payload
    try:
        body = borrower_creation_body(borrower, profile, wait_for_ready=wait_for_ready)
        return get_client().borrowers.create(body)
    except InvalidRequestError as error:
        if _already_exists(error):
            payload = _find_at_defacto(borrower.identifier)
            if payload is not None:
                return payload
        raise _incomplete(borrower, error) from error
    except DefactoError as error:
        if error.outcome_unknown:
            # Defacto may have enrolled it although no answer came: look once more, and
            # otherwise leave it to the next attempt, which looks before creating.
            payload = _find_at_defacto(borrower.identifier)
            if payload is not None:
                return payload
        raise service_error(error, gettext("enroll the seller")) from error


def _adopt(borrower: Borrower, payload: dict[str, Any]) -> Borrower:
    """Make the local row the mirror of Defacto's borrower `payload`."""
    taken = Borrower.objects.filter(defacto_id=str(payload["id"])).exclude(pk=borrower.pk)
    if taken.exists():
        # Two sellers of the marketplace with one legal identifier: Defacto has one
        # borrower for both, and it already belongs to the other seller's row.
        raise BorrowerIdentifierTaken(
            gettext(
                "Another seller of the marketplace is already enrolled at Defacto with the "
                "legal identifier %(identifier)s."
            )
            % {"identifier": borrower.identifier}
        )
    borrower = apply_borrower(payload, local=borrower).instance
    if borrower.enrollment_error or borrower.missing_information or borrower.supplied_information:
        # Enrolled: nothing is missing any more, and what the seller gave for it (personal
        # data of its directors) is not kept beyond its use.
        update_fields(
            borrower, enrollment_error="", missing_information=[], supplied_information={}
        )
    return borrower


def enroll_seller(
    seller: Any,
    *,
    terms_accepted_at: datetime | None = None,
    wait_for_ready: bool | None = None,
) -> Borrower:
    """Enroll `seller` at Defacto (or adopt the borrower Defacto already has) and return
    its local row. With `terms_accepted_at`, the seller's acceptance of Defacto's terms is
    recorded and sent as the signature, so the credit line can open. With
    `wait_for_ready` (default: the `WAIT_FOR_READY` setting) Defacto answers once the
    borrower can request a first loan (4 to 8 s), instead of at once.

    Raises `InvalidSellerDetails` when the company identifier or the IBAN cannot be valid
    (before any call), `EnrollmentIncomplete` (whose message names what is missing) when
    Defacto needs more data, `DefactoUnavailable` when it could not be reached.
    """
    adapter = get_adapter()
    profile = adapter.seller_profile(seller)
    borrower = _local_borrower(adapter.seller_key(seller), profile, terms_accepted_at)
    if not borrower.is_enrolled:
        profile = with_supplied(profile, borrower)
        _check_profile(borrower, profile)
        if wait_for_ready is None:
            wait_for_ready = defacto_settings().wait_for_ready
        payload = _create_or_adopt(borrower, profile, wait_for_ready=wait_for_ready)
        borrower = _adopt(borrower, payload)
    if borrower.terms_accepted_at is not None and borrower.status == BorrowerStatus.TO_SIGN:
        # Adopted unsigned, or enrolled before the seller accepted the terms.
        borrower = record_terms_acceptance(borrower, borrower.terms_accepted_at)
    return borrower


def record_terms_acceptance(borrower: Borrower, accepted_at: datetime | None = None) -> Borrower:
    """Record that the seller accepted Defacto's terms (now, unless `accepted_at`) and sign
    at Defacto (POST /borrower/{id}/sign). A borrower not enrolled yet is enrolled with
    the signature when its seller can still be found."""
    accepted_at = accepted_at or timezone.now()
    with transaction.atomic():
        borrower = Borrower.objects.select_for_update().get(pk=borrower.pk)
        if borrower.terms_accepted_at != accepted_at:
            update_fields(borrower, terms_accepted_at=accepted_at)
    if not borrower.defacto_id:  # not enrolled yet
        seller = get_adapter().get_seller(borrower.seller_key)
        return enroll_seller(seller) if seller is not None else borrower
    if borrower.status != BorrowerStatus.TO_SIGN and borrower.signed_at is not None:
        return borrower
    with defacto_call(gettext("sign Defacto's terms for the seller")):
        payload = get_client().borrowers.sign(
            borrower.defacto_id, {"signed_at": defacto_moment(accepted_at)}
        )
    return apply_borrower(payload, local=borrower).instance


def refresh_borrower(borrower: Borrower) -> Borrower:
    """The borrower as Defacto has it now; one not enrolled yet is adopted if Defacto knows
    its identifier (an enrolment whose answer was lost)."""
    if borrower.defacto_id:  # enrolled
        with defacto_call(gettext("refresh the seller from Defacto")):
            payload = get_client().borrowers.get(borrower.defacto_id)
    else:
        found = _find_at_defacto(borrower.identifier)
        if found is None:
            return borrower
        return _adopt(borrower, found)
    return apply_borrower(payload, local=borrower).instance


def enroll_borrower(borrower: Borrower) -> Borrower:
    """Enroll a Borrower row that is not enrolled yet (e.g. after a failed attempt),
    from the marketplace's seller it names, keeping any recorded T&C acceptance."""
    seller = get_adapter().get_seller(borrower.seller_key)
    if seller is None:
        raise SellerNotFound(
            gettext("The marketplace no longer knows this seller (%(key)s).")
            % {"key": borrower.seller_key}
        )
    return enroll_seller(seller, terms_accepted_at=borrower.terms_accepted_at)

"""The borrower's contract with Defacto: a link Defacto pre-signs and lets expire, so it is
asked for each time someone opens the contract and never stored (the mirror drops it
from the payloads it keeps, `Borrower.transient_fields`)."""

from __future__ import annotations

from django.utils.translation import gettext

from ...conf import get_client
from ...models import Borrower
from ..client_errors import defacto_call


def contract_link(borrower: Borrower | None) -> str | None:
    """A fresh link to the borrower's contract (GET /borrower/{id}), or None while it has
    none: not enrolled yet, or the terms not signed. Raises `DefactoUnavailable` when
    Defacto cannot be reached."""
    if borrower is None or not borrower.is_enrolled:
        return None
    with defacto_call(gettext("fetch the seller's contract")):
        payload = get_client().borrowers.get(str(borrower.defacto_id))
    link = payload.get("contract_s3_url")
    return str(link) if link else None

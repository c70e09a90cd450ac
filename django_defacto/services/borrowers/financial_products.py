"""The financial products a seller borrows under (`GET /borrower/{id}/financial-products`).

Most sellers have one, and a loan then names none: Defacto uses it. A seller with several
must name one per loan (`borrower_financial_product_id`; `loans.products` chooses it).
The list is kept on the borrower, refreshed with its credit lines and on Defacto's
notifications about them, so a loan request reads it from the row it already has.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from django.utils.translation import gettext

from ...conf import get_client
from ...models import Borrower
from ..client_errors import defacto_call
from ..mirror.upserts import update_fields


@dataclass(frozen=True)
class FinancialProduct:
    id: str
    name: str
    product_type: str
    can_request_loan: bool
    # The installment plans it offers: "IN_FINE" (repaid in one go), "INSTALLMENTS".
    installment_types: tuple[str, ...] = ("IN_FINE",)


def _product(payload: dict[str, Any]) -> FinancialProduct:
    product = payload.get("financial_product") or {}
    installments = (product.get("configuration") or {}).get("installments") or {}
    return FinancialProduct(
        id=str(payload.get("id") or ""),
        name=str(product.get("name") or ""),
        product_type=str(product.get("product_type") or ""),
        can_request_loan=bool(payload.get("can_request_loan")),
        installment_types=tuple(installments.get("available_types") or ("IN_FINE",)),
    )


def refresh_financial_products(borrower: Borrower) -> list[FinancialProduct]:
    """Ask Defacto for the seller's products and keep them on the borrower."""
    if not borrower.is_enrolled:
        return []
    with defacto_call(gettext("read the seller's financial products")):
        pages = get_client().borrowers.financial_products(str(borrower.defacto_id))
        products = [_product(item) for item in pages.get("data") or []]
    kept = [asdict(product) for product in products]
    if kept != borrower.financial_products:
        update_fields(borrower, financial_products=kept)
    return products


def financial_products(borrower: Borrower | None) -> list[FinancialProduct]:
    """The seller's products as last listed by Defacto (no request)."""
    if borrower is None:
        return []
    return [
        FinancialProduct(**{**item, "installment_types": tuple(item["installment_types"])})
        for item in borrower.financial_products or []
        if isinstance(item, dict) and item.get("id")
    ]


def products_to_choose_from(borrower: Borrower | None) -> list[FinancialProduct]:
    """The products a loan can be asked under now, when the seller has several (a seller
    with one never chooses)."""
    products = financial_products(borrower)
    if len(products) < 2:
        return []
    return [product for product in products if product.can_request_loan]

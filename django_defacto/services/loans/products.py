"""Which of the seller's financial products a loan uses, when the seller has several: the
one the seller chose (the "Cash in now" dialog and the seller API offer the choice), else
the adapter's `financial_product`, else `DEFACTO["FINANCIAL_PRODUCT"]` (an id, a name or
a product type); with none of them, the seller is asked to choose."""

from __future__ import annotations

from typing import Any

from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from ...conf import defacto_settings, get_adapter
from ...models import Borrower
from ..borrowers.financial_products import (
    FinancialProduct,
    financial_products,
    products_to_choose_from,
)
from ..borrowers.status import Reason


def _configured(products: list[FinancialProduct]) -> FinancialProduct | None:
    wanted = defacto_settings().financial_product
    if not wanted:
        return None
    return next(
        (
            product
            for product in products
            if wanted in (product.id, product.name, product.product_type)
        ),
        None,
    )


def loan_product(
    borrower: Borrower, seller: Any, host_invoice: Any, chosen: str = ""
) -> tuple[str, list[Reason]]:
    """The id of the product the loan uses ("" to let Defacto use the seller's only one),
    or the reason there is none."""
    usable = products_to_choose_from(borrower)
    if not usable:
        return "", []
    if chosen:
        for product in usable:
            if product.id == chosen:
                return product.id, []
        return "", [
            Reason(
                "financial_product_unknown",
                _("The chosen way to finance is not available to the seller."),
            )
        ]
    picked = get_adapter().financial_product(seller, host_invoice, usable) or _configured(usable)
    if picked is not None:
        return picked.id, []
    names = ", ".join(product.name for product in usable)
    return "", [
        Reason(
            "financial_product_required",
            format_lazy(_("Choose how to finance this invoice: {names}."), names=names),
        )
    ]


def loan_product_of(borrower: Borrower | None, product_id: str) -> FinancialProduct | None:
    """The product a loan uses: the one chosen, else the seller's only one (None when
    Defacto has not listed the seller's products)."""
    products = financial_products(borrower)
    if product_id:
        return next((product for product in products if product.id == product_id), None)
    return products[0] if len(products) == 1 else None

"""Sellers as Defacto borrowers: enrolment and the terms (`enrolment`, with the body
Defacto is sent in `wire`), credit lines (`credit_lines`), financial products
(`financial_products`), the sales history shared to raise the limit
(`sales_history`), and the seller's financing status with what still stands
between the seller and "Cash in now" (`status`)."""

from .contract import contract_link
from .credit_lines import (
    credit_lines_of,
    current_credit_line,
    refresh_borrower_and_credit_lines,
    refresh_credit_lines,
)
from .enrolment import (
    MISSING_ITEMS,
    borrower_for_seller,
    enroll_borrower,
    enroll_seller,
    record_terms_acceptance,
    refresh_borrower,
)
from .financial_products import (
    FinancialProduct,
    financial_products,
    products_to_choose_from,
    refresh_financial_products,
)
from .information import give_information, information_problems
from .repayment import RepaymentMethod, choose_repayment_method, repayment_methods
from .sales_history import (
    SalesHistoryReport,
    SalesHistorySharing,
    SalesHistoryUnavailable,
    consent_for_seller,
    give_consent,
    revoke_consent,
    sales_history_offered,
    sales_history_sharing,
    share_all_sales_histories,
    share_sales_history,
)
from .status import (
    ACTIVATING,
    INFORMATION_NEEDED,
    NOT_ENROLLED,
    TO_ENROL,
    Financing,
    Reason,
    borrower_reasons,
    enroll_with_terms,
    financing_for_seller,
    information_needed,
    missing_items,
    onboarding_step,
)
from .supplied import SuppliedInformation, supplied_information
from .terms import terms_url, terms_url_for_seller
from .wire import IDENTIFIER_TYPES, borrower_creation_body

__all__ = [
    "ACTIVATING",
    "IDENTIFIER_TYPES",
    "INFORMATION_NEEDED",
    "MISSING_ITEMS",
    "NOT_ENROLLED",
    "TO_ENROL",
    "FinancialProduct",
    "Financing",
    "Reason",
    "RepaymentMethod",
    "SalesHistoryReport",
    "SalesHistorySharing",
    "SalesHistoryUnavailable",
    "SuppliedInformation",
    "borrower_creation_body",
    "borrower_for_seller",
    "borrower_reasons",
    "choose_repayment_method",
    "consent_for_seller",
    "contract_link",
    "credit_lines_of",
    "current_credit_line",
    "enroll_borrower",
    "enroll_seller",
    "enroll_with_terms",
    "financial_products",
    "financing_for_seller",
    "give_consent",
    "give_information",
    "information_needed",
    "information_problems",
    "missing_items",
    "onboarding_step",
    "products_to_choose_from",
    "record_terms_acceptance",
    "refresh_borrower",
    "refresh_borrower_and_credit_lines",
    "refresh_credit_lines",
    "refresh_financial_products",
    "repayment_methods",
    "revoke_consent",
    "sales_history_offered",
    "sales_history_sharing",
    "share_all_sales_histories",
    "share_sales_history",
    "supplied_information",
    "terms_url",
    "terms_url_for_seller",
]

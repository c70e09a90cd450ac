"""How the host marketplace plugs in: one adapter class named in `DEFACTO["ADAPTER"]`.

Subclass `MarketplaceAdapter` and implement the methods marked "required"; the others
have defaults that suit most Django marketplaces. Host objects are never referenced by a
foreign key: the app stores a string key that the adapter writes (`seller_key`,
`invoice_key`) and reads back (`get_seller`, `get_invoice`). The default key is
`"app_label.model:pk"`, which survives any primary key type.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from django.apps import apps
from django.core.mail import send_mail
from django.db import models
from django.urls import reverse

if TYPE_CHECKING:
    from .models import Loan


@dataclass(frozen=True)
class Address:
    """A postal address; `country` is an ISO 3166 code ("ES" or "ESP")."""

    line1: str
    postal_code: str
    city: str
    country: str
    line2: str = ""
    state: str = ""


@dataclass(frozen=True)
class Person:
    """A director of the seller's company, or its owner (the person who subscribes on the
    company's behalf, who must be one of its directors too). Countries are ISO 3166 codes
    ("ES" or "ESP"); the country of residence is `address.country`, or
    `country_of_residence` when the address is not known."""

    first_name: str
    last_name: str
    email: str = ""
    phone: str = ""
    birth_date: date | None = None
    birth_city: str = ""
    birth_country: str = ""
    nationality: str = ""
    address: Address | None = None  # where the person lives
    country_of_residence: str = ""  # when the full address is not known
    title: str = ""  # "M.", "Dr."...
    is_director: bool = True  # False: a person Defacto should know who is not a director


@dataclass(frozen=True)
class SellerProfile:
    """What Defacto needs to know about a seller to enroll it as a borrower. Beyond the
    first fields, everything is optional: Defacto finds what it can itself, mostly in
    France, and says what it could not obtain (repayment by direct debit needs the
    managing director's name, birth date, nationality, email and country of residence,
    and the IBAN)."""

    legal_identifier: str  # SIREN, SIRET, NIF, KvK, VAT number... (spaces are removed)
    identifier_type: str  # "siren", "siret", "nif", "kvk", "vat_number", ...
    name: str
    iban: str  # where the seller is paid
    email: str
    phone: str = ""
    country: str = "FR"  # ISO 3166, "FR" or "FRA"
    legal_form: str = ""  # "SAS", "SL", "GmbH", "B.V."...
    vat_number: str = ""
    address: Address | None = None  # the head office
    preferred_language: str = ""  # ISO 639-1: "fr", "es", "de", "nl", "en"
    owner: Person | None = None
    directors: tuple[Person, ...] = ()
    metadata: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class Buyer:
    identifier: str
    identifier_type: str
    name: str


def currency_code(currency: Any) -> str:
    """A currency as Defacto writes it: the ISO 4217 code in capitals ("eur " is "EUR")."""
    return str(currency or "").strip().upper()


@dataclass(frozen=True)
class InvoiceDetails:
    """A host invoice as Defacto wants it; amounts in integer cents. The currency is
    normalised on the way in (`currency_code`), so the eligibility check, the quote, the
    loan request and the invoice sent to Defacto all read it the same way."""

    number: str
    currency: str
    total_amount: int
    issued_at: datetime
    due_at: datetime
    buyer: Buyer
    payee_iban: str  # the account the buyer pays, as printed on the invoice
    net_amount: int | None = None
    tax_amount: int | None = None
    to_pay_amount: int | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "currency", currency_code(self.currency))


@dataclass(frozen=True)
class SalesInvoice:
    """One invoice of the seller's sales history, as shared with Defacto to refine its
    credit line; amounts in integer cents. `reference` names the invoice for good (it is
    Defacto's `salt_id` and the key that keeps it from being sent twice); `to_pay_amount`
    is what the buyer still owes, 0 once paid."""

    reference: str
    number: str
    currency: str
    net_amount: int
    total_amount: int
    issued_at: datetime
    due_at: datetime
    buyer: Buyer
    to_pay_amount: int
    tax_amount: int | None = None
    paid_at: datetime | None = None  # when the buyer paid the last of it

    def __post_init__(self) -> None:
        object.__setattr__(self, "currency", currency_code(self.currency))

    @property
    def is_paid(self) -> bool:
        return self.to_pay_amount == 0


@dataclass(frozen=True)
class SellerNotification:
    """Something a seller should hear about, in words, with what to do next."""

    kind: str  # "loan_approved", "loan_declined", "loan_canceled", "loan_payment_issue"
    subject: str
    message: str
    loan: Loan | None = None
    # The same for every attempt to send this notification: a channel that stores or
    # sends by this key tells the seller once even when the sending is tried again.
    key: str = ""
    # The language the subject and message are written in ("es"); "" for the site's.
    language: str = ""


def model_key(instance: models.Model) -> str:
    """`"app_label.model:pk"`: a reference to any model instance, without a foreign key."""
    return f"{instance._meta.label_lower}:{instance.pk}"


def instance_for_key(key: str) -> models.Model | None:
    """The instance a `model_key` names, or None when it no longer exists."""
    label, _, pk = key.partition(":")
    try:
        model = apps.get_model(label)
    except (LookupError, ValueError):
        return None
    return model._default_manager.filter(pk=pk).first()


class MarketplaceAdapter:
    """The bridge between the host marketplace and django-defacto."""

    # ---- sellers -------------------------------------------------------------------

    def seller_for_user(self, user: Any) -> Any | None:
        """Required: the seller (borrower owner) `user` acts for, or None."""
        raise NotImplementedError("MarketplaceAdapter.seller_for_user")

    def seller_profile(self, seller: Any) -> SellerProfile:
        """Required: the seller's legal identity, IBAN and contact."""
        raise NotImplementedError("MarketplaceAdapter.seller_profile")

    def seller_language(self, seller: Any) -> str:
        """The language (ISO 639-1) what reaches the seller later is written in: the
        notification of a decision that came after the request. By default the profile's
        `preferred_language`; "" writes it in the site's language."""
        return self.seller_profile(seller).preferred_language

    def financial_product(self, seller: Any, invoice: Any, products: list[Any]) -> Any | None:
        """Which of the seller's financial products finances `invoice`, for a seller with
        several (`products`: `FinancialProduct`s a loan can be asked under now); None lets
        `DEFACTO["FINANCIAL_PRODUCT"]`, else the seller, choose."""
        return None

    def seller_key(self, seller: Any) -> str:
        """A stable string naming the seller; stored on the Borrower."""
        return model_key(seller)

    def get_seller(self, key: str) -> Any | None:
        return instance_for_key(key)

    def enrollable_sellers(self) -> Iterable[Any]:
        """Optional: the sellers operations staff may enroll from the admin ("Enroll a
        seller"). `str(seller)` labels each one. By default none, which hides the page's
        choices until the marketplace lists its sellers here."""
        return ()

    # ---- invoices ------------------------------------------------------------------

    def invoice_seller(self, invoice: Any) -> Any:
        """Required: the seller who issued `invoice` (and would borrow against it)."""
        raise NotImplementedError("MarketplaceAdapter.invoice_seller")

    def invoice_details(self, invoice: Any) -> InvoiceDetails:
        """Required: the invoice's number, amounts, dates, buyer and payee IBAN. Called for
        every eligibility check, so keep it cheap: the PDF comes from `invoice_pdf`."""
        raise NotImplementedError("MarketplaceAdapter.invoice_details")

    def invoice_pdf(self, invoice: Any) -> bytes:
        """Required: the invoice's PDF, sent to Defacto only with a loan request."""
        raise NotImplementedError("MarketplaceAdapter.invoice_pdf")

    def invoice_key(self, invoice: Any) -> str:
        return model_key(invoice)

    def get_invoice(self, key: str) -> Any | None:
        return instance_for_key(key)

    def financeable_invoices(self, seller: Any | None = None) -> Iterable[Any]:
        """Optional: the invoices operations staff may finance from the admin ("Cash in
        now for a marketplace invoice"), of `seller` when given, else of every seller;
        `str(invoice)` labels each one. Eligibility is checked afterwards, so this may
        simply list unpaid invoices. By default none."""
        return ()

    def invoice_payload(self, invoice: Any) -> dict[str, Any]:
        """Deprecated: django-defacto writes Defacto's format itself
        (`django_defacto.services.invoice_item`). Overriding it still works, with a
        DeprecationWarning, until a later minor version."""
        from .services.loans.wire import invoice_creation

        warnings.warn(
            "MarketplaceAdapter.invoice_payload is deprecated: use "
            "django_defacto.services.invoice_item(invoice).",
            DeprecationWarning,
            stacklevel=2,
        )
        details = self.invoice_details(invoice)
        seller = self.seller_profile(self.invoice_seller(invoice))
        return invoice_creation(details, seller, self.invoice_pdf(invoice))

    # ---- sales history ---------------------------------------------------------------

    def sales_history(self, seller: Any, since: datetime) -> Iterable[SalesInvoice]:
        """Optional: the invoices `seller` issued to its buyers since `since`, paid or not,
        shared with Defacto (once the seller consents) to raise its credit line. Not
        overriding it leaves the feature off. Yielding lazily keeps a long history out
        of memory; each invoice is sent once its outcome is known (paid, or due)."""
        raise NotImplementedError("MarketplaceAdapter.sales_history")

    @property
    def shares_sales_history(self) -> bool:
        """Whether this adapter yields a sales history (it overrides `sales_history`)."""
        return type(self).sales_history is not MarketplaceAdapter.sales_history

    # ---- pages ---------------------------------------------------------------------

    def enrolment_url(self, seller: Any) -> str:
        """Optional: the marketplace's page where `seller` enrols with Defacto (accepts its
        terms) and follows its enrolment. `{% cash_in_now_button %}` links there from an
        invoice of a seller not enrolled yet ("Get paid today: activate financing with
        Defacto") or whose enrolment is under way. By default "", which shows none of it."""
        return ""

    def loan_page_url(self, loan: Loan) -> str:
        """Optional: the marketplace's page of one of the seller's loans, where the seller
        lands after repaying it on Defacto's page (with the outcome as a message). By
        default the seller API's loan (JSON); point it at your own page."""
        return reverse("django_defacto:api-loan", args=[loan.pk])

    # ---- notifications ---------------------------------------------------------------

    def notify_seller(self, seller: Any, notification: SellerNotification) -> None:
        """Tell the seller something happened; by default an email to the profile's
        address through Django's default mailer: `MAILERS["default"]` on Django 6.1+
        (Django warns at each send while a project has no `MAILERS`), `EMAIL_BACKEND`
        before."""
        email = self.seller_profile(seller).email
        if email:
            send_mail(notification.subject, notification.message, None, [email])

"""The marketplace's side of django-defacto: who sells, what an invoice looks like."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime, time
from typing import Any

from django.urls import reverse
from django.utils import timezone

from django_defacto.adapter import Buyer as DefactoBuyer
from django_defacto.adapter import (
    InvoiceDetails,
    Person,
    SalesInvoice,
    SellerNotification,
    SellerProfile,
)
from django_defacto.adapter import MarketplaceAdapter as BaseAdapter
from django_defacto.models import Loan

from .invoice_pdf import invoice_pdf
from .models import Invoice, Notification, Seller

# The language Defacto writes to a seller in, by the seller's country, until the seller
# chooses one.
LANGUAGES = {"FR": "fr", "ES": "es", "DE": "de", "NL": "nl", "BE": "fr"}


def _buyer(invoice: Invoice) -> DefactoBuyer:
    return DefactoBuyer(
        identifier=invoice.buyer.legal_identifier,
        identifier_type=invoice.buyer.identifier_type,
        name=invoice.buyer.name,
    )


def _noon(day: Any) -> datetime:
    return timezone.make_aware(datetime.combine(day, time(12)))


class MarketplaceAdapter(BaseAdapter):
    def seller_for_user(self, user: Any) -> Seller | None:
        if not getattr(user, "is_authenticated", False):
            return None
        return Seller.objects.filter(user=user).first()

    def seller_profile(self, seller: Seller) -> SellerProfile:
        directors = tuple(
            Person(
                first_name=director.first_name,
                last_name=director.last_name,
                email=director.email,
                birth_date=director.birth_date,
                nationality=director.nationality,
                country_of_residence=director.country_of_residence,
            )
            for director in seller.directors.all()
        )
        return SellerProfile(
            legal_identifier=seller.legal_identifier,
            identifier_type=seller.identifier_type,
            name=seller.name,
            iban=seller.iban,
            email=seller.email,
            country=seller.country,
            preferred_language=seller.language or LANGUAGES.get(seller.country, ""),
            directors=directors,
        )

    def enrollable_sellers(self) -> Iterable[Seller]:
        return Seller.objects.order_by("name")

    def financeable_invoices(self, seller: Seller | None = None) -> Iterable[Invoice]:
        # Invoices not yet due: the buyer has not paid them, so they can be financed.
        invoices = Invoice.objects.select_related("seller").filter(due_on__gt=timezone.localdate())
        if seller is not None:
            invoices = invoices.filter(seller=seller)
        return invoices.order_by("-issued_on", "number")

    def get_invoice(self, key: str) -> Invoice | None:
        # Eligibility reads the invoice's seller and buyer too: one query for all three.
        if not key.startswith(f"{Invoice._meta.label_lower}:"):
            return super().get_invoice(key)
        pk = key.partition(":")[2]
        return Invoice.objects.select_related("seller", "buyer").filter(pk=pk).first()

    def invoice_seller(self, invoice: Invoice) -> Seller:
        return invoice.seller

    def invoice_details(self, invoice: Invoice) -> InvoiceDetails:
        return InvoiceDetails(
            number=invoice.number,
            currency=invoice.currency,
            total_amount=invoice.total_amount,
            net_amount=invoice.net_amount,
            tax_amount=invoice.tax_amount,
            issued_at=_noon(invoice.issued_on),
            due_at=_noon(invoice.due_on),
            buyer=_buyer(invoice),
            payee_iban=invoice.seller.iban,
        )

    def sales_history(self, seller: Seller, since: datetime) -> Iterator[SalesInvoice]:
        invoices = (
            Invoice.objects.filter(seller=seller, issued_on__gte=timezone.localdate(since))
            .select_related("buyer")
            .order_by("issued_on", "pk")
        )
        for invoice in invoices.iterator():
            yield SalesInvoice(
                reference=self.invoice_key(invoice),
                number=invoice.number,
                currency=invoice.currency,
                net_amount=invoice.net_amount,
                tax_amount=invoice.tax_amount,
                total_amount=invoice.total_amount,
                issued_at=_noon(invoice.issued_on),
                due_at=_noon(invoice.due_on),
                buyer=_buyer(invoice),
                to_pay_amount=0 if invoice.paid_on else invoice.total_amount,
                paid_at=_noon(invoice.paid_on) if invoice.paid_on else None,
            )

    def invoice_pdf(self, invoice: Invoice) -> bytes:
        return invoice_pdf(invoice)

    def enrolment_url(self, seller: Seller) -> str:
        # My financing: the terms to accept, then the enrolment's progress.
        return reverse("marketplace:financing")

    def loan_page_url(self, loan: Loan) -> str:
        return reverse("marketplace:loan", args=[loan.pk])

    def notify_seller(self, seller: Seller, notification: SellerNotification) -> None:
        """Keep the message for the seller's notifications page, then email it, each
        once per notification key whatever is tried again: the in-app message exactly
        once, the email at most once. The email is claimed (`emailed_at`) before the mail
        server is called and the claim is given back if sending fails, so a worker
        killed mid-send never emails twice, and a failing email never undoes the
        in-app message (nothing here runs in a transaction)."""
        message, _ = Notification.objects.get_or_create(
            key=notification.key or None,
            defaults={
                "seller": seller,
                "kind": notification.kind,
                "subject": notification.subject,
                "message": notification.message,
                "loan_id": str(notification.loan.pk) if notification.loan is not None else "",
            },
        )
        claimed = Notification.objects.filter(pk=message.pk, emailed_at__isnull=True).update(
            emailed_at=timezone.now()
        )
        if not claimed:
            return
        try:
            super().notify_seller(seller, notification)
        except Exception:
            Notification.objects.filter(pk=message.pk).update(emailed_at=None)
            raise

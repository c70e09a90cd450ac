"""The example marketplace's own models in the admin, with each invoice's PDF."""

from __future__ import annotations

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html
from django.utils.http import content_disposition_header

from .invoice_pdf import invoice_pdf
from .models import Buyer, Director, Invoice, Seller


def euros(cents: int | None) -> str:
    if cents is None:
        return "-"
    return f"{cents // 100:,}.{cents % 100:02d}".replace(",", "\u202f")


class InvoiceInline(admin.TabularInline):
    model = Invoice
    extra = 0
    fields = ("number", "buyer", "net_amount", "tax_amount", "issued_on", "due_on")
    show_change_link = True


class DirectorInline(admin.TabularInline):
    model = Director
    extra = 0


@admin.register(Seller)
class SellerAdmin(admin.ModelAdmin):
    list_display = ("name", "country", "legal_identifier", "iban", "email", "user")
    search_fields = ("name", "legal_identifier", "email", "user__username")
    list_select_related = ("user",)
    raw_id_fields = ("user",)
    inlines = (DirectorInline, InvoiceInline)


@admin.register(Buyer)
class BuyerAdmin(admin.ModelAdmin):
    list_display = ("name", "legal_identifier", "identifier_type")
    search_fields = ("name", "legal_identifier")


@admin.register(Invoice)
class InvoiceAdmin(admin.ModelAdmin):
    list_display = (
        "number",
        "seller",
        "buyer",
        "total",
        "currency",
        "issued_on",
        "due_on",
        "pdf_link",
    )
    list_filter = ("currency", "due_on", "seller")
    search_fields = ("number", "seller__name", "buyer__name", "description")
    list_select_related = ("seller", "buyer")
    date_hierarchy = "issued_on"
    readonly_fields = ("total", "pdf_link")

    @admin.display(description="total")
    def total(self, invoice: Invoice) -> str:
        return euros(invoice.total_amount)

    @admin.display(description="PDF")
    def pdf_link(self, invoice: Invoice) -> str:
        if invoice.pk is None:
            return "-"
        url = reverse("admin:marketplace_invoice_pdf", args=[invoice.pk])
        return format_html('<a href="{}">{}.pdf</a>', url, invoice.number)

    def get_urls(self) -> list[URLPattern]:
        pdf = path(
            "<path:object_id>/pdf/",
            self.admin_site.admin_view(self.pdf_view),
            name="marketplace_invoice_pdf",
        )
        return [pdf, *super().get_urls()]

    def pdf_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """The invoice's PDF, as sent to Defacto with a loan request."""
        if not self.has_view_or_change_permission(request):
            raise PermissionDenied
        try:
            invoice = get_object_or_404(
                Invoice.objects.select_related("seller", "buyer"), pk=object_id
            )
        except (ValueError, TypeError):
            raise Http404 from None
        response = HttpResponse(invoice_pdf(invoice), content_type="application/pdf")
        response["Content-Disposition"] = content_disposition_header(False, f"{invoice.number}.pdf")
        return response

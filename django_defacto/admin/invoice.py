"""Invoices in the admin: Defacto's copies of marketplace invoices, and "Cash in now" for
a marketplace invoice: choose it, see the quote (amount, cost, repayment date), confirm."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.formats import number_format
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from ..adapter import MarketplaceAdapter
from ..conf import get_adapter
from ..exceptions import DefactoServiceError, InvalidInstallments, NotEligible
from ..models import Invoice, Loan, LoanStatus
from ..services import loans as loan_services
from ..support.formatting import money
from . import display
from .actions import CONFIRMED
from .base import MirrorAdmin, MirrorInline
from .forms import CashInForm
from .loan import loan_status_badge, outcome_in_words

CASH_IN_URL_NAME = "django_defacto_invoice_cash_in"


def invoice_label(adapter: MarketplaceAdapter, invoice: Any) -> str:
    return gettext("%(invoice)s, %(seller)s") % {
        "invoice": invoice,
        "seller": adapter.invoice_seller(invoice),
    }


def reasons_in_words(reasons: list[Any]) -> str:
    # A reason is a `Reason` or a `(code, message)` pair; both unpack the same way.
    return " ".join(str(message) for _code, message in reasons)


def quote_in_words(quote: Any) -> dict[str, Any]:
    if quote is None:
        return {}
    cost = "" if quote.cost is None else money(quote.cost, quote.currency)
    # 0.07000 as "0.07": the rate as Defacto states it, a percentage per day.
    rate = "" if quote.daily_rate is None else number_format(quote.daily_rate.normalize())
    return {
        "quote_amount": money(quote.amount, quote.currency),
        "cost": cost,
        "daily_rate": rate,
        "schedule": [
            (step.due_on, money(step.amount, quote.currency)) for step in quote.installments
        ],
    }


class LoanInline(MirrorInline):
    model = Loan
    fk_name = "invoice"
    fields = ("loan_link", "status_badge", "amount_display", "requested_at", "to_repay_at")
    verbose_name_plural = _("loans on this invoice")

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request.user.has_perm("django_defacto.view_loan")

    @admin.display(description=_("loan"))
    def loan_link(self, loan: Loan) -> SafeString:
        url = reverse("admin:django_defacto_loan_change", args=[loan.pk])
        return format_html('<a href="{}">{}</a>', url, loan)

    @admin.display(description=_("status"))
    def status_badge(self, loan: Loan) -> SafeString:
        return loan_status_badge(loan)

    @admin.display(description=_("amount"))
    def amount_display(self, loan: Loan) -> str:
        return money(loan.amount, loan.currency)


@admin.register(Invoice)
class InvoiceAdmin(MirrorAdmin):
    list_display = (
        "__str__",
        "seller",
        "status_badge",
        "total_display",
        "to_pay_display",
        "issued_at",
        "due_at",
        "buyer_name",
    )
    list_select_related = ("borrower",)
    list_filter = ("status", "currency")
    search_fields = (
        "invoice_number",
        "defacto_id",
        "invoice_key",
        "buyer_name",
        "buyer_identifier",
        "borrower__name",
        "borrower__identifier",
    )
    inlines = (LoanInline,)
    fieldsets = (
        (
            None,
            {
                "fields": (
                    "invoice_number",
                    "invoice_key",
                    "defacto_id",
                    "borrower",
                    "status_badge",
                    "status_reason",
                )
            },
        ),
        (
            _("Amounts and dates"),
            {
                "fields": (
                    "total_display",
                    "to_pay_display",
                    "net_amount",
                    "tax_amount",
                    "issued_at",
                    "due_at",
                )
            },
        ),
        (_("Buyer"), {"fields": ("buyer_name", "buyer_identifier", "payee_iban", "synced_at")}),
    )

    @admin.display(description=_("seller"), ordering="borrower__name")
    def seller(self, invoice: Invoice) -> str:
        return str(invoice.borrower) if invoice.borrower else ""

    @admin.display(description=_("status"), ordering="status")
    def status_badge(self, invoice: Invoice) -> SafeString:
        label = invoice.get_status_display() or invoice.status
        return display.badge(display.invoice_family(invoice.status), label)

    @admin.display(description=_("total"), ordering="total_amount")
    def total_display(self, invoice: Invoice) -> str:
        return money(invoice.total_amount, invoice.currency)

    @admin.display(description=_("left to pay"))
    def to_pay_display(self, invoice: Invoice) -> str:
        return money(invoice.to_pay_amount, invoice.currency)

    # ---- "Cash in now for a marketplace invoice" ------------------------------------

    def get_urls(self) -> list[URLPattern]:
        cash_in = path(
            "cash-in/", self.admin_site.admin_view(self.cash_in_view), name=CASH_IN_URL_NAME
        )
        return [cash_in, *super().get_urls()]

    def has_request_loan_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("django_defacto.request_loan")

    def cash_in_view(self, request: HttpRequest) -> HttpResponse:
        """Choose a marketplace invoice, see the quote or why it cannot be financed, then
        confirm: the loan is requested for the staff member."""
        if not self.has_request_loan_permission(request):
            raise PermissionDenied
        adapter = get_adapter()
        invoices = {
            adapter.invoice_key(invoice): invoice for invoice in adapter.financeable_invoices()
        }
        choices = [(key, invoice_label(adapter, invoice)) for key, invoice in invoices.items()]
        form = CashInForm(request.POST or None, invoices=choices)
        if request.method == "POST" and form.is_valid():
            host_invoice = invoices[form.cleaned_data["invoice"]]
            if request.POST.get("confirm") == CONFIRMED:
                return self._request_loan(request, host_invoice, form)
            try:
                eligibility = loan_services.check_eligibility(
                    host_invoice,
                    to_repay_at=form.to_repay_at,
                    installments=form.cleaned_data.get("installments"),
                )
            except DefactoServiceError as error:
                self.message_user(request, error.message, messages.ERROR)
            else:
                return self._cash_in_page(
                    request,
                    form,
                    "confirm",
                    invoice=host_invoice,
                    invoice_label=invoice_label(adapter, host_invoice),
                    eligibility=eligibility,
                    quote=eligibility.quote,
                    **quote_in_words(eligibility.quote),
                )
        return self._cash_in_page(request, form, "choose", has_invoices=bool(choices))

    def _request_loan(
        self, request: HttpRequest, host_invoice: Any, form: CashInForm
    ) -> HttpResponse:
        retry = HttpResponseRedirect(reverse(f"admin:{CASH_IN_URL_NAME}"))
        try:
            loan = loan_services.cash_in_now(
                host_invoice,
                requested_by=request.user,
                to_repay_at=form.to_repay_at,
                installments=form.cleaned_data.get("installments"),
            )
        except (NotEligible, InvalidInstallments) as error:
            reasons = error.reasons if isinstance(error, NotEligible) else []
            self.message_user(
                request,
                gettext("Invoice %(invoice)s cannot be financed: %(reasons)s")
                % {
                    "invoice": host_invoice,
                    "reasons": reasons_in_words(reasons) or error.message,
                },
                messages.ERROR,
            )
            return retry
        except DefactoServiceError as error:
            self.message_user(request, error.message, messages.ERROR)
            return retry
        declined = loan.status in (LoanStatus.DECLINED, LoanStatus.REQUEST_FAILED)
        self.message_user(
            request,
            gettext("Loan requested for invoice %(invoice)s: %(outcome)s.")
            % {"invoice": host_invoice, "outcome": outcome_in_words(loan)},
            messages.WARNING if declined else messages.SUCCESS,
        )
        return HttpResponseRedirect(reverse("admin:django_defacto_loan_change", args=[loan.pk]))

    def _cash_in_page(
        self, request: HttpRequest, form: CashInForm, step: str, **extra: Any
    ) -> TemplateResponse:
        context = {
            **self.admin_site.each_context(request),
            "title": gettext("Cash in now for a marketplace invoice"),
            "opts": self.opts,
            "form": form,
            "step": step,
            "media": self.media + form.media,
            **extra,
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(
            request, f"admin/django_defacto/invoice/cash_in_{step}.html", context
        )

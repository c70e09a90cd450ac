"""Loans in the admin: the operations console's main list, and the actions staff take on
a loan (validate, cancel, refresh, change its repayment date), each through its service."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import gettext, ngettext, pgettext
from django.utils.translation import gettext_lazy as _

from ..api.returns import early_repayment_callback
from ..exceptions import DefactoServiceError
from ..models import EarlyRepayment, Loan, LoanEvent, Payment
from ..presentation import installment_progress
from ..services import loans as loan_services
from ..services.loans import denial_reasons, early_repayment
from ..services.loans.overdue import OVERDUE_STATUSES
from ..support.formatting import day_of, moment_of, money
from ..tasks.bulk_actions import (
    cancel_loans,
    change_repayment_dates,
    refresh_loans,
    settle_loan_requests,
    validate_loans,
)
from . import display
from .actions import BulkAction, confirm_and_run, status_now
from .base import MirrorInline
from .dashboard import DASHBOARD_URL_NAME, dashboard_view
from .exports import ExportableAdmin, period_export_urls
from .forms import RepaymentDateForm


def reason_in_words(loan: Loan) -> str:
    """Defacto's words for the loan's denial code: kept on the loan, else asked once per
    code and period (the service answers, without raising, when Defacto is down)."""
    return denial_reasons.loan_denial_text(loan, ask_defacto=True) if loan.denial_reason else ""


def loan_status_badge(loan: Loan) -> SafeString:
    return display.badge(
        display.loan_family(loan.status), loan.get_status_display(), title=loan.status
    )


def outcome_in_words(loan: Loan) -> str:
    """A loan's state after an action, as staff read it in the action's report."""
    text = status_now(loan)
    if loan.denial_reason:
        text = f"{text} ({reason_in_words(loan)})"
    if loan.request_outcome_unknown:
        text = gettext("%(status)s; Defacto's answer was lost and will be checked again") % {
            "status": text
        }
    return text


def _repayment_outcome(loan: Loan) -> str:
    if loan.to_repay_at is None:
        return status_now(loan)
    return gettext("to repay on %(date)s") % {
        "date": date_format(timezone.localtime(loan.to_repay_at), "DATE_FORMAT")
    }


def _new_repayment_date(data: dict[str, Any]) -> dict[str, Any]:
    return {"to_repay_at": moment_of(data["to_repay_on"]).isoformat()}


VALIDATE = BulkAction(
    name="validate_selected",
    title=_("Validate loans"),
    intro=_(
        "Give the seller's consent to Defacto's offer for these loans; Defacto then pays "
        "the seller. Only loans approved and awaiting consent can be validated."
    ),
    button=_("Yes, validate them"),
    run=lambda loan, data: loan_services.validate_loan(loan),
    outcome=outcome_in_words,
    task=validate_loans,
)
CANCEL = BulkAction(
    name="cancel_selected",
    title=_("Cancel loans"),
    intro=_(
        "Cancel these loans at Defacto. Defacto accepts a cancellation only before the "
        "money is sent to the seller; the invoice can then be financed again."
    ),
    button=_("Yes, cancel them"),
    run=lambda loan, data: loan_services.cancel_loan(loan),
    outcome=outcome_in_words,
    task=cancel_loans,
)
REFRESH = BulkAction(
    name="refresh_selected",
    title=_("Refresh loans from Defacto"),
    intro=_(
        "Read these loans, their activity log and their payments again from Defacto. "
        "Nothing changes at Defacto."
    ),
    button=_("Refresh them"),
    run=lambda loan, data: loan_services.refresh_loan(loan),
    outcome=outcome_in_words,
    task=refresh_loans,
)
SETTLE = BulkAction(
    name="settle_selected",
    title=_("Settle loan requests with Defacto"),
    intro=_(
        "These requests have no answer from Defacto yet: the answer was lost or the web "
        "process that sent them died. Each is sent again with its salt id (Defacto returns "
        "the loan it made, never a second one) and, when that fails, looked for among the "
        "seller's loans at Defacto. A request Defacto neither answers nor lists is released "
        "(Request failed) and its invoice can be financed again."
    ),
    button=_("Settle them"),
    run=lambda loan, data: loan_services.settle_loan_request(loan, release_if_absent=True),
    outcome=outcome_in_words,
    task=settle_loan_requests,
)
CHANGE_REPAYMENT_DATE = BulkAction(
    name="change_repayment_date_selected",
    title=_("Change the repayment date"),
    intro=_(
        "Ask Defacto to move the repayment date of these loans. The financing cost changes "
        "with the number of days."
    ),
    button=_("Change the date"),
    form_class=RepaymentDateForm,
    run=lambda loan, data: loan_services.change_repayment_date(
        loan, moment_of(data["to_repay_on"])
    ),
    outcome=_repayment_outcome,
    task=change_repayment_dates,
    task_kwargs=_new_repayment_date,
)


REPAY_NOW_URL_NAME = "django_defacto_loan_repay_now"
REPAY_NOW_TEMPLATE = "admin/django_defacto/loan/repay_now.html"


class LoanEventInline(MirrorInline):
    model = LoanEvent
    fields = ("timestamp", "status", "transition_name")
    ordering = ("timestamp", "id")
    verbose_name_plural = _("activity log")


class PaymentInline(MirrorInline):
    model = Payment
    fk_name = "loan"
    fields = (
        "defacto_id",
        "payment_type",
        "payment_method",
        "status_badge",
        "amount_display",
        "scheduled_at",
        "paid_at",
        "failure_reason",
    )

    @admin.display(description=_("status"))
    def status_badge(self, payment: Payment) -> SafeString:
        return display.badge(
            display.payment_family(payment.status), payment.get_status_display() or "-"
        )

    @admin.display(description=_("amount"))
    def amount_display(self, payment: Payment) -> str:
        return money(payment.amount, payment.currency)


class OverdueFilter(admin.SimpleListFilter):
    """Loans still unpaid after their repayment day."""

    title = _("overdue")
    parameter_name = "overdue"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        return [("yes", gettext("Yes"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() == "yes":
            return queryset.filter(overdue_since__isnull=False, status__in=OVERDUE_STATUSES)
        return queryset


@admin.register(Loan)
class LoanAdmin(ExportableAdmin):
    list_display = (
        "reference",
        "status_badge",
        "amount_display",
        "seller",
        "invoice_number",
        "requested_at",
        "decided_at",
        "denial_reason_in_words",
        "overdue_for",
        "outcome_marker",
    )
    list_select_related = ("borrower", "invoice")
    list_filter = (
        OverdueFilter,
        "status",
        ("borrower", admin.RelatedOnlyFieldListFilter),
        "requested_at",
        "request_outcome_unknown",
    )
    search_fields = (
        "defacto_id",
        "salt_id",
        "invoice__invoice_number",
        "borrower__name",
        "borrower__identifier",
        "borrower_identifier",
    )
    inlines = (LoanEventInline, PaymentInline)
    actions = (
        "validate_selected",
        "cancel_selected",
        "refresh_selected",
        "settle_selected",
        "change_repayment_date_selected",
    )
    fieldsets = (
        (
            None,
            {
                "fields": (
                    "defacto_id",
                    "salt_id",
                    "status_badge",
                    "outcome_marker",
                    "borrower",
                    "invoice",
                    "amount_display",
                    "fees_display",
                    "to_pay_at",
                    "to_repay_at",
                )
            },
        ),
        (
            _("Request"),
            {
                "fields": (
                    "requested_by",
                    "requested_at",
                    "wait_for_validation",
                    "request_outcome_unknown",
                    "request_error",
                )
            },
        ),
        (
            _("Decision and payment"),
            {
                "fields": (
                    "submitted_at",
                    "decided_at",
                    "denial_reason",
                    "denial_reason_in_words",
                    "paid_at",
                    "closed_at",
                )
            },
        ),
        (
            _("Repayment"),
            {
                "fields": (
                    "repayment_iban",
                    "repayment_references",
                    "repaid_display",
                    "installments_display",
                    "early_repayment_link",
                    "overdue_since",
                    "overdue_for",
                )
            },
        ),
        (
            _("Follow-up"),
            {
                "classes": ("collapse",),
                "fields": (
                    "seller_notified_status",
                    "seller_notified_at",
                    "seller_notify_retry_at",
                    "seller_notify_attempts",
                    "next_poll_at",
                    "answer_due_by",
                    "synced_at",
                ),
            },
        ),
    )

    @admin.display(description=_("installments"))
    def installments_display(self, loan: Loan) -> SafeString | str:
        progress = installment_progress(loan)
        if not progress:
            return gettext("Repaid in one go")
        labels = {
            "paid": pgettext("installment", "paid"),
            "due": pgettext("installment", "to pay"),
            "late": pgettext("installment", "late"),
        }
        rows = format_html_join(
            "",
            '<tr class="defacto-installment--{}"><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>',
            (
                (
                    step["status"],
                    date_format(step["due_on"], "DATE_FORMAT"),
                    money(step["amount"], loan.currency),
                    money(step["paid_amount"], loan.currency),
                    labels[step["status"]],
                )
                for step in progress
            ),
        )
        return format_html(
            '<table class="defacto-installments"><thead><tr><th>{}</th><th>{}</th>'
            "<th>{}</th><th>{}</th></tr></thead><tbody>{}</tbody></table>",
            gettext("due on"),
            gettext("amount"),
            gettext("paid so far"),
            gettext("status"),
            rows,
        )

    @admin.display(description=_("repay now"))
    def early_repayment_link(self, loan: Loan) -> SafeString | str:
        """The payment link handed out now, if fresh, and the page that makes one."""
        row = EarlyRepayment.objects.filter(loan=loan).first()
        fresh = row is not None and row.is_fresh(timezone.now(), early_repayment.link_lifetime())
        parts = []
        if fresh:
            assert row is not None
            parts.append(
                format_html(
                    '<a href="{}" rel="noreferrer">{}</a>',
                    row.url,
                    gettext("Payment link for %(amount)s")
                    % {"amount": money(row.amount, row.currency)},
                )
            )
        if early_repayment.can_repay_now(loan):
            url = reverse(f"admin:{REPAY_NOW_URL_NAME}", args=[loan.pk])
            parts.append(format_html('<a href="{}">{}</a>', url, gettext("Repay now")))
        if not parts:
            return "-"
        return format_html(" · ".join(["{}"] * len(parts)), *parts)

    def get_urls(self) -> list[URLPattern]:
        repay_now = path(
            "<uuid:pk>/repay-now/",
            self.admin_site.admin_view(self.repay_now_view),
            name=REPAY_NOW_URL_NAME,
        )
        dashboard = path(
            "dashboard/",
            self.admin_site.admin_view(lambda request: dashboard_view(self, request)),
            name=DASHBOARD_URL_NAME,
        )
        return [repay_now, dashboard, *period_export_urls(self), *super().get_urls()]

    def repay_now_view(self, request: HttpRequest, pk: Any) -> HttpResponse:
        """Staff get the loan's payment link (to open, or to forward to the seller): the
        same page the seller's "Repay now" leads to, written to the loan's history."""
        loan = self.get_object(request, str(pk))
        if loan is None or not self.has_start_early_repayment_permission(request):
            raise PermissionDenied
        back = reverse("admin:django_defacto_loan_change", args=[loan.pk])
        link = None
        if request.method == "POST":
            try:
                link = loan_services.start_early_repayment(
                    loan,
                    callback_url=early_repayment_callback(request, loan),
                    requested_by=request.user,
                )
            except DefactoServiceError as error:
                self.message_user(request, error.message, messages.ERROR)
                return TemplateResponse(
                    request, REPAY_NOW_TEMPLATE, self._repay_now_context(request, loan, back, None)
                )
            if not link.reused:
                self.log_change(
                    request,
                    loan,
                    gettext("Payment link to repay now: %(amount)s")
                    % {"amount": money(link.amount, link.currency)},
                )
        return TemplateResponse(
            request, REPAY_NOW_TEMPLATE, self._repay_now_context(request, loan, back, link)
        )

    def _repay_now_context(
        self, request: HttpRequest, loan: Loan, back: str, link: Any
    ) -> dict[str, Any]:
        return {
            **self.admin_site.each_context(request),
            "title": gettext("Repay %(loan)s now") % {"loan": loan},
            "opts": self.opts,
            "original": loan,
            "loan": loan,
            "link": link,
            "amount": money(link.amount, link.currency) if link else "",
            "back": back,
            "media": self.media,
        }

    def has_start_early_repayment_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("django_defacto.start_early_repayment")

    @admin.display(description=_("loan"), ordering="defacto_id")
    def reference(self, loan: Loan) -> SafeString:
        # The first characters tell loans apart in a list; the full id is in the tooltip
        # and on the change page.
        full = str(loan)
        short = (loan.defacto_id or str(loan.pk))[:8]
        return format_html('<span title="{}">{}</span>', full, short)

    @admin.display(description=_("status"), ordering="status")
    def status_badge(self, loan: Loan) -> SafeString:
        return loan_status_badge(loan)

    @admin.display(description=_("amount"), ordering="amount")
    def amount_display(self, loan: Loan) -> str:
        return money(loan.amount, loan.currency)

    @admin.display(description=_("estimated fees"))
    def fees_display(self, loan: Loan) -> str:
        return money(loan.fees_estimated, loan.currency)

    @admin.display(description=_("repaid"))
    def repaid_display(self, loan: Loan) -> str:
        return money(loan.repaid_amount, loan.currency)

    @admin.display(description=_("seller"), ordering="borrower__name")
    def seller(self, loan: Loan) -> str:
        return str(loan.borrower) if loan.borrower else loan.borrower_identifier

    @admin.display(description=_("invoice"), ordering="invoice__invoice_number")
    def invoice_number(self, loan: Loan) -> str:
        return str(loan.invoice) if loan.invoice else ""

    @admin.display(description=_("overdue"), ordering="overdue_since")
    def overdue_for(self, loan: Loan) -> str:
        """How long the loan has been unpaid past its repayment day."""
        if loan.overdue_since is None or loan.status not in OVERDUE_STATUSES:
            return ""
        days = (timezone.localdate() - (day_of(loan.to_repay_at) or timezone.localdate())).days
        return ngettext("%(days)d day late", "%(days)d days late", days) % {"days": days}

    @admin.display(description=_("denial reason in words"))
    def denial_reason_in_words(self, loan: Loan) -> str:
        return reason_in_words(loan)

    @admin.display(description=_("outcome"))
    def outcome_marker(self, loan: Loan) -> SafeString | str:
        if not loan.request_outcome_unknown:
            return ""
        return display.badge(
            display.ISSUE,
            gettext("Outcome unknown"),
            title=gettext("Defacto's answer to the request was lost; it is checked again."),
        )

    def action_row_label(self, loan: Loan) -> str:
        if loan.invoice_id is not None and loan.invoice is not None:
            return gettext("Loan %(loan)s (invoice %(invoice)s)") % {
                "loan": loan,
                "invoice": loan.invoice,
            }
        return gettext("Loan %(loan)s") % {"loan": loan}

    # ---- actions: confirmation page, one service call per loan, a report per loan -----

    @admin.action(description=_("Validate (seller's consent)"), permissions=["validate_loan"])
    def validate_selected(
        self, request: HttpRequest, queryset: QuerySet
    ) -> TemplateResponse | None:
        return confirm_and_run(self, request, queryset, VALIDATE)

    @admin.action(description=_("Cancel before disbursement"), permissions=["cancel_loan"])
    def cancel_selected(self, request: HttpRequest, queryset: QuerySet) -> TemplateResponse | None:
        return confirm_and_run(self, request, queryset, CANCEL)

    @admin.action(description=_("Refresh from Defacto"), permissions=["refresh_loan"])
    def refresh_selected(self, request: HttpRequest, queryset: QuerySet) -> TemplateResponse | None:
        return confirm_and_run(self, request, queryset, REFRESH)

    @admin.action(
        description=_("Settle requests without an answer"), permissions=["settle_loan_request"]
    )
    def settle_selected(self, request: HttpRequest, queryset: QuerySet) -> TemplateResponse | None:
        return confirm_and_run(self, request, queryset, SETTLE)

    @admin.action(description=_("Change the repayment date"), permissions=["change_repayment_date"])
    def change_repayment_date_selected(
        self, request: HttpRequest, queryset: QuerySet
    ) -> TemplateResponse | None:
        return confirm_and_run(self, request, queryset, CHANGE_REPAYMENT_DATE)

    def has_validate_loan_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("django_defacto.validate_loan")

    def has_cancel_loan_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("django_defacto.cancel_loan")

    def has_refresh_loan_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("django_defacto.refresh_loan")

    def has_settle_loan_request_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("django_defacto.settle_loan_request")

    def has_change_repayment_date_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("django_defacto.change_repayment_date")

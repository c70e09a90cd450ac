"""Credit lines, payments and bills: Defacto's figures, shown as they were last synced."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.safestring import SafeString
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from ..conf import defacto_settings
from ..models import Bill, CreditLine, Payment
from ..services import bills as bill_services
from ..support.formatting import moment_of, money
from ..tasks.bulk_actions import mark_bills_sent
from . import display
from .actions import BulkAction, confirm_and_run
from .base import MirrorAdmin
from .exports import ExportableAdmin
from .forms import MarkBillSentForm


@admin.register(CreditLine)
class CreditLineAdmin(MirrorAdmin):
    list_display = (
        "__str__",
        "borrower",
        "pool_display",
        "used_display",
        "available_display",
        "pending_display",
        "fees_daily_rate",
        "start_date",
        "end_date",
    )
    list_select_related = ("borrower",)
    list_filter = ("currency", "end_date")
    search_fields = ("contract_number", "defacto_id", "borrower_identifier", "borrower__name")

    @admin.display(description=_("limit"), ordering="pool_amount")
    def pool_display(self, line: CreditLine) -> str:
        return money(line.pool_amount, line.currency)

    @admin.display(description=_("used"))
    def used_display(self, line: CreditLine) -> str:
        return money(line.used_amount, line.currency)

    @admin.display(description=_("available"), ordering="balance_available")
    def available_display(self, line: CreditLine) -> str:
        return money(line.balance_available, line.currency)

    @admin.display(description=_("pending"))
    def pending_display(self, line: CreditLine) -> str:
        return money(line.balance_pending + line.balance_pending_validation, line.currency)


@admin.register(Payment)
class PaymentAdmin(ExportableAdmin):
    list_display = (
        "defacto_id",
        "loan",
        "payment_type",
        "status_badge",
        "amount_display",
        "scheduled_at",
        "paid_at",
        "failure_reason",
    )
    list_select_related = ("loan",)
    list_filter = ("status", "payment_type")
    search_fields = ("defacto_id", "loan_defacto_id", "loan__salt_id")

    @admin.display(description=_("status"), ordering="status")
    def status_badge(self, payment: Payment) -> SafeString:
        label = payment.get_status_display() or "-"
        return display.badge(display.payment_family(payment.status), label)

    @admin.display(description=_("amount"), ordering="amount")
    def amount_display(self, payment: Payment) -> str:
        return money(payment.amount, payment.currency)


def _sent_outcome(sent: bill_services.BillSent) -> str:
    day = sent.bill.email_sent_to_payer_on
    when = date_format(timezone.localtime(day), "DATE_FORMAT") if day else "-"
    if sent.told_defacto:
        return gettext("Defacto is told it was sent on %(day)s") % {"day": when}
    return gettext("already sent on %(day)s; Defacto was not told again") % {"day": when}


def _history(sent: bill_services.BillSent) -> str | None:
    return bill_services.sent_in_words(sent) if sent.told_defacto else None


MARK_SENT = BulkAction(
    name="mark_sent_selected",
    title=_("Mark bills sent to the sellers"),
    intro=_(
        "Tell Defacto the marketplace sent these bills to the sellers, so that Defacto "
        "collects them. Only validated bills can be sent; one already sent is left alone."
    ),
    button=_("Yes, they were sent"),
    form_class=MarkBillSentForm,
    run=lambda bill, data: bill_services.mark_bill_sent(
        bill,
        sent_on=moment_of(data["sent_on"]),
        to_email_addresses=data["to_email_addresses"],
    ),
    outcome=_sent_outcome,
    history=_history,
    task=mark_bills_sent,
    task_kwargs=lambda data: {
        "sent_on": moment_of(data["sent_on"]).isoformat(),
        "to_email_addresses": data["to_email_addresses"],
    },
)


@admin.register(Bill)
class BillAdmin(ExportableAdmin):
    list_display = (
        "__str__",
        "borrower",
        "status_badge",
        "amount_display",
        "start_date",
        "end_date",
        "due_date",
        "email_sent_to_payer_on",
    )
    list_select_related = ("borrower",)
    list_filter = ("status", "start_date")
    search_fields = ("invoice_number", "defacto_id", "business_identifier", "borrower__name")
    actions = ["mark_sent_selected"]

    @admin.action(description=_("Mark sent to the seller"), permissions=["mark_bill_sent"])
    def mark_sent_selected(
        self, request: HttpRequest, queryset: QuerySet
    ) -> TemplateResponse | None:
        return confirm_and_run(self, request, queryset, MARK_SENT)

    def has_mark_bill_sent_permission(self, request: HttpRequest) -> bool:
        # When Defacto sends the bills itself there is nothing to tell it: no action.
        return defacto_settings().marketplace_sends_bills and request.user.has_perm(
            "django_defacto.mark_bill_sent"
        )

    @admin.display(description=_("status"), ordering="status")
    def status_badge(self, bill: Bill) -> SafeString:
        return display.badge(display.bill_family(bill.status), bill.get_status_display())

    @admin.display(description=_("amount to pay"), ordering="to_pay_amount")
    def amount_display(self, bill: Bill) -> str:
        return money(bill.to_pay_amount, bill.currency)

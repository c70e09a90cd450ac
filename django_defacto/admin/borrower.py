"""Borrowers in the admin: sellers enrolled (or being enrolled) with Defacto, their credit
line at a glance, and the page where staff enroll a marketplace seller."""

from __future__ import annotations

from typing import TYPE_CHECKING, TypedDict

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import F, OuterRef, Q, QuerySet, Subquery
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from ..conf import get_adapter
from ..exceptions import DefactoServiceError, InvalidSellerDetails, SellerNotFound
from ..models import Borrower, CreditLine, RepaymentKind
from ..services import borrowers as borrower_services
from ..support.formatting import money
from ..tasks.bulk_actions import enroll_borrowers, record_terms_acceptances, refresh_borrowers
from . import display
from .actions import BulkAction, confirm_and_run, status_now
from .base import MirrorAdmin
from .forms import EnrollSellerForm, RepaymentMethodForm, TermsAcceptanceForm

if TYPE_CHECKING:
    from django_stubs_ext import WithAnnotations

ENROLL_URL_NAME = "django_defacto_borrower_enroll"
CONTRACT_URL_NAME = "django_defacto_borrower_contract"
REPAYMENT_URL_NAME = "django_defacto_borrower_repayment_method"


def _accepted_now(data: dict) -> dict:
    return {"accepted_at": timezone.now().isoformat()}


ENROLL = BulkAction(
    name="enroll_selected",
    title=_("Enroll sellers with Defacto"),
    intro=_(
        "Send these sellers to Defacto as borrowers. Sellers already enrolled are left as "
        "they are; a seller whose terms acceptance is recorded is signed at once."
    ),
    button=_("Enroll them"),
    run=lambda borrower, data: borrower_services.enroll_borrower(borrower),
    task=enroll_borrowers,
)
RECORD_TERMS = BulkAction(
    name="record_terms_selected",
    title=_("Record the acceptance of Defacto's terms"),
    intro=_(
        "Record that these sellers accepted Defacto's terms today and sign them at Defacto, "
        "which then opens their credit line."
    ),
    button=_("Record and sign"),
    form_class=TermsAcceptanceForm,
    run=lambda borrower, data: borrower_services.record_terms_acceptance(borrower),
    task=record_terms_acceptances,
    task_kwargs=_accepted_now,
)


def _refresh_outcome(borrower: Borrower) -> str:
    line = borrower_services.current_credit_line(borrower)
    if line is None:
        return gettext("%(status)s; no credit line yet") % {"status": status_now(borrower)}
    return gettext("%(status)s; credit line %(used)s used, %(available)s available") % {
        "status": status_now(borrower),
        "used": money(line.used_amount, line.currency),
        "available": money(line.balance_available, line.currency),
    }


REFRESH = BulkAction(
    name="refresh_selected",
    title=_("Refresh sellers and credit lines from Defacto"),
    intro=_(
        "Read these sellers' status and credit lines again from Defacto. Nothing changes "
        "at Defacto."
    ),
    button=_("Refresh them"),
    run=lambda borrower, data: borrower_services.refresh_borrower_and_credit_lines(borrower),
    outcome=_refresh_outcome,
    task=refresh_borrowers,
)


class _CurrentLine(TypedDict):
    """The columns `current_line_columns` adds: all None when there is no current line."""

    line_pool_amount: int | None
    # Read only once `line_pool_amount` is known not to be None, and then set too.
    line_balance_available: int
    line_currency: str


def current_line_columns() -> dict[str, Subquery]:
    """The current credit line's figures as annotations, one query for the whole page.
    Same choice as `borrowers.current_credit_line`: the latest line not expired, linked to
    the borrower or only naming its identifier."""
    now = timezone.now()
    lines = (
        CreditLine.objects.filter(
            Q(borrower=OuterRef("pk"))
            | Q(borrower__isnull=True, borrower_identifier=OuterRef("identifier"))
        )
        .filter(Q(end_date__isnull=True) | Q(end_date__gt=now))
        .order_by(F("start_date").desc(nulls_last=True), "-pk")
    )
    return {
        f"line_{name}": Subquery(lines.values(name)[:1])
        for name in ("pool_amount", "balance_available", "currency")
    }


class InformationNeededFilter(admin.SimpleListFilter):
    """Sellers whose enrolment waits for information Defacto could not obtain."""

    title = _("information needed")
    parameter_name = "information_needed"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        return [("yes", gettext("Yes")), ("no", gettext("No"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        waiting = Q(defacto_id__isnull=True) & ~Q(missing_information=[])
        if self.value() == "yes":
            return queryset.filter(waiting)
        if self.value() == "no":
            return queryset.exclude(waiting)
        return queryset


@admin.register(Borrower)
class BorrowerAdmin(MirrorAdmin):
    list_display = (
        "__str__",
        "identifier",
        "status_badge",
        "credit_line",
        "terms_accepted_at",
        "signed_at",
        "enrollment_error",
    )
    list_filter = ("status", InformationNeededFilter)
    search_fields = ("name", "identifier", "seller_key", "defacto_id", "email")
    actions = ("enroll_selected", "record_terms_selected", "refresh_selected")
    fieldsets = (
        (
            None,
            {
                "fields": (
                    "name",
                    "identifier",
                    "identifier_type",
                    "email",
                    "seller_key",
                    "defacto_id",
                    "status_badge",
                    "status_reason",
                    "credit_line",
                )
            },
        ),
        (
            _("Enrolment"),
            {
                "fields": (
                    "terms_accepted_at",
                    "signed_at",
                    "enrollment_error",
                    "information_needed",
                    "repayment",
                    "products",
                    "contract",
                    "synced_at",
                )
            },
        ),
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).annotate(**current_line_columns())

    @admin.display(description=_("status"), ordering="status")
    def status_badge(self, borrower: Borrower) -> SafeString:
        label = borrower.get_status_display() or borrower.status
        return display.badge(display.borrower_family(borrower.status), label)

    @admin.display(description=_("credit line (used / available)"))
    def credit_line(self, borrower: WithAnnotations[Borrower, _CurrentLine]) -> str:
        pool = getattr(borrower, "line_pool_amount", None)
        if pool is None:
            return gettext("none yet")
        available = borrower.line_balance_available
        currency = borrower.line_currency
        used = max(pool - available, 0)
        return f"{money(used, currency)} / {money(available, currency)}"

    @admin.display(description=_("contract"))
    def contract(self, borrower: Borrower) -> str:
        if borrower.signed_at is None:
            return "-"
        url = reverse(f"admin:{CONTRACT_URL_NAME}", args=[borrower.pk])
        return format_html('<a href="{}">{}</a>', url, gettext("Read the contract"))

    @admin.display(description=_("repayment method"))
    def repayment(self, borrower: Borrower) -> str:
        """The method in use, its account's last characters, and the page to change it."""
        if not borrower.is_enrolled:
            return "-"
        method = borrower.get_repayment_method_display() or gettext("not known yet")
        if borrower.repayment_account_end:
            method = f"{method} ({borrower.repayment_account_end})"
        url = reverse(f"admin:{REPAYMENT_URL_NAME}", args=[borrower.pk])
        return format_html('{} <a href="{}">{}</a>', method, url, gettext("Change"))

    @admin.display(description=_("financial products"))
    def products(self, borrower: Borrower) -> str:
        """The products the seller borrows under, as Defacto last listed them."""
        listed = borrower_services.financial_products(borrower)
        return ", ".join(product.name for product in listed) or "-"

    @admin.display(description=_("information needed"))
    def information_needed(self, borrower: Borrower) -> str:
        """What Defacto asked for and the seller has not given yet (never what the seller
        gave: it is personal data of its directors)."""
        needed = borrower_services.information_needed(borrower)
        return "; ".join(str(item.message) for item in needed) or "-"

    # ---- actions --------------------------------------------------------------------

    @admin.action(description=_("Enroll with Defacto"), permissions=["enroll"])
    def enroll_selected(self, request: HttpRequest, queryset: QuerySet) -> TemplateResponse | None:
        return confirm_and_run(self, request, queryset, ENROLL)

    @admin.action(description=_("Record the acceptance of Defacto's terms"), permissions=["manage"])
    def record_terms_selected(
        self, request: HttpRequest, queryset: QuerySet
    ) -> TemplateResponse | None:
        return confirm_and_run(self, request, queryset, RECORD_TERMS)

    @admin.action(description=_("Refresh status and credit lines"), permissions=["manage"])
    def refresh_selected(self, request: HttpRequest, queryset: QuerySet) -> TemplateResponse | None:
        return confirm_and_run(self, request, queryset, REFRESH)

    def has_enroll_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("django_defacto.add_borrower")

    def has_manage_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("django_defacto.change_borrower")

    # ---- "Enroll a seller": a marketplace seller not enrolled yet ---------------------

    def get_urls(self) -> list[URLPattern]:
        enroll = path("enroll/", self.admin_site.admin_view(self.enroll_view), name=ENROLL_URL_NAME)
        contract = path(
            "<int:pk>/contract/",
            self.admin_site.admin_view(self.contract_view),
            name=CONTRACT_URL_NAME,
        )
        repayment = path(
            "<int:pk>/repayment-method/",
            self.admin_site.admin_view(self.repayment_method_view),
            name=REPAYMENT_URL_NAME,
        )
        return [enroll, contract, repayment, *super().get_urls()]

    def contract_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        """The borrower's contract, through a link asked of Defacto now (it expires)."""
        borrower = self.get_object(request, str(pk))
        if borrower is None or not self.has_view_permission(request, borrower):
            raise PermissionDenied
        back = reverse("admin:django_defacto_borrower_change", args=[borrower.pk])
        try:
            link = borrower_services.contract_link(borrower)
        except DefactoServiceError as error:
            self.message_user(request, error.message, messages.ERROR)
            return HttpResponseRedirect(back)
        if link is None:
            self.message_user(
                request, gettext("This borrower has no contract yet."), messages.WARNING
            )
            return HttpResponseRedirect(back)
        return HttpResponseRedirect(link)

    def repayment_method_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        """Staff choose how the seller repays: SEPA Credit Transfer, or Direct Debit from
        an account they give (checked before Defacto is asked)."""
        borrower = self.get_object(request, str(pk))
        if borrower is None or not self.has_manage_permission(request):
            raise PermissionDenied
        back = reverse("admin:django_defacto_borrower_change", args=[borrower.pk])
        initial = {"payment_method": borrower.repayment_method or RepaymentKind.SCT}
        form = RepaymentMethodForm(request.POST or None, initial=initial)
        if request.method == "POST" and form.is_valid():
            try:
                data = form.cleaned_data
                chosen = borrower_services.choose_repayment_method(
                    borrower,
                    data["payment_method"],
                    iban=data["iban"],
                    bic=data["bic"],
                    apply_to_active_loans=data["apply_to_active_loans"],
                )
            except InvalidSellerDetails as error:
                for field, message in error.problems:
                    form.add_error(field if field in form.fields else None, message)
            except DefactoServiceError as error:
                self.message_user(request, error.message, messages.ERROR)
            else:
                label = RepaymentKind(chosen.kind).label
                self.log_change(request, borrower, gettext("Repayment method: %s") % label)
                self.message_user(
                    request,
                    gettext("%(seller)s now repays by %(method)s.")
                    % {"seller": borrower, "method": label},
                    messages.SUCCESS,
                )
                return HttpResponseRedirect(back)
        context = {
            **self.admin_site.each_context(request),
            "title": gettext("Change how %(seller)s repays Defacto") % {"seller": borrower},
            "opts": self.opts,
            "original": borrower,
            "form": form,
            "back": back,
            "media": self.media + form.media,
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(
            request, "admin/django_defacto/borrower/repayment_method.html", context
        )

    def enroll_view(self, request: HttpRequest) -> HttpResponse:
        if not self.has_enroll_permission(request):
            raise PermissionDenied
        adapter = get_adapter()
        enrolled = set(
            Borrower.objects.filter(defacto_id__isnull=False).values_list("seller_key", flat=True)
        )
        sellers = [
            (key, str(seller))
            for seller in adapter.enrollable_sellers()
            if (key := adapter.seller_key(seller)) not in enrolled
        ]
        form = EnrollSellerForm(request.POST or None, sellers=sellers)
        if request.method == "POST" and form.is_valid():
            seller = adapter.get_seller(form.cleaned_data["seller"])
            accepted_at = timezone.now() if form.cleaned_data["terms_accepted"] else None
            try:
                if seller is None:
                    raise SellerNotFound(gettext("The marketplace no longer knows this seller."))
                borrower = borrower_services.enroll_seller(seller, terms_accepted_at=accepted_at)
            except DefactoServiceError as error:
                self.message_user(request, error.message, messages.ERROR)
            else:
                self.message_user(
                    request,
                    gettext("%(seller)s is enrolled with Defacto: %(status)s.")
                    % {"seller": borrower, "status": borrower.get_status_display()},
                    messages.SUCCESS,
                )
                return HttpResponseRedirect(
                    reverse("admin:django_defacto_borrower_change", args=[borrower.pk])
                )
        context = {
            **self.admin_site.each_context(request),
            "title": gettext("Enroll a seller with Defacto"),
            "opts": self.opts,
            "form": form,
            "has_sellers": bool(sellers),
            "media": self.media + form.media,
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, "admin/django_defacto/borrower/enroll.html", context)

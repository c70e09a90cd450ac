"""The sellers' pages of the example marketplace: invoices, financing, notifications.

Every page shows the signed-in seller's own objects only: another seller's invoice or
loan is a 404, as if it did not exist. The pages read the local mirror; Defacto is called
through django_defacto's services only (enrolment, and the sandbox clock of the demo).
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import suppress
from functools import wraps
from typing import Any

import requests
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Prefetch, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import check_for_language, ngettext
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from django.views.i18n import set_language

from django_defacto.adapter import Address, Person
from django_defacto.api.returns import early_repayment_callback
from django_defacto.conf import get_adapter
from django_defacto.exceptions import DefactoServiceError, InvalidSellerDetails
from django_defacto.models import Bill, Loan, LoanEvent
from django_defacto.models.statuses import (
    LOAN_RELEASES_INVOICE,
    BorrowerStatus,
    LoanStatus,
    RepaymentKind,
)
from django_defacto.presentation import installment_progress, no_bills_text
from django_defacto.sandbox.control import SandboxControlError
from django_defacto.services.borrowers import (
    SuppliedInformation,
    borrower_for_seller,
    choose_repayment_method,
    contract_link,
    current_credit_line,
    enroll_seller,
    give_consent,
    give_information,
    information_needed,
    repayment_methods,
    revoke_consent,
    sales_history_sharing,
    supplied_information,
    terms_url_for_seller,
)
from django_defacto.services.loans import loan_denial_text, start_early_repayment
from django_defacto.services.loans.early_repayment import can_repay_now
from django_defacto.services.seller_scope import seller_bills

from .forms import (
    CompanyDetailsForm,
    DirectorForm,
    DirectorFormSet,
    EnrollForm,
    RepaymentMethodForm,
    SandboxClockForm,
)
from .models import Invoice, Notification, Seller
from .sandbox_clock import advance_sandbox_time, sandbox_time_enabled

# A loan's repayment instructions are shown from the moment the money was paid out.
REPAYMENT_STATUSES = frozenset({LoanStatus.TO_REPAY, LoanStatus.TO_REPAY_FEES})

SellerView = Callable[..., HttpResponse]


def seller_required(view: SellerView) -> SellerView:
    """Signed in, and a seller: the view gets the seller after the request. A user who is
    not a seller (e.g. staff) is told so, with the admin link when staff."""

    @login_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        seller = get_adapter().seller_for_user(request.user)
        if seller is None:
            return render(request, "marketplace/not_a_seller.html", status=403)
        return view(request, seller, *args, **kwargs)

    return wrapper


def home(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("marketplace:invoices")
    return redirect("marketplace:login")


@require_POST
def choose_language(request: HttpRequest) -> HttpResponse:
    """Django's language switcher, which also remembers a signed-in seller's choice so
    what is sent to them later (a decision that comes days after) is in that language."""
    response = set_language(request)
    chosen = request.POST.get("language", "")
    seller = get_adapter().seller_for_user(request.user)
    if seller is not None and check_for_language(chosen) and chosen != seller.language:
        seller.language = chosen
        seller.save(update_fields=["language"])
    return response


def _seller_loans(seller: Seller) -> QuerySet[Loan]:
    return (
        Loan.objects.filter(borrower__seller_key=get_adapter().seller_key(seller))
        .select_related("invoice")
        .prefetch_related(
            Prefetch("events", queryset=LoanEvent.objects.order_by("timestamp", "id")),
            "installments",
        )
        .order_by("-requested_at")
    )


def _rank(loan: Loan) -> tuple[bool, Any]:
    return (loan.status not in LOAN_RELEASES_INVOICE, loan.requested_at)


def _latest_loans(invoices: list[Invoice]) -> dict[str, Loan]:
    """Each invoice's loan that holds it, else its latest one (declined, canceled...)."""
    adapter = get_adapter()
    keys = [adapter.invoice_key(invoice) for invoice in invoices]
    loans: dict[str, Loan] = {}
    for loan in Loan.objects.filter(invoice__invoice_key__in=keys).select_related("invoice"):
        key = loan.invoice.invoice_key
        if key not in loans or _rank(loan) > _rank(loans[key]):
            loans[key] = loan
    return loans


def repayment(loan: Loan) -> dict[str, Any] | None:
    """Where and how much the seller repays, once the money was paid out."""
    if loan.status not in REPAYMENT_STATUSES:
        return None
    return {
        "iban": loan.repayment_iban,
        "references": loan.repayment_references,
        "amount": max(loan.amount - loan.repaid_amount, 0),
        "currency": loan.currency,
        "due_on": loan.to_repay_at,
    }


def _for_display(loans: QuerySet[Loan] | list[Loan]) -> list[Loan]:
    """The loans with their repayment instructions and, when declined, why, in words."""
    loans = list(loans)
    for loan in loans:
        loan.repayment = repayment(loan)
        loan.denial_text = loan_denial_text(loan) if loan.denial_reason else ""
        loan.installment_steps = installment_progress(loan)
    return loans


@seller_required
def invoice_list(request: HttpRequest, seller: Seller) -> HttpResponse:
    invoices = list(seller.invoices.select_related("buyer").order_by("-issued_on", "number"))
    loans = _latest_loans(invoices)
    adapter = get_adapter()
    rows = [(invoice, loans.get(adapter.invoice_key(invoice))) for invoice in invoices]
    return render(request, "marketplace/invoice_list.html", {"seller": seller, "rows": rows})


@seller_required
def invoice_detail(request: HttpRequest, seller: Seller, pk: int) -> HttpResponse:
    invoice = get_object_or_404(Invoice.objects.select_related("buyer"), pk=pk, seller=seller)
    key = get_adapter().invoice_key(invoice)
    loans = _for_display(_seller_loans(seller).filter(invoice__invoice_key=key))
    return render(
        request,
        "marketplace/invoice_detail.html",
        {"seller": seller, "invoice": invoice, "loans": loans},
    )


@seller_required
def financing(request: HttpRequest, seller: Seller) -> HttpResponse:
    borrower = borrower_for_seller(seller)
    line = current_credit_line(borrower) if borrower is not None else None
    enrolled = borrower is not None and borrower.is_enrolled
    bills = seller_bills(seller) if enrolled else Bill.objects.none()
    if enrolled and borrower is not None and not borrower.repayment_method:
        # Asked of Defacto once: the borrower then keeps its method.
        with suppress(DefactoServiceError):
            repayment_methods(borrower)
    context = {
        "seller": seller,
        "borrower": borrower,
        "status_label": (
            borrower.get_status_display() if enrolled else BorrowerStatus.NOT_ENROLLED.label
        ),
        "needs_terms": borrower is None
        or not enrolled
        or (borrower.terms_accepted_at is None and borrower.signed_at is None),
        "enroll_form": EnrollForm(),
        "information_needed": information_needed(borrower),
        "has_contract": enrolled and borrower is not None and borrower.signed_at is not None,
        "terms_url": terms_url_for_seller(seller),
        "repayment_form": RepaymentMethodForm(
            initial={
                "payment_method": (borrower.repayment_method if borrower else "")
                or RepaymentKind.SCT
            }
        ),
        "line": line,
        "sales_history": sales_history_sharing(seller) if enrolled else None,
        "loans": _for_display(_seller_loans(seller)),
        "bills": bills,
        "no_bills_text": no_bills_text(),
    }
    return render(request, "marketplace/financing.html", context)


@require_POST
@seller_required
def enroll(request: HttpRequest, seller: Seller) -> HttpResponse:
    form = EnrollForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Please accept Defacto's terms to enrol."))
        return redirect("marketplace:financing")
    try:
        enroll_seller(seller, terms_accepted_at=timezone.now())
    except DefactoServiceError as error:
        messages.error(request, error.message)
    else:
        messages.success(
            request,
            _(
                "You are enrolled with Defacto. Your credit line opens in a few moments; "
                "then you can cash in your invoices."
            ),
        )
    return redirect("marketplace:financing")


@require_POST
@seller_required
def sales_history(request: HttpRequest, seller: Seller) -> HttpResponse:
    """Share the seller's sales history with Defacto, or stop sharing it."""
    if request.POST.get("share") == "stop":
        revoke_consent(seller, request.user.get_username())
        messages.success(request, _("Your sales history is no longer shared with Defacto."))
        return redirect("marketplace:financing")
    try:
        give_consent(seller, request.user.get_username())
    except DefactoServiceError as error:
        messages.error(request, error.message)
    else:
        messages.success(
            request,
            _("Your sales history is now shared with Defacto, which may raise your credit line."),
        )
    return redirect("marketplace:financing")


def _director_initial(person: Person) -> dict[str, Any]:
    """The director as the form shows it again."""
    return {name: getattr(person, name) for name in DirectorForm.base_fields}


def _supplied(directors: Any, company: CompanyDetailsForm, asked: set[str]) -> SuppliedInformation:
    details = company.cleaned_data
    address = None
    if details.get("line1"):
        address = Address(
            line1=details["line1"],
            postal_code=details["postal_code"],
            city=details["city"],
            country=details["country"],
        )
    people = tuple(
        Person(**form.cleaned_data)
        for form in directors.forms
        if directors.is_bound and form.cleaned_data
    )
    return SuppliedInformation(
        directors=people,
        # The first director subscribes for the company, as the form says.
        owner=people[0] if "owner" in asked and people else None,
        address=address,
        iban=details.get("iban") or "",
    )


@seller_required
def information(request: HttpRequest, seller: Seller) -> HttpResponse:
    """The information Defacto asked for to enrol the seller, as a form; what the seller
    gave before is filled in again."""
    borrower = borrower_for_seller(seller)
    needed = information_needed(borrower)
    if borrower is None or not needed:
        return redirect("marketplace:financing")
    asked = {item.code for item in needed}
    asks_directors = bool(asked & {"directors", "owner"})
    problems: list[str] = []
    if request.method == "POST":
        directors = DirectorFormSet(request.POST if asks_directors else None, prefix="directors")
        company = CompanyDetailsForm(request.POST)
        if (not asks_directors or directors.is_valid()) and company.is_valid():
            try:
                give_information(seller, _supplied(directors, company, asked))
            except InvalidSellerDetails as refused:
                problems = [message for _field, message in refused.problems]
            except DefactoServiceError as error:
                messages.error(request, error.message)
                return redirect("marketplace:financing")
            else:
                messages.success(request, _("Thank you: you are enrolled with Defacto."))
                return redirect("marketplace:financing")
    else:
        given = supplied_information(borrower)
        directors = DirectorFormSet(
            prefix="directors", initial=[_director_initial(person) for person in given.directors]
        )
        company = CompanyDetailsForm(initial={"iban": given.iban})
    context = {
        "needed": needed,
        "asks_directors": asks_directors,
        "asks_company": bool(asked & {"address", "account_number"}),
        "directors": directors,
        "company": company,
        "problems": problems,
    }
    return render(request, "marketplace/information.html", context)


@require_POST
@seller_required
def repayment_method(request: HttpRequest, seller: Seller) -> HttpResponse:
    form = RepaymentMethodForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose how you repay."))
        return redirect("marketplace:financing")
    try:
        chosen = choose_repayment_method(
            borrower_for_seller(seller),
            form.cleaned_data["payment_method"],
            iban=form.cleaned_data["iban"],
            bic=form.cleaned_data["bic"],
        )
    except DefactoServiceError as error:
        messages.error(request, error.message)
    else:
        messages.success(
            request,
            _("Your loans are now repaid by %(method)s.")
            % {"method": dict(form.fields["payment_method"].choices)[chosen.kind]},
        )
    return redirect("marketplace:financing")


@seller_required
def contract(request: HttpRequest, seller: Seller) -> HttpResponse:
    """The seller's contract with Defacto, through a link asked for now (it expires)."""
    try:
        link = contract_link(borrower_for_seller(seller))
    except DefactoServiceError as error:
        messages.error(request, error.message)
        return redirect("marketplace:financing")
    if link is None:
        messages.info(request, _("Your contract comes once you accept Defacto's terms."))
        return redirect("marketplace:financing")
    return redirect(link)


@seller_required
def loan_detail(request: HttpRequest, seller: Seller, pk: str) -> HttpResponse:
    [loan] = _for_display([get_object_or_404(_seller_loans(seller), pk=pk)])
    return render(
        request,
        "marketplace/loan_detail.html",
        {"seller": seller, "loan": loan, "can_repay_now": can_repay_now(loan)},
    )


@require_POST
@seller_required
def repay_now(request: HttpRequest, seller: Seller, pk: str) -> HttpResponse:
    """Off to Defacto's payment page; the seller comes back through django_defacto's
    return view, which shows the outcome on the loan's page."""
    loan = get_object_or_404(_seller_loans(seller), pk=pk)
    try:
        link = start_early_repayment(
            loan,
            callback_url=early_repayment_callback(request, loan),
            requested_by=request.user,
        )
    except DefactoServiceError as error:
        messages.error(request, error.message)
        return redirect("marketplace:loan", pk=loan.pk)
    return redirect(link.url)


@seller_required
def notification_list(request: HttpRequest, seller: Seller) -> HttpResponse:
    notifications = seller.notifications.all()[:100]
    return render(
        request,
        "marketplace/notifications.html",
        {"seller": seller, "notifications": notifications},
    )


@require_POST
@seller_required
def mark_read(request: HttpRequest, seller: Seller, pk: int) -> HttpResponse:
    notification = get_object_or_404(Notification, pk=pk, seller=seller)
    if not notification.read:
        notification.read = True
        notification.save(update_fields=["read"])
    return redirect("marketplace:notifications")


@require_POST
@seller_required
def mark_all_read(request: HttpRequest, seller: Seller) -> HttpResponse:
    seller.notifications.filter(read=False).update(read=True)
    return redirect("marketplace:notifications")


def _back(request: HttpRequest) -> str:
    target = request.POST.get("next", "")
    if url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return reverse("marketplace:financing")


@require_POST
@seller_required
def sandbox_clock(request: HttpRequest, seller: Seller) -> HttpResponse:
    """Advance the local sandbox's time (demo only), then refresh the seller's loans."""
    if not sandbox_time_enabled():
        raise Http404
    form = SandboxClockForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose how far to move the sandbox's time."))
        return redirect(_back(request))
    try:
        report = advance_sandbox_time(form.cleaned_data["seconds"], seller=seller)
    except (SandboxControlError, requests.RequestException):
        messages.error(request, _("The sandbox did not answer; is it running?"))
        return redirect(_back(request))
    messages.success(
        request,
        ngettext(
            "Sandbox time is now %(now)s; %(count)d loan refreshed.",
            "Sandbox time is now %(now)s; %(count)d loans refreshed.",
            report.loans,
        )
        % {
            "now": timezone.localtime(report.now).strftime("%Y-%m-%d %H:%M"),
            "count": report.loans,
        },
    )
    for error in report.errors:
        messages.warning(request, error)
    return redirect(_back(request))

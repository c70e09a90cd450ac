"""Where Defacto's payment page sends the seller back: the loan checked with Defacto and
the seller sent on to the loan's page with the outcome in words."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_GET

from ..conf import get_adapter
from ..models import Loan
from ..presentation import early_repayment_outcome_text
from ..services import seller_scope
from ..services.loans import RepaymentOutcome, early_repayment_outcome

OUTCOME_LEVELS = {
    RepaymentOutcome.REPAID: messages.SUCCESS,
    RepaymentOutcome.CONFIRMING: messages.INFO,
    RepaymentOutcome.NOT_PAID: messages.WARNING,
    RepaymentOutcome.UNCHECKED: messages.INFO,
}


def early_repayment_callback(request: Any, loan: Loan) -> str:
    """The absolute URL Defacto's payment page sends the seller back to."""
    return str(
        request.build_absolute_uri(reverse("django_defacto:early-repayment-return", args=[loan.pk]))
    )


@require_GET
@login_required
def early_repayment_return(request: HttpRequest, loan_id: Any) -> HttpResponse:
    """Only the signed-in seller owning the loan gets past here (anyone else: 404). What
    the URL's query string says about the payment is not read: Defacto is asked."""
    adapter = get_adapter()
    seller = adapter.seller_for_user(request.user)
    loan = seller_scope.seller_loan(seller, loan_id) if seller is not None else None
    if loan is None:
        raise Http404("There is no such loan among yours.")
    outcome = early_repayment_outcome(loan)
    messages.add_message(
        request,
        OUTCOME_LEVELS[outcome],
        early_repayment_outcome_text(outcome),
        fail_silently=True,
    )
    return redirect(adapter.loan_page_url(loan))

"""The floor of the "Cash in now" figure: the least a safe integration must do for one
loan request, hand-written, served at `bench/cash-in-floor/` beside the seller API.

Same authentication as `POST /defacto/api/loans/`: the session, a signed-in user the
marketplace knows as a seller (`adapter.seller_for_user`), and Django's CSRF check (the
view is not exempt). Then, for the loan body the benchmark posts (what the seller API
sent to Defacto for another invoice):

1. the loan row is inserted, status REQUESTED with its salt id, and committed before
   Defacto hears of it (so a lost answer can be asked again with the same salt id);
2. `client.loans.create` with that body and the row's salt id, through the same client
   as the seller API (`django_defacto.conf.get_client`);
3. the row is updated with Defacto's answer.

Nothing else: no invoice read, no eligibility, no idempotency key, no throttle, no
signals, no row lock, no presentation beyond the loan's id and status.
"""

from __future__ import annotations

import json

from django.http import HttpRequest, JsonResponse
from django.utils.dateparse import parse_datetime
from django.views.decorators.http import require_POST

from django_defacto.client import DefactoError
from django_defacto.conf import get_adapter, get_client
from django_defacto.models import Loan, LoanStatus


@require_POST
def cash_in_floor(request: HttpRequest) -> JsonResponse:
    if not request.user.is_authenticated:
        return JsonResponse({"code": "not_authenticated"}, status=403)
    if get_adapter().seller_for_user(request.user) is None:
        return JsonResponse({"code": "not_a_seller"}, status=403)
    body = json.loads(request.body)
    loan = Loan.objects.create(
        status=LoanStatus.REQUESTED,
        requested_by=request.user,
        borrower_identifier=body["borrower"]["identifier"],
        amount=body["amount"],
        currency=body["currency"],
        to_pay_at=parse_datetime(body["to_pay_at"]),
        to_repay_at=parse_datetime(body["to_repay_at"]),
    )
    try:
        answer = get_client().loans.create(
            {**body, "salt_id": loan.salt_id, "metadata": {"bench_floor_loan": str(loan.pk)}}
        )
    except DefactoError as error:
        Loan.objects.filter(pk=loan.pk).update(
            request_outcome_unknown=True, request_error=str(error)
        )
        return JsonResponse({"id": str(loan.pk), "status": loan.status}, status=502)
    Loan.objects.filter(pk=loan.pk).update(
        defacto_id=answer["id"], status=answer["status"], fees_estimated=answer["fees_estimated"]
    )
    return JsonResponse({"id": str(loan.pk), "status": answer["status"]}, status=201)

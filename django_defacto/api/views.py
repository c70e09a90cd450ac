"""The seller API: each view reads its input, finds the seller's object, makes one
service call and presents the result. The rules live in `django_defacto.services`."""

from __future__ import annotations

from typing import Any

from django.db.models import prefetch_related_objects
from django.http import HttpRequest, JsonResponse
from django.urls import Resolver404, resolve, reverse
from django.utils.translation import gettext
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse
from rest_framework import status
from rest_framework.generics import GenericAPIView
from rest_framework.pagination import PageNumberPagination
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.schemas.inspectors import ViewInspector
from rest_framework.settings import api_settings

from ..models import LoanStatus
from ..services import borrowers, loans, seller_scope
from ..services.loans import denial_reasons, early_repayment, idempotency
from . import serializers as s
from .errors import ApiError, api_exception_handler, loan_request_failed
from .parsers import SellerJSONParser
from .permissions import IsSeller
from .returns import early_repayment_callback
from .schema import ACTION, ANY, ApiSchema, documented
from .throttling import DefactoActionThrottle, LoanRequestThrottle

IDEMPOTENCY_HEADER = "Idempotency-Key"
IDEMPOTENCY_KEY = OpenApiParameter(
    IDEMPOTENCY_HEADER,
    str,
    OpenApiParameter.HEADER,
    description="1 to 255 printable characters, new for each loan the seller asks for: "
    "the same key answers the same loan (200) instead of asking Defacto again.",
)
SAME_KEY = "This Idempotency-Key already asked for this loan: the same loan, nothing new."
DEFAULT_PAGE_SIZE = 20


class SellerPagination(PageNumberPagination):
    """Pages of `REST_FRAMEWORK["PAGE_SIZE"]` items (20 when unset); `?page_size=`
    asks for up to 100."""

    page_size_query_param = "page_size"
    max_page_size = 100

    def get_page_size(self, request: Request) -> int | None:
        self.page_size = api_settings.PAGE_SIZE or DEFAULT_PAGE_SIZE
        return super().get_page_size(request)

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        # DRF's own says `nullable`, which OpenAPI 3.1 (the document's version) dropped.
        link = {"type": ["string", "null"], "format": "uri"}
        return {
            "type": "object",
            "required": ["count", "next", "previous", "results"],
            "properties": {
                "count": {"type": "integer", "minimum": 0},
                "next": link,
                "previous": link,
                "results": schema,
            },
        }


class SellerView(GenericAPIView):
    """JSON only, signed-in sellers only, errors as `{"code", "message"}`."""

    permission_classes = [IsSeller]
    renderer_classes = [JSONRenderer]
    parser_classes = [SellerJSONParser]
    pagination_class = SellerPagination
    schema: ViewInspector | None = ApiSchema()
    seller: Any = None  # set by IsSeller
    # Added to the host's own throttles (REST_FRAMEWORK["DEFAULT_THROTTLE_CLASSES"]): every
    # unsafe request may reach Defacto, so each is counted (GETs are not).
    defacto_throttle_classes: list[type] = [DefactoActionThrottle]

    def get_exception_handler(self):
        return api_exception_handler

    def get_throttles(self) -> list[Any]:
        return [*super().get_throttles(), *(kind() for kind in self.defacto_throttle_classes)]

    def valid(self, serializer_class: type, data: Any) -> Any:
        serializer = serializer_class(data=data)
        serializer.is_valid(raise_exception=True)
        return serializer

    def own_loan(self, loan_id: str) -> Any:
        loan = seller_scope.seller_loan(self.seller, loan_id)
        if loan is None:
            raise ApiError(
                "not_found", gettext("There is no such loan among yours."), status_code=404
            )
        return loan

    def financing_response(self) -> Response:
        """The seller's financing as it stands after a change (from the mirror)."""
        financing = borrowers.financing_for_seller(self.seller, refresh=False)
        return Response(s.FinancingSerializer(financing).data)

    def loan_response(self, loan: Any, code: int = status.HTTP_200_OK) -> Response:
        """`loan` as found among the seller's (`own_loan`) or as a service call returned it,
        fresh from the database: only its invoice and events may be left to load."""
        prefetch_related_objects([loan], "invoice", "events")
        return Response(s.LoanSerializer(loan).data, status=code)


class ApiRootView(SellerView):
    """Links to the seller API's endpoints."""

    schema = None  # links only: not part of the documented API

    def get(self, request: Request) -> Response:
        return Response(
            {
                "financing": reverse("django_defacto:api-financing"),
                "loans": reverse("django_defacto:api-loans"),
                "bills": reverse("django_defacto:api-bills"),
                "schema": reverse("django_defacto:api-schema"),
            }
        )


class FinancingView(SellerView):
    """The seller's enrolment, credit line and what is missing to cash in."""

    serializer_class = s.FinancingSerializer

    @documented("getFinancing", s.FinancingSerializer)
    def get(self, request: Request) -> Response:
        return Response(s.FinancingSerializer(borrowers.financing_for_seller(self.seller)).data)


class EnrollView(SellerView):
    """Enroll the seller with Defacto; the seller accepts Defacto's terms."""

    serializer_class = s.FinancingSerializer

    @documented(
        "enroll",
        s.FinancingSerializer,
        success=201,
        request=s.EnrollSerializer,
        errors=(*ACTION, 409, 422),
    )
    def post(self, request: Request) -> Response:
        data = self.valid(s.EnrollSerializer, request.data).validated_data
        if not data["accept_terms"]:
            raise ApiError("terms_not_accepted", gettext("Accept Defacto's terms to enroll."))
        state = borrowers.enroll_with_terms(self.seller)
        return Response(s.FinancingSerializer(state).data, status=status.HTTP_201_CREATED)


class InformationView(SellerView):
    """Give what Defacto asked for to enroll the seller, and resume the enrolment."""

    serializer_class = s.FinancingSerializer

    @documented(
        "giveInformation",
        s.FinancingSerializer,
        request=s.InformationSerializer,
        errors=(*ACTION, 422),
    )
    def post(self, request: Request) -> Response:
        given = self.valid(s.InformationSerializer, request.data).supplied()
        borrowers.give_information(self.seller, given)
        return self.financing_response()


class RepaymentMethodView(SellerView):
    """Choose how the seller repays: direct debit from its account, or credit transfer."""

    serializer_class = s.FinancingSerializer

    @documented(
        "chooseRepaymentMethod",
        s.FinancingSerializer,
        request=s.ChooseRepaymentMethodSerializer,
        errors=(*ACTION, 422),
    )
    def post(self, request: Request) -> Response:
        data = self.valid(s.ChooseRepaymentMethodSerializer, request.data).validated_data
        borrowers.choose_repayment_method(
            borrowers.borrower_for_seller(self.seller),
            data["payment_method"],
            iban=data["iban"],
            bic=data["bic"],
            apply_to_active_loans=data["apply_to_active_loans"],
        )
        return self.financing_response()


class ContractView(SellerView):
    """A fresh link to the seller's contract with Defacto (it expires; never stored)."""

    serializer_class = s.ContractSerializer

    @documented("getContract", s.ContractSerializer, errors=(*ANY, 404))
    def get(self, request: Request) -> Response:
        link = borrowers.contract_link(borrowers.borrower_for_seller(self.seller))
        if link is None:
            raise ApiError(
                "no_contract",
                gettext("There is no contract yet: it comes once you accept Defacto's terms."),
                status_code=404,
            )
        return Response(s.ContractSerializer({"url": link}).data)


class SalesHistoryView(SellerView):
    """The seller's consent to share its sales history with Defacto, which may raise its
    credit line: read it, give it (POST), revoke it (DELETE)."""

    serializer_class = s.SalesHistorySerializer

    def sharing_response(self, code: int = status.HTTP_200_OK) -> Response:
        sharing = borrowers.sales_history_sharing(self.seller)
        return Response(s.SalesHistorySerializer(sharing).data, status=code)

    @documented("getSalesHistorySharing", s.SalesHistorySerializer)
    def get(self, request: Request) -> Response:
        return self.sharing_response()

    @documented("shareSalesHistory", s.SalesHistorySerializer, errors=(*ACTION, 409))
    def post(self, request: Request) -> Response:
        borrowers.give_consent(self.seller, request.user.get_username())
        return self.sharing_response()

    @documented("stopSharingSalesHistory", s.SalesHistorySerializer, errors=(*ACTION,))
    def delete(self, request: Request) -> Response:
        borrowers.revoke_consent(self.seller, request.user.get_username())
        return self.sharing_response()


class OfferView(SellerView):
    """What "Cash in now" would give on one of the seller's invoices."""

    serializer_class = s.OfferSerializer

    @documented(
        "getOffer",
        s.OfferSerializer,
        errors=(*ANY, 400, 404),
        parameters=[s.OfferQuerySerializer],
    )
    def get(self, request: Request, ref: str) -> Response:
        query = self.valid(s.OfferQuerySerializer, request.query_params)
        invoice = seller_scope.seller_invoice(self.seller, ref)
        if invoice is None:
            raise ApiError(
                "invoice_not_found",
                gettext("There is no such invoice among yours."),
                status_code=404,
            )
        offer = loans.offer_for_invoice(invoice, **query.options())
        return Response(s.OfferSerializer(offer).data)


class LoanListView(SellerView):
    """The seller's loans (GET, paginated) and "Cash in now" (POST): 201 with the loan
    (200 when the Idempotency-Key already made it), or 502 `loan_request_failed` with the
    loan when Defacto refused the request."""

    serializer_class = s.LoanSerializer
    defacto_throttle_classes = [LoanRequestThrottle]

    def get_queryset(self) -> Any:
        return seller_scope.seller_loans(self.seller)

    @documented("listLoans", s.LoanSerializer(many=True), errors=(403, 404))
    def get(self, request: Request) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(s.LoanSerializer(page, many=True).data)

    @documented(
        "requestLoan",
        s.LoanSerializer,
        success=201,
        request=s.LoanRequestSerializer,
        errors=(*ACTION, 404, 409, 422),
        parameters=[IDEMPOTENCY_KEY],
        also={200: OpenApiResponse(s.LoanSerializer, description=SAME_KEY)},
    )
    def post(self, request: Request) -> Response:
        key = request.headers.get(IDEMPOTENCY_HEADER, "").strip()
        if key and not idempotency.valid_key(key):
            raise ApiError(
                "invalid",
                gettext("The Idempotency-Key must be 1 to 255 printable characters."),
                fields={IDEMPOTENCY_HEADER: [gettext("Not a valid key.")]},
            )
        body = self.valid(s.LoanRequestSerializer, request.data)
        data = body.validated_data
        if not data["accept_terms"]:
            raise ApiError(
                "terms_not_accepted",
                gettext("Agree to the loan's terms (accept_terms) to ask for it."),
            )
        outcome = loans.request_loan(
            self.seller,
            data["invoice"],
            idempotency_key=key,
            requested_by=request.user,
            financial_product=data.get("financial_product") or "",
            **body.options(),
        )
        if outcome.loan.status == LoanStatus.REQUEST_FAILED:
            # Defacto refused the request (nothing was made there): an error the client
            # cannot miss, not a 201. The failed loan comes with it, and sending the same
            # request again answers the same.
            return self.failed_request_response(outcome.loan)
        if outcome.loan.status == LoanStatus.DECLINED:
            # Declined at once: the seller is waiting for this answer, so Defacto's words
            # for the reason are fetched now rather than left to the queued task.
            denial_reasons.fetch_loan_denial_texts(outcome.loan)
        code = status.HTTP_201_CREATED if outcome.created else status.HTTP_200_OK
        return self.loan_response(outcome.loan, code)

    def failed_request_response(self, loan: Any) -> Response:
        prefetch_related_objects([loan], "invoice", "events")
        return loan_request_failed(loan.request_error, s.LoanSerializer(loan).data)


class LoanDetailView(SellerView):
    """One of the seller's loans (GET), and a new repayment date (PATCH)."""

    serializer_class = s.LoanSerializer

    @documented("getLoan", s.LoanSerializer, errors=(*ANY, 404))
    def get(self, request: Request, loan_id: str) -> Response:
        return self.loan_response(self.own_loan(loan_id))

    @documented(
        "changeRepaymentDate",
        s.LoanSerializer,
        request=s.RepaymentDateSerializer,
        errors=(*ACTION, 404, 409, 422),
    )
    def patch(self, request: Request, loan_id: str) -> Response:
        loan = self.own_loan(loan_id)
        data = self.valid(s.RepaymentDateSerializer, request.data).validated_data
        moved = loans.change_repayment_date(loan, data["to_repay_at"])
        return self.loan_response(moved)


class LoanValidateView(SellerView):
    """The seller's consent to a loan Defacto approved."""

    serializer_class = s.LoanSerializer

    @documented("validateLoan", s.LoanSerializer, request=None, errors=(*ACTION, 404, 409))
    def post(self, request: Request, loan_id: str) -> Response:
        return self.loan_response(loans.validate_loan(self.own_loan(loan_id)))


class LoanCancelView(SellerView):
    """Cancel a loan before its money is sent."""

    serializer_class = s.LoanSerializer

    @documented("cancelLoan", s.LoanSerializer, request=None, errors=(*ACTION, 404, 409))
    def post(self, request: Request, loan_id: str) -> Response:
        return self.loan_response(loans.cancel_loan(self.own_loan(loan_id)))


class LoanRepayNowView(SellerView):
    """Repay the loan now: the URL of Defacto's payment page, to send the seller to. The
    page sends the seller back to the package's return view, which shows the outcome on
    the loan's page (`adapter.loan_page_url`)."""

    serializer_class = s.PaymentLinkSerializer

    @documented("repayLoanNow", s.PaymentLinkSerializer, request=None, errors=(*ACTION, 404, 409))
    def post(self, request: Request, loan_id: str) -> Response:
        loan = self.own_loan(loan_id)
        link = loans.start_early_repayment(
            loan, callback_url=early_repayment_callback(request, loan), requested_by=request.user
        )
        expires_at = link.created_at + early_repayment.link_lifetime()
        return Response(
            s.PaymentLinkSerializer(
                {
                    "url": link.url,
                    "amount": link.amount,
                    "currency": link.currency,
                    "expires_at": expires_at,
                }
            ).data
        )


class BillListView(SellerView):
    """The seller's monthly bills (paginated)."""

    serializer_class = s.BillSerializer

    def get_queryset(self) -> Any:
        return seller_scope.seller_bills(self.seller)

    @documented("listBills", s.BillSerializer(many=True), errors=(403, 404))
    def get(self, request: Request) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(s.BillSerializer(page, many=True).data)


def api_not_found(request: HttpRequest) -> JsonResponse:
    """404 in the API's error shape for a URL it does not have; names the URL with the
    slash when that one exists (the API's URLs all end with one)."""
    message = gettext("There is no such URL in the seller API.")
    if not request.path.endswith("/"):
        try:
            match = resolve(request.path + "/")
        except Resolver404:
            match = None
        if match is not None and match.func is not api_not_found:
            message = gettext("There is no such URL in the seller API; did you mean %(url)s?") % {
                "url": request.path + "/"
            }
    return JsonResponse({"code": "not_found", "message": message}, status=404)

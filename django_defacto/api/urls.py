"""The seller API's URLs, included at `api/` by `django_defacto.urls`."""

from django.urls import path, re_path

from . import schema, views

urlpatterns = [
    path("", views.ApiRootView.as_view(), name="api-root"),
    path("financing/", views.FinancingView.as_view(), name="api-financing"),
    path("financing/enroll/", views.EnrollView.as_view(), name="api-enroll"),
    path("financing/information/", views.InformationView.as_view(), name="api-information"),
    path("financing/contract/", views.ContractView.as_view(), name="api-contract"),
    path(
        "financing/repayment-method/",
        views.RepaymentMethodView.as_view(),
        name="api-repayment-method",
    ),
    path("financing/sales-history/", views.SalesHistoryView.as_view(), name="api-sales-history"),
    path("invoices/<str:ref>/offer/", views.OfferView.as_view(), name="api-offer"),
    path("loans/", views.LoanListView.as_view(), name="api-loans"),
    path("loans/<str:loan_id>/", views.LoanDetailView.as_view(), name="api-loan"),
    path(
        "loans/<str:loan_id>/validate/",
        views.LoanValidateView.as_view(),
        name="api-loan-validate",
    ),
    path("loans/<str:loan_id>/cancel/", views.LoanCancelView.as_view(), name="api-loan-cancel"),
    path(
        "loans/<str:loan_id>/repay-now/",
        views.LoanRepayNowView.as_view(),
        name="api-loan-repay-now",
    ),
    path("bills/", views.BillListView.as_view(), name="api-bills"),
    path("schema/", schema.ApiSchemaView.as_view(), name="api-schema"),
    # Last: any other URL under the API answers in JSON too, never Django's HTML page.
    re_path(r"^.*$", views.api_not_found),
]

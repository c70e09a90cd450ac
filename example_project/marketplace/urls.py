"""The sellers' pages, at the site root."""

from django.contrib.auth import views as auth_views
from django.urls import path

from . import views

app_name = "marketplace"

urlpatterns = [
    path("", views.home, name="home"),
    path(
        "login/",
        auth_views.LoginView.as_view(
            template_name="marketplace/login.html", redirect_authenticated_user=True
        ),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("invoices/", views.invoice_list, name="invoices"),
    path("invoices/<int:pk>/", views.invoice_detail, name="invoice"),
    path("financing/", views.financing, name="financing"),
    path("financing/enroll/", views.enroll, name="enroll"),
    path("financing/information/", views.information, name="information"),
    path("financing/contract/", views.contract, name="contract"),
    path("financing/sales-history/", views.sales_history, name="sales_history"),
    path("financing/repayment/", views.repayment_method, name="repayment_method"),
    path("loans/<uuid:pk>/", views.loan_detail, name="loan"),
    path("loans/<uuid:pk>/repay-now/", views.repay_now, name="repay_now"),
    path("notifications/", views.notification_list, name="notifications"),
    path("notifications/<int:pk>/read/", views.mark_read, name="notification_read"),
    path("notifications/read/", views.mark_all_read, name="notifications_read"),
    path("language/", views.choose_language, name="language"),
    path("sandbox/clock/", views.sandbox_clock, name="sandbox_clock"),
]

"""Seller emails on every supported Django: the adapter's default `notify_seller` sends
through Django's default mailer, configured with MAILERS from Django 6.1 and with the
EMAIL_* settings before (example_project/mailers.py writes whichever applies)."""

from __future__ import annotations

import warnings

from django.core import mail
from django.test import override_settings

from django_defacto.adapter import MarketplaceAdapter, SellerNotification, SellerProfile
from example_project.mailers import USES_MAILERS, email_settings, email_settings_from_url

SMTP = "django.core.mail.backends.smtp.EmailBackend"


class EmailOnlyAdapter(MarketplaceAdapter):
    """The base adapter's own `notify_seller`, for a seller with an email address."""

    def seller_profile(self, seller):
        return SellerProfile(
            "732829320", "siren", "Atelier Lune", "FR7630006000011234567890189", seller
        )


def default_mailer():
    if USES_MAILERS:
        return mail.mailers.default
    return mail.get_connection()


def test_the_default_notification_is_emailed_without_any_warning_from_django():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        EmailOnlyAdapter().notify_seller(
            "seller@example.com",
            SellerNotification(kind="loan_approved", subject="Approved", message="Paid today."),
        )

    assert [str(warning.message) for warning in caught] == []
    [email] = mail.outbox
    assert (email.to, email.subject, email.body) == (
        ["seller@example.com"],
        "Approved",
        "Paid today.",
    )


def test_the_example_settings_use_mailers_exactly_when_django_has_them(settings):
    assert hasattr(settings, "MAILERS") is USES_MAILERS


def test_a_mail_server_url_becomes_the_default_mailer(tmp_path):
    config = {
        "EMAIL_BACKEND": SMTP,
        "EMAIL_HOST": "mail.example",
        "EMAIL_PORT": 587,
        "EMAIL_HOST_USER": "marketplace",
        "EMAIL_HOST_PASSWORD": "s3cret",
        "EMAIL_USE_TLS": True,
        "EMAIL_FILE_PATH": "",  # django-environ sets it empty for SMTP: left out
    }
    configured = email_settings_from_url(config)

    assert set(configured) == ({"MAILERS"} if USES_MAILERS else set(config) - {"EMAIL_FILE_PATH"})
    with override_settings(**configured):
        backend = default_mailer()
    assert f"{type(backend).__module__}.{type(backend).__name__}" == SMTP
    assert (backend.host, backend.port, backend.username, backend.password, backend.use_tls) == (
        "mail.example",
        587,
        "marketplace",
        "s3cret",
        True,
    )


def test_a_backend_with_options_becomes_the_default_mailer(tmp_path):
    filebased = "django.core.mail.backends.filebased.EmailBackend"
    with override_settings(**email_settings(filebased, file_path=str(tmp_path))):
        mailer = default_mailer()
    assert mailer.file_path == str(tmp_path)

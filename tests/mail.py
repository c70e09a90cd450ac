"""Switching the email backend in a test on every supported Django (see
example_project/mailers.py): MAILERS from Django 6.1, EMAIL_BACKEND before."""

from __future__ import annotations

from typing import Any

from example_project.mailers import email_settings

LOCMEM = "django.core.mail.backends.locmem.EmailBackend"


def use_email_backend(settings: Any, backend: str) -> None:
    """Make `backend` the default mailer for the rest of the test (`settings` is
    pytest-django's fixture, which restores the settings afterwards)."""
    for name, value in email_settings(backend).items():
        setattr(settings, name, value)

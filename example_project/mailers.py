"""Email settings written once for every supported Django.

Django 6.1 configures email with the `MAILERS` setting and deprecates the `EMAIL_*`
settings (they stop working in Django 2028, and sending email without `MAILERS` warns);
Django 5.2 knows only the `EMAIL_*` settings. `email_settings()` gives whichever the
running Django expects, for the default mailer that `send_mail` (and so the adapter's
default `notify_seller`) uses.
"""

from __future__ import annotations

from typing import Any

import django

# Each EMAIL_* setting and the option of Django's own email backends that replaces it.
OPTION_OF_SETTING = {
    "EMAIL_HOST": "host",
    "EMAIL_PORT": "port",
    "EMAIL_HOST_USER": "username",
    "EMAIL_HOST_PASSWORD": "password",
    "EMAIL_USE_TLS": "use_tls",
    "EMAIL_USE_SSL": "use_ssl",
    "EMAIL_TIMEOUT": "timeout",
    "EMAIL_SSL_KEYFILE": "ssl_keyfile",
    "EMAIL_SSL_CERTFILE": "ssl_certfile",
    "EMAIL_FILE_PATH": "file_path",
}
SETTING_OF_OPTION = {option: setting for setting, option in OPTION_OF_SETTING.items()}

USES_MAILERS = django.VERSION >= (6, 1)


def email_settings(backend: str, **options: Any) -> dict[str, Any]:
    """The settings that make `backend` (a dotted path) with `options` (the backend's
    keyword arguments: host, port, file_path...) the default mailer."""
    if USES_MAILERS:
        return {"MAILERS": {"default": {"BACKEND": backend, "OPTIONS": options}}}
    return {
        "EMAIL_BACKEND": backend,
        **{SETTING_OF_OPTION[option]: value for option, value in options.items()},
    }


def email_settings_from_url(config: dict[str, Any]) -> dict[str, Any]:
    """`email_settings()` from django-environ's `Env.email_url()` (EMAIL_* names), leaving
    out what the URL did not set, which a mailer's backend would refuse as unknown."""
    options = {
        OPTION_OF_SETTING[name]: value
        for name, value in config.items()
        if name in OPTION_OF_SETTING and value not in (None, "")
    }
    return email_settings(config["EMAIL_BACKEND"], **options)

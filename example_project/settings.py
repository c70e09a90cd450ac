"""Settings of the example marketplace.

Everything comes from the environment or an optional `.env` file next to `manage.py`;
the defaults run offline: SQLite, the local sandbox, and a Celery broker kept in files
under `.celery/` (kombu's filesystem transport), so `make demo` needs no server.
Production sets `CELERY_BROKER_URL` to Redis or RabbitMQ (see docs/deploying.md).
"""

from pathlib import Path

import environ

from django_defacto.schedule import beat_schedule
from example_project.mailers import email_settings, email_settings_from_url

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DEBUG", default=True)
SECRET_KEY = env("SECRET_KEY", default="example-project-not-for-production")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "testserver"])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "django_defacto",
    "example_project.marketplace",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # After the session (the chosen language is kept there), before CommonMiddleware.
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "example_project.marketplace.middleware.ContentSecurityPolicyMiddleware",
]

ROOT_URLCONF = "example_project.urls"
WSGI_APPLICATION = "example_project.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "example_project.marketplace.context_processors.marketplace",
            ]
        },
    }
]

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
# Keep a worker's database connection between requests: opening one per request costs
# PostgreSQL a new backend process, several times the work of storing a webhook delivery.
DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("DATABASE_CONN_MAX_AGE", default=60))
DATABASES["default"].setdefault("CONN_HEALTH_CHECKS", True)
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The demo's web server, worker and beat write to one SQLite file at once: wait for a
    # lock instead of failing at once, and take the write lock when a transaction starts
    # (a read lock upgraded later fails immediately when another writer holds it).
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        timeout=20, transaction_mode="IMMEDIATE", init_command="PRAGMA journal_mode=WAL;"
    )

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
USE_TZ = True
TIME_ZONE = "Europe/Paris"
LANGUAGE_CODE = "en"
LANGUAGES = [
    ("en", "English"),
    ("fr", "Français"),
    ("es", "Español"),
    ("de", "Deutsch"),
    ("nl", "Nederlands"),
]
STATIC_URL = "static/"

# The sellers' pages (example_project/marketplace/urls.py); staff use the admin.
LOGIN_URL = "marketplace:login"
LOGIN_REDIRECT_URL = "marketplace:invoices"
LOGOUT_REDIRECT_URL = "marketplace:login"

# The seller API (/defacto/api/): the marketplace's pages call it with their session
# (CSRF enforced), other clients with a token (`Authorization: Token <key>`, see
# `manage.py drf_create_token`). Requests that call Defacto are throttled per user: loan
# requests, and the other unsafe ones (enrolment, consent, cancel, a new repayment date).
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "rest_framework.authentication.TokenAuthentication",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "defacto_loans": env("DEFACTO_LOAN_RATE", default="30/min"),
        "defacto_actions": env("DEFACTO_ACTION_RATE", default="60/min"),
    },
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 20,
}

# The local sandbox (`python -m django_defacto.sandbox`) accepts any bearer token.
DEFACTO = {
    "API_KEY": env("DEFACTO_API_KEY", default="sandbox-demo-key"),
    "BASE_URL": env("DEFACTO_BASE_URL", default="http://127.0.0.1:8765"),
    "ENVIRONMENT": "sandbox",
    "MAX_RETRIES": env.int("DEFACTO_MAX_RETRIES", default=3),
    "ADAPTER": "example_project.marketplace.defacto_adapter.MarketplaceAdapter",
    # The demo subscribes the sandbox to http://127.0.0.1:8000/defacto/webhooks/?token=<the
    # first token>; a comma-separated list lets an old and a new token work during rotation.
    "WEBHOOKS_ENABLED": env.bool("DEFACTO_WEBHOOKS_ENABLED", default=True),
    "WEBHOOK_TOKENS": env.list("DEFACTO_WEBHOOK_TOKEN", default=["demo-webhook-token"]),
    "WEBHOOK_PUBLIC_URL": env(
        "DEFACTO_WEBHOOK_PUBLIC_URL", default="http://127.0.0.1:8000/defacto/webhooks/"
    ),
    "POLL_PAGE_SIZE": env.int("DEFACTO_POLL_PAGE_SIZE", default=100),
    # An invoice that cannot be financed shows why, beside a disabled "Cash in now".
    "SHOW_INELIGIBLE_BUTTON": env.bool("DEFACTO_SHOW_INELIGIBLE_BUTTON", default=True),
}

# The periodic sweeps lock themselves in the cache so a run never overlaps the previous
# one; with workers on several machines the cache must be shared, e.g.
# CACHE_URL=rediscache://127.0.0.1:6379/1 (docs/deploying.md).
CACHES = {"default": env.cache("CACHE_URL", default="locmemcache://")}

# Celery. Tasks go to a worker (`celery -A example_project worker -B`, started by
# `make demo`); CELERY_TASK_ALWAYS_EAGER=1 runs them in the process that queues them
# instead (the test suite does this; see tests/conftest.py).
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default="filesystem://")
# The demo broker's messages, beat's schedule and the demo's logs.
CELERY_DIR = Path(env("CELERY_DIR", default=str(BASE_DIR / ".celery")))
if CELERY_BROKER_URL.startswith("filesystem://"):
    # One folder serves as both ends of the queue; example_project/celery.py creates it.
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(CELERY_DIR / "queue"),
        "data_folder_out": str(CELERY_DIR / "queue"),
        "processed_folder": str(CELERY_DIR / "processed"),
        "control_folder": str(CELERY_DIR / "control"),
        "store_processed": False,
        # The folder is read for new messages this often (kombu's default, 1 s, takes
        # about one message a second: the demo's journey sends over a hundred).
        "polling_interval": 0.1,
    }
else:
    # Redis (and SQS) hand a message that was not acknowledged within the visibility
    # timeout to another worker. With acks_late, that is how the task of a worker that
    # died is redone; it must exceed the longest task plus its countdown (docs/deploying.md).
    _visibility_timeout = env.int("CELERY_VISIBILITY_TIMEOUT", default=3600)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "visibility_timeout": _visibility_timeout,
        # How often a worker looks for such messages (kombu's default is every ~100 s).
        "unacked_restore_interval": max(1, min(10, _visibility_timeout // 3)),
        "unacked_restore_throttle": 1,
    }
CELERY_RESULT_BACKEND = env("CELERY_RESULT_BACKEND", default=None)
CELERY_TASK_IGNORE_RESULT = CELERY_RESULT_BACKEND is None
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
# A task is acknowledged once done, so a worker lost mid-task leaves it to another one;
# django_defacto's tasks are idempotent. One message at a time per process keeps a slow
# task from holding others back.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BEAT_SCHEDULE_FILENAME = str(CELERY_DIR / "beat-schedule")
CELERY_TIMEZONE = TIME_ZONE

# Seller emails: kept as files under .celery/emails unless EMAIL_URL names a mail server
# (e.g. smtp://user:password@mail.example:587), so the demo works with no mail server.
# On Django 6.1+ this is the MAILERS setting, before it the EMAIL_* ones (mailers.py).
if env("EMAIL_URL", default=""):
    globals().update(email_settings_from_url(env.email_url("EMAIL_URL")))
else:
    globals().update(
        email_settings(
            "django.core.mail.backends.filebased.EmailBackend",
            file_path=str(CELERY_DIR / "emails"),
        )
    )

# django_defacto's periodic tasks (polling of pending decisions, the daily
# reconciliation, the monthly bills); DEFACTO_BEAT_SCHEDULE=0 runs beat without them.
CELERY_BEAT_SCHEDULE = beat_schedule() if env.bool("DEFACTO_BEAT_SCHEDULE", default=True) else {}

# runserver's access log (`django.server`) writes each request line, and Defacto's
# deliveries carry the webhook token in theirs: the filter writes it as `token=****`.
# Behind gunicorn, give its access log the same filter (docs/deploying.md).
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "mask_webhook_token": {"()": "django_defacto.webhooks.logging.MaskWebhookToken"},
    },
    "formatters": {
        "django.server": {
            "()": "django.utils.log.ServerFormatter",
            "format": "[{server_time}] {message}",
            "style": "{",
        }
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler"},
        "django.server": {"class": "logging.StreamHandler", "formatter": "django.server"},
    },
    "loggers": {
        "django_defacto": {"handlers": ["console"], "level": "WARNING"},
        "django.server": {
            "handlers": ["django.server"],
            "filters": ["mask_webhook_token"],
            "level": "INFO",
            "propagate": False,
        },
    },
}

"""Settings of the example marketplace.

Everything comes from the environment or an optional `.env` file next to `manage.py`;
the defaults run offline: SQLite, the local sandbox, an in-memory Celery broker.
"""

from pathlib import Path

import environ

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
    "django_defacto",
    "example_project.marketplace",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
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
            ]
        },
    }
]

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
USE_TZ = True
TIME_ZONE = "Europe/Paris"
LANGUAGE_CODE = "en"
STATIC_URL = "static/"

# The local sandbox (`python -m django_defacto.sandbox`) accepts any bearer token.
DEFACTO = {
    "API_KEY": env("DEFACTO_API_KEY", default="sandbox-demo-key"),
    "BASE_URL": env("DEFACTO_BASE_URL", default="http://127.0.0.1:8765"),
    "ENVIRONMENT": "sandbox",
    "MAX_RETRIES": env.int("DEFACTO_MAX_RETRIES", default=3),
    "ADAPTER": "example_project.marketplace.defacto_adapter.MarketplaceAdapter",
    "WEBHOOK_TOKENS": env.list("DEFACTO_WEBHOOK_TOKEN", default=[]),
}

CELERY_BROKER_URL = env("CELERY_BROKER_URL", default="memory://")
# Without a worker, tasks run in the process that queues them.
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=True)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {"django_defacto": {"handlers": ["console"], "level": "WARNING"}},
}

"""Settings of `make bench`: the example project's, plus the benchmarks' own views beside
the app's URLs (the ceiling of the webhook figures, the floor of the cash in figure) and
no throttling of the seller API's requests to Defacto (the cash in figure sends more
than the example's 30 a minute)."""

from example_project.settings import *  # noqa: F403
from example_project.settings import REST_FRAMEWORK

ROOT_URLCONF = "benchmarks.urls"
DEBUG = False
REST_FRAMEWORK = {
    **REST_FRAMEWORK,
    "DEFAULT_THROTTLE_RATES": {"defacto_loans": "1000000/min", "defacto_actions": "1000000/min"},
}
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {"django_defacto": {"handlers": ["console"], "level": "ERROR"}},
}

"""The example project's URLs plus the benchmarks' own views: `bench/ok/`, which answers
200 and does nothing else (what the same server and middleware cost without the webhook
receiver's work), `bench/webhook-floor/`, the least a webhook intake that stores before
answering can do, and `bench/cash-in-floor/`, the floor of the "Cash in now" figure
(`benchmarks/floor.py`)."""

import json

from django.http import HttpRequest, HttpResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

from django_defacto.models import WebhookEvent
from example_project.urls import urlpatterns as example_urlpatterns

from .floor import cash_in_floor

# The floor's rows, told apart from the receiver's when the benchmark counts what was stored.
FLOOR_KEY_PREFIX = "floor:"


@csrf_exempt
def ok(request: HttpRequest) -> HttpResponse:
    return HttpResponse(b'{"received": true}', content_type="application/json")


@csrf_exempt
def webhook_floor(request: HttpRequest) -> HttpResponse:
    """Parse the notification and store it (one INSERT, committed alone); no token check,
    no bounds or text checks, no task queued."""
    notification = json.loads(request.body)
    WebhookEvent.objects.create(
        dedupe_key=FLOOR_KEY_PREFIX + str(notification["id"]), body=notification
    )
    return HttpResponse(b'{"received": true}', content_type="application/json")


urlpatterns = [
    path("bench/ok/", ok),
    path("bench/webhook-floor/", webhook_floor),
    path("bench/cash-in-floor/", cash_in_floor),
    *example_urlpatterns,
]

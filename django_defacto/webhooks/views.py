"""The endpoint Defacto POSTs its notifications to.

It answers fast and does little: check the secret token, bound and parse the body, store
the notification once (a repeat only counts a delivery) and queue its processing once
the row is committed. Fetching the entity from Defacto happens in the task.
"""

from __future__ import annotations

import json
import logging
import math
import threading
from typing import Any

from django.contrib.auth.decorators import login_not_required
from django.db import transaction
from django.http import (
    HttpRequest,
    HttpResponse,
    HttpResponseBadRequest,
    HttpResponseForbidden,
    HttpResponseNotAllowed,
    HttpResponseNotFound,
    JsonResponse,
)
from django.views.decorators.csrf import csrf_exempt

from ..conf import defacto_settings
from ..services.webhooks import record_delivery
from ..tasks.webhooks import process_webhook_event
from .auth import InvalidWebhookToken, check_token

logger = logging.getLogger("django_defacto.webhooks")
# Refused tokens go where Django reports every SuspiciousOperation.
security_logger = logging.getLogger(f"django.security.{InvalidWebhookToken.__name__}")


class BadDelivery(ValueError):
    """The body cannot be a Defacto notification; the message says why."""


class _NotANumber(ValueError):
    """JSON's parser met NaN, Infinity or a number too large for a float."""


def _refuse_constant(name: str) -> Any:
    # NaN, Infinity and -Infinity: Python's parser takes them, JSON does not, and no
    # database stores them in a JSON column.
    raise _NotANumber(name)


def _finite_float(literal: str) -> float:
    number = float(literal)
    if not math.isfinite(number):  # 1e400 is infinity to Python
        raise _NotANumber(literal)
    return number


def _client_address(request: HttpRequest) -> str:
    return request.META.get("REMOTE_ADDR", "?")


def _read_notification(request: HttpRequest) -> tuple[dict[str, Any], bytes]:
    limit = defacto_settings().webhook_max_body_bytes
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        raise BadDelivery("Content-Length is not a number.") from None
    if declared > limit:
        raise BadDelivery(f"The body is larger than {limit} bytes.")
    # Read one byte more than allowed: a body longer than it said is refused too.
    body = request.read(limit + 1)
    if len(body) > limit:
        raise BadDelivery(f"The body is larger than {limit} bytes.")
    try:
        notification = json.loads(body, parse_constant=_refuse_constant, parse_float=_finite_float)
    except _NotANumber:
        raise BadDelivery("The body holds a number JSON cannot carry (NaN or Infinity).") from None
    except (UnicodeDecodeError, ValueError):
        raise BadDelivery("The body is not JSON.") from None
    except RecursionError:
        # Python's parser gives up on JSON nested a thousand levels deep.
        raise BadDelivery("The body is nested too deep.") from None
    if not isinstance(notification, dict):
        raise BadDelivery("The body is not a JSON object.")
    try:
        unstorable = _unstorable_text(notification)
    except RecursionError:
        raise BadDelivery("The body is nested too deep.") from None
    if unstorable:
        raise BadDelivery(unstorable)
    return notification, body


def _unstorable_text(value: Any) -> str:
    """Why a string in `value` cannot be stored (empty when all can): U+0000, which
    PostgreSQL refuses in text and JSON, or a lone surrogate (`"\\ud800"` in JSON), which
    is not Unicode and which neither SQLite's driver nor PostgreSQL takes. Defacto sends
    neither."""
    if isinstance(value, str):
        if "\x00" in value:
            return "The body contains a NUL character."
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return "The body contains a lone surrogate, which is not Unicode text."
        return ""
    if isinstance(value, dict):
        items: Any = (text for pair in value.items() for text in pair)
    elif isinstance(value, list):
        items = value
    else:
        return ""
    for item in items:
        reason = _unstorable_text(item)
        if reason:
            return reason
    return ""


_broker_down = threading.Event()


def _queue(event_id: int) -> None:
    """Hand the stored event to a worker. The delivery is stored already, so a broker that
    cannot be reached must not fail it: `sweep_stored_webhook_events` processes it later.
    The failure is logged once until the broker answers again."""
    try:
        process_webhook_event.delay(event_id)
    except Exception as error:
        if not _broker_down.is_set():
            _broker_down.set()
            logger.error(
                "Webhook event %s is stored but could not be queued: the Celery broker "
                "does not answer (%s). Stored events are processed by the periodic task "
                "django_defacto.sweep_stored_webhook_events once it does; this is logged "
                "once until then.",
                event_id,
                error,
            )
    else:
        _broker_down.clear()


def _queue_processing(event_id: int) -> None:
    transaction.on_commit(lambda: _queue(event_id))


@csrf_exempt
@login_not_required
@transaction.non_atomic_requests
def receive(request: HttpRequest) -> HttpResponse:
    """Store one Defacto notification and queue its processing; 200 once stored."""
    if not defacto_settings().webhooks_enabled:
        return HttpResponseNotFound()
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    try:
        check_token(request)
    except InvalidWebhookToken as refused:
        security_logger.warning("%s (from %s)", refused, _client_address(request))
        return HttpResponseForbidden()
    try:
        notification, body = _read_notification(request)
    except BadDelivery as bad:
        logger.warning("Webhook delivery refused: %s (from %s)", bad, _client_address(request))
        return HttpResponseBadRequest(str(bad))
    delivery = record_delivery(notification, body)
    if delivery.should_process:
        _queue_processing(delivery.event.pk)
    return JsonResponse({"received": True, "repeated": delivery.repeated})

"""What the marketplace's base layout shows on every page."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from .models import Notification
from .sandbox_clock import STEPS, sandbox_time_enabled


def marketplace(request: HttpRequest) -> dict[str, Any]:
    def unread() -> int:
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return 0
        return Notification.objects.filter(seller__user=user, read=False).count()

    # A callable: counted only by the pages that show it (not the admin's).
    return {
        "unread_notifications": unread,
        "sandbox_time": sandbox_time_enabled(),
        "sandbox_time_steps": STEPS,
    }

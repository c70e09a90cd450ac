"""The account-wide financial event log (`GET /events`)."""

from __future__ import annotations

from typing import Any

from .clock import to_iso
from .context import SandboxWorld
from .messages import SandboxRequest, SandboxResponse
from .pagination import paginate, query_datetime, query_values


def list_events(world: SandboxWorld, request: SandboxRequest, body: Any) -> SandboxResponse:
    loan_ids = set(query_values(request, "loan_id"))
    event_types = set(query_values(request, "event_type"))
    start = query_datetime(request, "from_date")
    end = query_datetime(request, "to_date")
    start_iso = to_iso(start) if start else None
    end_iso = to_iso(end) if end else None
    matching = [
        event
        for event in world.state.account_events
        if (not loan_ids or event["event_payload"]["loan_id"] in loan_ids)
        and (not event_types or event["event_type"] in event_types)
        and (not start_iso or event["event_at"] >= start_iso)
        and (not end_iso or event["event_at"] <= end_iso)
    ]
    page = paginate(request, matching, dict, world.settings.page_size)
    return SandboxResponse(200, page)

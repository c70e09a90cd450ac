"""The scale run's Defacto: a `requests` transport adapter that answers the list requests
of a sync and of a poll sweep, each page generated when it is asked for.

The sandbox keeps every loan in memory and filters its whole list for each page, which
is fine at 10,000 loans and would be the bottleneck (and most of the memory) at
1,000,000. This fake holds no loan: it has two loan payloads the sandbox made (one
awaiting its decision, one decided) and the number of loans it pretends to hold, and
it answers

- `GET /loans?page_size=N[&cursor=OFFSET]`: the loans OFFSET to OFFSET + N - 1, awaiting
  their decision, and the link to the next page (what `sync_loans` walks);
- `GET /loans?id=...&id=...`: those loans, decided (what a poll sweep asks);
- `GET /payments?...`: an empty page.

Loan number `i` has the id `5ca1e000-0000-4000-8000-<i, 12 digits>` and is otherwise
the sandbox's payload. Anything else gets a 404. The time spent answering is counted
(`seconds`), so the report can say what the fake itself cost.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests
from requests.adapters import BaseAdapter

from django_defacto.sandbox.adapter import build_response

URL = "http://defacto-scale.invalid"
ID_PREFIX = "5ca1e000-0000-4000-8000-"
_PLACEHOLDER = "@@LOAN_ID@@"
MAX_PAGE_SIZE = 100


def loan_id(index: int) -> str:
    return f"{ID_PREFIX}{index:012d}"


def loan_index(identifier: str) -> int | None:
    if not identifier.startswith(ID_PREFIX):
        return None
    try:
        return int(identifier[len(ID_PREFIX) :])
    except ValueError:
        return None


def _template(payload: dict[str, Any]) -> str:
    """The payload as JSON text with its id replaced by a placeholder."""
    return json.dumps({**payload, "id": _PLACEHOLDER}, separators=(",", ":"))


class ScaleDefacto(BaseAdapter):
    """Answers `loans` loans' list pages without holding them (see the module)."""

    def __init__(
        self,
        pending: dict[str, Any],
        decided: dict[str, Any],
        loans: int,
        on_request: Callable[[str], None] | None = None,
    ) -> None:
        super().__init__()
        self.loans = loans
        self.pending = _template(pending)
        self.decided = _template(decided)
        self.on_request = on_request
        self.requests = 0
        self.seconds = 0.0

    def session(self) -> requests.Session:
        session = requests.Session()
        session.mount(URL + "/", self)
        return session

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any):
        started = time.perf_counter()
        self.requests += 1
        parts = urlsplit(request.url or "")
        query = parse_qs(parts.query)
        path = parts.path.rstrip("/")
        status, body = 404, b'{"title": "Not Found", "status": 404}'
        if request.method == "GET" and path == "/loans":
            status, body = 200, self._loans(query)
        elif request.method == "GET" and path == "/payments":
            status, body = 200, b'{"data": [], "next_page": null}'
        response = build_response(self, request, status, {}, body)
        self.seconds += time.perf_counter() - started
        if self.on_request is not None:
            self.on_request(path)
        return response

    def _loans(self, query: dict[str, list[str]]) -> bytes:
        size = min(int(query.get("page_size", [str(MAX_PAGE_SIZE)])[0]), MAX_PAGE_SIZE)
        ids = query.get("id")
        if ids is not None:
            known = [i for i in ids if (index := loan_index(i)) is not None and index < self.loans]
            items = [self.decided.replace(_PLACEHOLDER, i) for i in known]
            next_page = "null"
        else:
            offset = int(query.get("cursor", ["0"])[0])
            end = min(offset + size, self.loans)
            items = [self.pending.replace(_PLACEHOLDER, loan_id(i)) for i in range(offset, end)]
            next_page = (
                json.dumps(f"/loans?page_size={size}&cursor={end}") if end < self.loans else "null"
            )
        return (
            '{"data":[' + ",".join(items) + f'],"page_size":{size},"next_page":{next_page}}}'
        ).encode()

    def close(self) -> None:
        """Nothing to release."""

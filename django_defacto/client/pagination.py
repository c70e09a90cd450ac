"""Lazy iteration over Defacto's cursor-paginated lists."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

PageFetcher = Callable[[str, dict[str, Any] | None], Any]


class ListIterator:
    """Iterates over every item of a list endpoint, fetching pages only as they are needed.

    Follows the `next_page` link Defacto returns until it is null. Endpoints that still
    answer with one bare JSON array are handled as a single page.
    """

    def __init__(self, fetch: PageFetcher, path: str, params: dict[str, Any] | None) -> None:
        self._fetch = fetch
        self._path = path
        self._params = params
        self.pages_fetched = 0

    def __iter__(self) -> Iterator[dict[str, Any]]:
        for page in self.pages():
            yield from page

    def pages(self) -> Iterator[list[dict[str, Any]]]:
        """Yield each page's items as a list."""
        path: str | None = self._path
        params = self._params
        while path:
            payload = self._fetch(path, params)
            self.pages_fetched += 1
            if isinstance(payload, list):
                yield payload
                return
            payload = payload or {}
            yield list(payload.get("data") or [])
            # The next link already carries the filters and the cursor.
            path, params = payload.get("next_page"), None

    def first(self) -> dict[str, Any] | None:
        """Return the first item, or None when the list is empty (fetches one page)."""
        return next(iter(self), None)

    def to_list(self) -> list[dict[str, Any]]:
        return list(self)

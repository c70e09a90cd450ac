"""A web process killed in the middle of a call to Defacto, for the tests of lost requests."""

from __future__ import annotations

from typing import Any

import requests
from requests.adapters import BaseAdapter


class ProcessDies(BaseAdapter):
    """The web process is killed while a POST (to /loans unless told) is on its way back:
    Defacto acted, and nothing after the call runs (no except, no finally that records
    anything)."""

    class Killed(BaseException):
        pass

    def __init__(self, inner: BaseAdapter, path: str = "/loans") -> None:
        super().__init__()
        self.inner = inner
        self.path = path
        self.armed = True

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        response = self.inner.send(request, **kwargs)
        if self.armed and request.method == "POST" and request.path_url == self.path:
            self.armed = False
            raise self.Killed()
        return response

    def close(self) -> None:
        pass

"""A Content-Security-Policy for the marketplace's pages: scripts, styles and images come
from this site only, so the pages carry no inline script or style (nor does the Cash in
now button, whose script is a static file)."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

POLICY = "default-src 'self'"


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        match = getattr(request, "resolver_match", None)
        # The admin has inline scripts of its own: the policy covers the sellers' pages.
        if match is not None and "marketplace" in match.namespaces:
            response.headers.setdefault("Content-Security-Policy", POLICY)
        return response

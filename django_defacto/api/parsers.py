"""The seller API's JSON parser."""

from __future__ import annotations

from typing import Any

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser


class SellerJSONParser(JSONParser):
    """DRF's JSON parser, refusing a body nested too deep for Python's parser (which
    raises RecursionError, not ValueError) as any other invalid JSON: a 400, not a 500."""

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError("JSON parse error - nested too deep.") from None

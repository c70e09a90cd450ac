"""Defacto's published contract, shipped with the package.

`openapi.json` is the API contract the client speaks and the sandbox implements;
`webhooks.asyncapi.yml` describes the notifications Defacto POSTs.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

CONTRACT_DIR = Path(__file__).resolve().parent
OPENAPI_PATH = CONTRACT_DIR / "openapi.json"


@lru_cache(maxsize=1)
def openapi_spec() -> dict[str, Any]:
    """Return the parsed OpenAPI document (parsed once, shared; treat it as read-only)."""
    with OPENAPI_PATH.open(encoding="utf-8") as handle:
        return json.load(handle)

"""The OpenAPI 3.1 description of the REST API (``openapi.yaml`` beside this module).

Served at ``companion/api/openapi.json``; ``tests/test_openapi.py`` checks it against the server's
real route table, and Schemathesis fuzzes a live server with it.
"""

from __future__ import annotations

import copy
from functools import lru_cache
from pathlib import Path
from typing import Any

SPEC_PATH = Path(__file__).with_name("openapi.yaml")


@lru_cache(maxsize=1)
def _load() -> dict[str, Any]:
    import yaml

    return dict(yaml.safe_load(SPEC_PATH.read_text(encoding="utf-8")))


def document() -> dict[str, Any]:
    """A copy of the document (callers may change ``servers``)."""
    return copy.deepcopy(_load())

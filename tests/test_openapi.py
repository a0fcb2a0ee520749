"""The OpenAPI description (``jupyter_companion/openapi.yaml``) is valid OpenAPI 3.1, is served at
``companion/api/openapi.json`` and matches the server's real route table: no undocumented route,
no documented route missing, the same methods."""

from __future__ import annotations

import re
from typing import Any

from openapi_spec_validator import validate
from tornado.websocket import WebSocketHandler

from jupyter_companion.handlers.rest import NotFoundHandler
from jupyter_companion.openapi import document
from tests.test_security import companion_routes, implemented_methods

_GROUP = re.compile(r"\(\?P<(?P<name>\w+)>(?P<body>(?:[^()]|\([^()]*\))*)\)")


def templates(pattern: str) -> list[str]:
    """OpenAPI path templates of a tornado route pattern (alternatives of ``action`` expanded)."""
    path = pattern[pattern.index("/companion/"):].removesuffix("$")
    paths = [path]
    for match in _GROUP.finditer(path):
        name, body = match["name"], match["body"]
        choices = body.split("|") if name == "action" else ["{" + name + "}"]
        paths = [p.replace(match.group(0), choice, 1) for p in paths for choice in choices]
    return [p.replace("\\", "") for p in paths]


def core_routes(web_app: Any) -> dict[str, set[str]]:
    """``path template -> methods`` of the REST routes the core registers (no WebSocket, no
    catch-all 404, no plugin route)."""
    routes: dict[str, set[str]] = {}
    for rule, handler in companion_routes(web_app):
        if issubclass(handler, (WebSocketHandler, NotFoundHandler)) or not handler.__module__.startswith(
            "jupyter_companion."
        ) or handler.__module__ == "jupyter_companion.plugin_routes":
            continue
        for template in templates(rule.matcher.regex.pattern):  # type: ignore[attr-defined]
            routes.setdefault(template, set()).update(implemented_methods(handler))
    return routes


def test_the_document_is_valid_openapi_3_1() -> None:
    spec = document()
    assert spec["openapi"].startswith("3.1")
    validate(spec)


async def test_every_route_is_documented_and_every_documented_route_exists(jp_serverapp: Any) -> None:
    real = core_routes(jp_serverapp.web_app)
    documented = {path: {m for m in item if m in ("get", "post", "put", "patch", "delete")}
                  for path, item in document()["paths"].items()}
    assert len(real) > 20
    undocumented = sorted(set(real) - set(documented))
    missing = sorted(set(documented) - set(real))
    assert not undocumented, f"routes missing from openapi.yaml: {undocumented}"
    assert not missing, f"documented routes the server does not have: {missing}"
    wrong = {path: (sorted(real[path]), sorted(documented[path])) for path in real if real[path] != documented[path]}
    assert not wrong, f"methods differ (server, document): {wrong}"


async def test_served_with_the_servers_base_url(api: Any, jp_base_url: str) -> None:
    status, served = await api("GET", "openapi.json")
    assert status == 200
    assert served["servers"] == [{"url": jp_base_url}]
    assert served["paths"] == document()["paths"]

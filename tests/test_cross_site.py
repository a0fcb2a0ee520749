"""GETs with effects: a page on another site cannot make the browser run them with the user's
Jupyter cookie, and a failing Codex model listing is not retried (a new process) on every call."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from jupyter_companion.backends import codex

pytestmark = pytest.mark.timeout(60)

#: GETs whose answers or effects must not be reachable cross-site.
GETS = ["companion/api/status", "companion/api/backends", "companion/api/sessions",
        "companion/api/git/info?path=", "companion/api/echo/ping", "companion/api/careless/data"]


async def login_cookie(http_server_client: Any, jp_base_url: str, token: str) -> str:
    """The browser's Jupyter login cookie (set when a page is opened with ``?token=``)."""
    response = await http_server_client.fetch(f"{jp_base_url}api/status?token={token}")
    return "; ".join(c.split(";")[0] for c in response.headers.get_list("Set-Cookie"))


async def test_cookie_gets_need_a_same_site_referer(http_server_client: Any, jp_base_url: str, jp_serverapp: Any,
                                                    jp_http_port: int, raw: Any) -> None:
    cookie = await login_cookie(http_server_client, jp_base_url, jp_serverapp.identity_provider.token)
    host = f"127.0.0.1:{jp_http_port}"
    for path in GETS:
        for referer, allowed in ((None, False), ("https://evil.example/page", False), (f"http://{host}/lab", True)):
            headers = {"Cookie": cookie, "Host": host}
            if referer:
                headers["Referer"] = referer
            status, body = await raw("GET", path, auth=False, headers=headers)
            if allowed:
                assert status == 200, (path, referer, body)
            else:
                assert status == 403 and "cross-site" in str(body), (path, referer, status, body)
        status, _ = await raw("GET", path)  # a token-authenticated client (CLI, magics) is not concerned
        assert status == 200, path


async def test_a_failing_model_listing_is_not_retried_on_every_call(tmp_path: Path) -> None:
    calls = tmp_path / "calls"
    fake = tmp_path / "codex"
    fake.write_text(f"#!/bin/sh\necho x >> '{calls}'\nexit 1\n")
    fake.chmod(0o755)
    spec = codex.make_backend_spec(codex.CodexBackend(binary=str(fake), request_timeout=5))
    assert spec.list_models is not None
    results = await asyncio.gather(*(spec.list_models() for _ in range(5)))
    assert all(r == codex.STATIC_MODELS for r in results)
    for _ in range(5):
        assert await spec.list_models() == codex.STATIC_MODELS
    assert calls.read_text().count("x") == 1

"""Shared fixtures: a Jupyter server with the extension (pytest-jupyter), fake and real CLIs."""

from __future__ import annotations

import asyncio
import json
import os
import stat
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

pytest_plugins = ["pytest_jupyter.jupyter_server"]

SUPPORT = Path(__file__).parent / "support"


@pytest.fixture(scope="session")
def fake_claude_bin(tmp_path_factory: pytest.TempPathFactory) -> str:
    """An executable fake ``claude`` (see tests/support/fake_claude.py)."""
    folder = tmp_path_factory.mktemp("fakebin")
    path = folder / "claude"
    path.write_text(f"#!{sys.executable}\n" + (SUPPORT / "fake_claude.py").read_text())
    path.chmod(path.stat().st_mode | stat.S_IEXEC | stat.S_IXGRP | stat.S_IXOTH)
    return str(path)


@pytest.fixture
def companion_config(tmp_path: Path) -> dict[str, Any]:
    """CompanionApp settings for a test (override to change timings)."""
    return {
        "db_path": str(tmp_path / "state" / "companion.db"),
        "relaunch_delays": [0.2, 0.4, 0.8],
        "watchdog_interval": 0.2,
        "hang_timeout": 90.0,
        "idle_timeout": 24 * 3600.0,
    }


@pytest.fixture
def claude_binary(fake_claude_bin: str) -> str:
    """The claude binary the server uses (override with the real one in e2e tests)."""
    return fake_claude_bin


@pytest.fixture
def authorizer_mode() -> str:
    """Which authorizer the server uses, a key of ``tests.support.authorizers.AUTHORIZERS``
    (parametrize to change it)."""
    return "allow"


@pytest.fixture
def jp_server_config(companion_config: dict[str, Any], claude_binary: str, authorizer_mode: str) -> dict[str, Any]:
    """Enable the extension with test settings (and the chosen authorizer)."""
    from tests.support.authorizers import AUTHORIZERS

    config: dict[str, Any] = {
        "ServerApp": {"jpserver_extensions": {"jupyter_companion": True}},
        "CompanionApp": companion_config,
        "ClaudeBackend": {"binary": claude_binary},
    }
    authorizer = AUTHORIZERS[authorizer_mode]
    if authorizer is not None:
        config["ServerApp"]["authorizer_class"] = authorizer
    return config


@pytest.fixture
def raw(jp_serverapp: Any, http_server_client: Any, jp_base_url: str, jp_auth_header: dict[str, str]) -> Callable[..., Any]:
    """``await raw(method, "companion/api/...?q=1", body=None, auth=True, headers=None)`` ->
    (status, json | text). The path is sent as written (percent-escapes included), every method is
    allowed, and a write without a body sends an empty one."""

    async def call(method: str, path: str, body: str | bytes | None = None, auth: bool = True,
                   headers: dict[str, str] | None = None) -> tuple[int, Any]:
        all_headers = dict(jp_auth_header) if auth else {}
        all_headers.update(headers or {})
        if body is None and method.upper() in ("POST", "PATCH", "PUT"):
            body = ""
        url = path if path.startswith("/") else jp_base_url.rstrip("/") + "/" + path
        response = await http_server_client.fetch(
            url, method=method.upper(), body=body, headers=all_headers, raise_error=False,
            allow_nonstandard_methods=True, follow_redirects=False, request_timeout=60,
        )
        text = response.body.decode("utf-8", "replace") if response.body else ""
        try:
            return response.code, json.loads(text)
        except ValueError:
            return response.code, text

    return call


@pytest.fixture
def api(jp_fetch: Callable[..., Any]) -> Callable[..., Any]:
    """``await api("GET", "sessions", body=...)`` -> (status, json) without raising on 4xx."""

    async def call(method: str, *path: str, body: Any = None, params: dict[str, Any] | None = None,
                   headers: dict[str, str] | None = None, raw_body: str | None = None) -> tuple[int, Any]:
        from tornado.httpclient import HTTPClientError

        kwargs: dict[str, Any] = {"method": method, "raise_error": True}
        if body is not None or raw_body is not None:
            kwargs["body"] = raw_body if raw_body is not None else json.dumps(body)
        elif method in ("POST", "PATCH", "PUT"):
            kwargs["body"] = ""
        if params:
            kwargs["params"] = params
        if headers:
            kwargs["headers"] = headers
        try:
            response = await jp_fetch("companion", "api", *path, **kwargs)
        except HTTPClientError as exc:
            assert exc.response is not None
            text = exc.response.body.decode() if exc.response.body else ""
            return exc.code, json.loads(text) if text.startswith("{") else text
        text = response.body.decode()
        if "ndjson" in (response.headers.get("Content-Type") or ""):
            return response.code, [json.loads(line) for line in text.splitlines() if line.strip()]
        return response.code, json.loads(text) if text else None

    return call


class EventStream:
    """A WebSocket client of one session that collects events."""

    def __init__(self, ws: Any):
        self.ws = ws
        self.events: list[dict[str, Any]] = []

    async def next(self, timeout: float = 30.0) -> dict[str, Any]:
        """The next frame."""
        message = await asyncio.wait_for(self.ws.read_message(), timeout)
        if message is None:
            raise ConnectionError("socket closed")
        event = json.loads(message)
        self.events.append(event)
        return event

    async def until(self, predicate: Callable[[dict[str, Any]], bool], timeout: float = 60.0) -> dict[str, Any]:
        """Read frames until one matches ``predicate``; return it."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError(f"no matching event; got {[(e.get('type'), e.get('code') or e.get('phase')) for e in self.events][-30:]}")
            try:
                event = await self.next(remaining)
            except asyncio.TimeoutError:
                continue
            if predicate(event):
                return event

    async def until_type(self, kind: str, timeout: float = 60.0) -> dict[str, Any]:
        """Read frames until one of type ``kind``."""
        return await self.until(lambda e: e.get("type") == kind, timeout)

    async def send(self, command: dict[str, Any]) -> None:
        """Send a command frame."""
        await self.ws.write_message(json.dumps(command))

    def close(self) -> None:
        """Close the socket."""
        self.ws.close()

    def stored(self) -> list[dict[str, Any]]:
        """The events received so far that carry a seq."""
        return [e for e in self.events if e.get("seq") is not None]


@pytest.fixture
def connect(jp_ws_fetch: Callable[..., Any]) -> Callable[..., Any]:
    """``stream = await connect(session_id, after=0)``."""

    async def open_stream(session_id: str, after: int = 0) -> EventStream:
        ws = await jp_ws_fetch("companion", "ws", "sessions", session_id, params={"after": str(after)})
        return EventStream(ws)

    return open_stream


@pytest.fixture
def workdir(jp_root_dir: Path) -> Path:
    """A project folder under the server's root."""
    folder = jp_root_dir / "project"
    folder.mkdir(exist_ok=True)
    return folder


@pytest.fixture(autouse=True)
def _no_claudecode_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CLAUDECODE", raising=False)
    monkeypatch.setenv("DISABLE_AUTOUPDATER", "1")
    monkeypatch.setenv("CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC", "1")
    os.environ.pop("JUPYTER_COMPANION_URL", None)

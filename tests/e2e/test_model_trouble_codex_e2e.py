"""The REAL pinned ``codex app-server`` when its model refuses the key or it has no credentials.

Codex retries a failed request several times before it gives up; before this was handled the
user saw nothing until the turn failed (or, with the network down, until the hang watchdog
fired after 90 s). Now the first retry shows as a ``model_retrying`` notice with the CLI's own
reason, the final error comes once, and ``GET status`` says whether Codex has credentials.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.clis import ensure_cli
from tests.support.codex_env import codex_env, write_codex_home
from tests.support.openai_server import Rule, ScriptedOpenAI

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(240)]


@pytest.fixture(scope="module")
def real_codex() -> str:
    return ensure_cli("codex")


@pytest.fixture
def openai_server() -> Iterator[ScriptedOpenAI]:
    with ScriptedOpenAI([Rule(user_contains="refused", http_status=401), Rule(text="Hello from Codex.")]) as server:
        yield server


@pytest.fixture
def configured() -> bool:
    """Whether Codex gets a model provider (parametrize to leave it without credentials)."""
    return True


@pytest.fixture
def companion_config(
    companion_config: dict[str, Any], openai_server: ScriptedOpenAI, tmp_path: Path, configured: bool
) -> dict[str, Any]:
    home = tmp_path / "codex-home"
    if configured:
        write_codex_home(home, openai_server.base_url, retries=2)
        env = codex_env(home)
    else:  # an empty Codex home and no API key: what a new user has before 'codex login'
        home.mkdir()
        env = {"CODEX_HOME": str(home), "OPENAI_API_KEY": "", "CODEX_API_KEY": ""}
    return {**companion_config, "cli_env": env, "default_backend": "codex"}


@pytest.fixture
def jp_server_config(jp_server_config: dict[str, Any], real_codex: str) -> dict[str, Any]:
    return {**jp_server_config, "CodexBackend": {"binary": real_codex}}


async def _codex_status(api: Any) -> dict[str, Any]:
    status, body = await api("GET", "status")
    assert status == 200
    return next(b for b in body["backends"] if b["name"] == "codex")


async def test_a_refused_key_shows_at_the_first_retry_and_fails_once(api: Any, connect: Any, workdir: Path) -> None:
    codex = await _codex_status(api)
    assert codex["available"] and codex["credentials"]["configured"] is True
    status, session = await api("POST", "sessions", body={"backend": "codex", "cwd": "project"})
    assert status == 201, session
    stream = await connect(session["id"])
    await stream.send({"type": "user_message", "content": "refused, please"})
    notice = await stream.until(lambda e: e.get("code") == "model_retrying", timeout=60)
    assert notice["http_status"] == 401 and (notice["attempt"], notice["max_attempts"]) == (1, 2)
    assert "401 Unauthorized" in notice["detail"] and "Incorrect API key provided" in notice["detail"]
    result = await stream.until_type("result", timeout=90)
    assert result["is_error"] is True and "interrupted" not in result
    errors = [e for e in stream.events if e["type"] == "error"]
    assert len(errors) == 1, errors  # said once, not again for the failed turn
    assert errors[0]["http_status"] == 401 and "401 Unauthorized" in errors[0]["message"]
    # the next prompt works: a failed turn leaves the session usable
    await stream.send({"type": "user_message", "content": "hello"})
    await stream.until(lambda e: e["type"] == "result" and e["seq"] > result["seq"], timeout=90)
    assert [e for e in stream.events if e["type"] == "assistant"][-1]["message"]["content"][0]["text"] == (
        "Hello from Codex.")


@pytest.mark.parametrize("configured", [False])
async def test_without_credentials_status_says_how_to_log_in(api: Any) -> None:
    codex = await _codex_status(api)
    assert codex["available"] and codex["credentials"]["configured"] is False
    assert "codex login" in codex["credentials"]["hint"] and "OPENAI_API_KEY" in codex["credentials"]["hint"]

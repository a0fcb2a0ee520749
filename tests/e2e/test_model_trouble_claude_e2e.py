"""The REAL pinned Claude Code CLI when its model cannot be reached or it has no credentials.

A new user must learn at once, in words, why nothing happens: ``GET status`` says whether the
CLI has credentials (asked from the CLI itself), a refused key shows as a ``model_retrying``
notice with the first retry (not after minutes of silence), and a CLI without credentials ends
the turn with an error that says how to log in from Jupyter.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.anthropic_server import HttpError, ScriptedAnthropic, Text
from tests.support.clis import claude_env
from tests.support.real_claude import claude_binary, real_claude  # noqa: F401 - shared fixtures

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(240)]


@pytest.fixture
def model_server() -> Iterator[ScriptedAnthropic]:
    with ScriptedAnthropic() as srv:
        srv.on(r"refused", HttpError(401, "authentication_error", "invalid x-api-key"))
        srv.on(None, Text("Hello from the scripted model."))
        yield srv


@pytest.fixture
def with_api_key() -> bool:
    """Whether the CLIs get ANTHROPIC_API_KEY (parametrize to take it away)."""
    return True


@pytest.fixture
def companion_config(
    companion_config: dict[str, Any], model_server: ScriptedAnthropic, tmp_path: Path, with_api_key: bool
) -> dict[str, Any]:
    home = tmp_path / "home"
    home.mkdir()
    env = {k: v for k, v in claude_env(model_server.base_url, home).items() if k != "PATH"}
    if not with_api_key:
        env["ANTHROPIC_API_KEY"] = ""  # the server's own environment may not provide one either
    return {**companion_config, "cli_env": env}


async def _claude_status(api: Any) -> dict[str, Any]:
    status, body = await api("GET", "status")
    assert status == 200
    return next(b for b in body["backends"] if b["name"] == "claude")


async def test_a_refused_key_shows_at_the_first_retry(api: Any, connect: Any, workdir: Path) -> None:
    claude = await _claude_status(api)
    assert claude["available"] and claude["credentials"] == {"configured": True, "source": "ANTHROPIC_API_KEY"}
    status, session = await api("POST", "sessions", body={"backend": "claude", "cwd": "project"})
    assert status == 201, session
    stream = await connect(session["id"])
    await stream.send({"type": "user_message", "content": "refused, please"})
    notice = await stream.until(lambda e: e.get("code") == "model_retrying", timeout=60)
    assert notice["level"] == "warning" and notice["http_status"] == 401 and notice["attempt"] == 1
    assert notice["detail"] == "the API key or login was refused, HTTP 401"
    assert notice["message"].startswith("The model could not be reached (the API key or login was refused")
    # nothing of this is protocol drift, and the user can stop the retrying turn
    await stream.send({"type": "interrupt"})
    result = await stream.until_type("result", timeout=60)
    assert result["interrupted"] is True
    _, body = await api("GET", "status")
    assert not [d for d in body["protocol_drift"] if d["backend"] == "claude"], body["protocol_drift"]


@pytest.mark.parametrize("with_api_key", [False])
async def test_without_credentials_status_and_the_turn_say_how_to_log_in(
    api: Any, connect: Any, workdir: Path, model_server: ScriptedAnthropic
) -> None:
    claude = await _claude_status(api)
    assert claude["available"] and claude["credentials"]["configured"] is False
    assert "/login" in claude["credentials"]["hint"] and "ANTHROPIC_API_KEY" in claude["credentials"]["hint"]
    status, session = await api("POST", "sessions", body={"backend": "claude", "cwd": "project"})
    assert status == 201, session
    stream = await connect(session["id"])
    await stream.send({"type": "user_message", "content": "hello"})
    error = await stream.until_type("error", timeout=60)
    assert error["code"] == "authentication_failed" and error["retry"] is True
    assert "Claude Code could not log in to its model (Not logged in" in error["message"]
    assert "run 'claude' in a terminal and log in with /login" in error["message"]
    result = await stream.until_type("result", timeout=60)
    assert result["is_error"] is True
    assert not model_server.main_requests  # the CLI never asked the model

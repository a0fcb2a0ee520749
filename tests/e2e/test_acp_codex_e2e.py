"""Codex through ACP (``@zed-industries/codex-acp``, pinned; its Linux binary) as a backend, through
the public API, offline against the scripted Responses server with a ``CODEX_HOME`` model provider.

codex-acp runs commands in its workspace sandbox without asking in its ``auto`` mode (what our
``default`` maps to); a command the model wants to run outside the sandbox (escalation) is asked
for, which is how these tests get a permission request.
"""

from __future__ import annotations

import json
import os
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.clis import ensure_cli
from tests.support.codex_env import codex_env, write_codex_home
from tests.support.openai_server import Rule, ScriptedOpenAI

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]

AGENT = "codex-acp"
#: A model Codex knows (an unknown one makes it print a warning into the reply).
MODEL = "gpt-5.4"


@pytest.fixture(scope="module")
def codex_acp() -> str:
    """The pinned ``codex-acp`` (installed into the test cache on first use)."""
    return ensure_cli("codex-acp")


@pytest.fixture
def openai_server() -> Iterator[ScriptedOpenAI]:
    rules = [
        Rule(user_contains="make the marker", command="touch acp-marker.txt", escalate=True),
        Rule(after_output_contains="", text="The command step is over."),
        Rule(user_contains="go slow", text="tick " * 300, chunk=5, delay=0.05),
        Rule(text="Hello from Codex over ACP.", chunk=5),
    ]
    with ScriptedOpenAI(rules) as server:
        yield server


@pytest.fixture
def companion_config(companion_config: dict[str, Any], tmp_path: Path, openai_server: ScriptedOpenAI) -> dict[str, Any]:
    home = write_codex_home(tmp_path / "codex-home", openai_server.base_url, model=MODEL)
    return {**companion_config, "cli_env": codex_env(home)}


@pytest.fixture
def jp_server_config(jp_server_config: dict[str, Any], codex_acp: str) -> dict[str, Any]:
    return {**jp_server_config, "AcpBackend": {"agents": {AGENT: {"command": [codex_acp], "label": "Codex (ACP)"}}}}


def _sent(openai_server: ScriptedOpenAI) -> str:
    return json.dumps(openai_server.requests[-1].get("input"))


async def _session(api: Any) -> dict[str, Any]:
    status, session = await api("POST", "sessions", body={"backend": AGENT, "cwd": "project"})
    assert status == 201, session
    return session


async def test_prompt_permission_and_cancel(api: Any, connect: Any, workdir: Path) -> None:
    session = await _session(api)
    stream = await connect(session["id"])
    await stream.send({"type": "user_message", "content": "say hello"})
    result = await stream.until_type("result", timeout=120)
    assert result["is_error"] is False and result["text"] == "Hello from Codex over ACP."
    assert "".join(e["text"] for e in stream.events if e["type"] == "stream_delta") == result["text"]
    init = next(e for e in stream.events if e["type"] == "session_init")
    assert init["backend_version"] == "0.16.0" and init["model"] == MODEL and init["agent_mode"] == "auto"

    await stream.send({"type": "user_message", "content": "please make the marker"})
    request = await stream.until_type("permission_request", timeout=120)
    assert request["tool_name"] == "Bash" and request["input"]["command"] == "touch acp-marker.txt"
    status, _ = await api("POST", "sessions", session["id"], "permissions", request["request_id"], body={"behavior": "allow"})
    assert status == 200
    await stream.until(lambda e: e["type"] == "result" and e["seq"] > request["seq"], timeout=120)
    assert (workdir / "acp-marker.txt").exists()

    (workdir / "acp-marker.txt").unlink()
    await stream.send({"type": "user_message", "content": "make the marker again"})
    request = await stream.until(lambda e: e["type"] == "permission_request" and e["seq"] > request["seq"], timeout=120)
    await stream.send({"type": "permission_response", "request_id": request["request_id"], "behavior": "deny"})
    await stream.until(lambda e: e["type"] == "result" and e["seq"] > request["seq"], timeout=120)
    assert not (workdir / "acp-marker.txt").exists()

    await stream.send({"type": "user_message", "content": "go slow now"})
    await stream.until(lambda e: sum(x["type"] == "stream_delta" for x in stream.events) >= 40, timeout=120)
    await stream.send({"type": "interrupt"})
    stopped = await stream.until(lambda e: e["type"] == "result" and e.get("interrupted"), timeout=60)
    assert stopped["is_error"] is True
    await stream.send({"type": "user_message", "content": "are you still there"})
    again = await stream.until(lambda e: e["type"] == "result" and e["seq"] > stopped["seq"], timeout=120)
    assert again["text"] == "Hello from Codex over ACP."


async def test_modes_switch_and_kill9_loads_the_session(api: Any, connect: Any, workdir: Path,
                                                         openai_server: ScriptedOpenAI) -> None:
    session = await _session(api)
    stream = await connect(session["id"])
    await stream.send({"type": "set_permission_mode", "mode": "plan"})
    await stream.until(lambda e: e["type"] == "session_update" and e.get("permission_mode") == "plan")
    await stream.send({"type": "user_message", "content": "remember the word axolotl"})
    first = await stream.until_type("result", timeout=120)
    _, info = await api("GET", "sessions", session["id"])
    acp_id, pid = info["cli_session_id"], info["pid"]
    os.kill(pid, signal.SIGKILL)
    await stream.until(lambda e: e.get("code") == "cli_exited", timeout=30)
    await stream.until(lambda e: e.get("code") == "relaunched", timeout=60)
    _, info = await api("GET", "sessions", session["id"])
    assert info["pid"] != pid and info["cli_session_id"] == acp_id and info["permission_mode"] == "plan"
    await stream.send({"type": "user_message", "content": "which word?"})
    await stream.until(lambda e: e["type"] == "result" and e["seq"] > first["seq"], timeout=120)
    assert "remember the word axolotl" in _sent(openai_server)  # session/load restored the thread
    assert not [e for e in stream.events if e.get("code") == "context_lost"]

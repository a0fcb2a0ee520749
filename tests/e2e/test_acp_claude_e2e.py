"""Claude Code through ACP (``@zed-industries/claude-agent-acp``, pinned) as a backend, through the
public API (REST + WebSocket), offline against the scripted Messages server.

The adapter runs the Claude Code of its own SDK dependency (``cli.js`` under node), which honours
``ANTHROPIC_BASE_URL`` like the pinned CLI does. Nothing here is specific to this agent: the same
events as for the ``claude`` and ``codex`` backends.

After a cancelled turn this agent ends the next prompt at once (a stale "idle" message of the
cancelled turn) and then answers each prompt with the previous one's reply; its known-agent entry
therefore sets ``relaunch_after_cancel``, which the cancel test covers.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.anthropic_server import ScriptedAnthropic, Text, ToolUse
from tests.support.clis import claude_cli_env, ensure_cli
from tests.support.server import JupyterServerProcess, wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]

AGENT = "claude-acp"


@pytest.fixture(scope="module")
def claude_agent_acp() -> str:
    """The pinned ``claude-agent-acp`` (installed into the test cache on first use)."""
    return ensure_cli("claude-agent-acp")


@pytest.fixture
def model_server() -> Iterator[ScriptedAnthropic]:
    with ScriptedAnthropic() as srv:
        srv.on(r"please touch", [Text("I will create it."),
                                 ToolUse("Bash", {"command": "touch made-by-acp.txt", "description": "Create a file"})])
        srv.on_tool_result(Text("The tool finished."))
        srv.on(r"go slow", Text("tick " * 400, chunks=400, delay=0.05))
        srv.on(r"what did I say", lambda req: Text("You said: " + " | ".join(req.user_texts)))
        srv.on(None, lambda req: Text(f"Hello! You wrote: {req.last_user_text}", chunks=4))
        yield srv


@pytest.fixture
def companion_config(companion_config: dict[str, Any], model_server: ScriptedAnthropic, tmp_path: Path) -> dict[str, Any]:
    return {**companion_config, "cli_env": claude_cli_env(model_server.base_url, tmp_path / "home"), "default_backend": AGENT}


@pytest.fixture
def jp_server_config(jp_server_config: dict[str, Any], claude_agent_acp: str) -> dict[str, Any]:
    return {**jp_server_config, "AcpBackend": {"agents": {AGENT: {"command": [claude_agent_acp], "label": "Claude (ACP)"}}}}


def _running(pid: int) -> bool:
    """Whether a process runs (a zombie does not count)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


async def _session(api: Any) -> dict[str, Any]:
    status, session = await api("POST", "sessions", body={"backend": AGENT, "cwd": "project"})
    assert status == 201, session
    return session


async def test_status_lists_the_agent_with_its_protocol_and_models(api: Any) -> None:
    status, body = await api("GET", "status")
    assert status == 200
    entry = next(b for b in body["backends"] if b["name"] == AGENT)
    assert entry["available"] is True and entry["protocol"] == "acp" and entry["label"] == "Claude (ACP)"
    status, backends = await api("GET", "backends")
    models = next(b for b in backends["backends"] if b["name"] == AGENT)["models"]
    assert {"default", "haiku"} <= {m["id"] for m in models}  # what the agent advertises
    modes = next(b for b in backends["backends"] if b["name"] == AGENT)["modes"]
    assert {"default", "acceptEdits", "plan"} <= {m["id"] for m in modes}


async def test_prompt_permission_allowed_and_denied(api: Any, connect: Any, workdir: Path) -> None:
    session = await _session(api)
    assert session["phase"] == "ready" and session["cli_session_id"]
    stream = await connect(session["id"])
    await stream.send({"type": "user_message", "content": "hello acp"})
    result = await stream.until_type("result", timeout=120)
    assert result["is_error"] is False and result["text"] == "Hello! You wrote: hello acp"
    deltas = "".join(e["text"] for e in stream.events if e["type"] == "stream_delta")
    assert deltas == result["text"]
    init = next(e for e in stream.events if e["type"] == "session_init")
    assert init["backend_version"] == "0.23.1" and init["permission_mode"] == "default"
    _, info = await api("GET", "sessions", session["id"])
    assert info["cost_usd"] > 0 and info["usage"]["input_tokens"] > 0
    # the agent announces its commands on its own time (right after session/new): they stay
    for _ in range(100):
        _, info = await api("GET", "sessions", session["id"])
        if info["slash_commands"]:
            break
        await asyncio.sleep(0.2)
    assert "compact" in info["slash_commands"]

    await stream.send({"type": "user_message", "content": "please touch a file"})
    request = await stream.until_type("permission_request", timeout=120)
    assert request["tool_name"] == "Bash" and request["input"]["command"] == "touch made-by-acp.txt"
    assert request["suggestions"][0]["kind"] == "allow_always"
    tool_use = [e for e in stream.events if e["type"] == "assistant"][-1]["message"]["content"][0]
    assert tool_use["type"] == "tool_use" and tool_use["id"] == request["tool_use_id"]
    status, _ = await api("POST", "sessions", session["id"], "permissions", request["request_id"], body={"behavior": "allow"})
    assert status == 200
    await stream.until(lambda e: e["type"] == "result" and e["seq"] > request["seq"], timeout=120)
    assert (workdir / "made-by-acp.txt").exists()
    assert [e for e in stream.events if e["type"] == "tool_result"][-1]["is_error"] is False

    (workdir / "made-by-acp.txt").unlink()
    await stream.send({"type": "user_message", "content": "please touch it again"})
    request = await stream.until(lambda e: e["type"] == "permission_request" and e["seq"] > request["seq"], timeout=120)
    await stream.send({"type": "permission_response", "request_id": request["request_id"], "behavior": "deny"})
    await stream.until(lambda e: e["type"] == "result" and e["seq"] > request["seq"], timeout=120)
    assert not (workdir / "made-by-acp.txt").exists()
    assert [e for e in stream.events if e["type"] == "tool_result"][-1]["is_error"] is True


async def test_cancel_mid_stream_then_continue(api: Any, connect: Any, workdir: Path) -> None:
    session = await _session(api)
    stream = await connect(session["id"])
    await stream.send({"type": "user_message", "content": "go slow please"})
    await stream.until(lambda e: sum(x["type"] == "stream_delta" for x in stream.events) >= 5, timeout=120)
    await stream.send({"type": "interrupt"})
    result = await stream.until_type("result", timeout=60)
    assert result["is_error"] is True and result["interrupted"] is True
    await stream.send({"type": "user_message", "content": "are you there"})
    result = await stream.until(lambda e: e["type"] == "result" and not e["is_error"], timeout=120)
    assert result["text"] == "Hello! You wrote: are you there"  # relaunched and loaded first (see the module doc)


async def test_kill9_relaunches_and_loads_the_conversation(api: Any, connect: Any, workdir: Path,
                                                           model_server: ScriptedAnthropic) -> None:
    session = await _session(api)
    stream = await connect(session["id"])
    await stream.send({"type": "user_message", "content": "remember the word narwhal"})
    first = await stream.until_type("result", timeout=120)
    _, info = await api("GET", "sessions", session["id"])
    acp_id, pid = info["cli_session_id"], info["pid"]
    os.kill(pid, signal.SIGKILL)
    await stream.until(lambda e: e.get("code") == "cli_exited", timeout=30)
    await stream.until(lambda e: e.get("code") == "relaunched", timeout=60)
    _, info = await api("GET", "sessions", session["id"])
    assert info["pid"] != pid and info["cli_session_id"] == acp_id  # session/load, not a new session
    await stream.send({"type": "user_message", "content": "what did I say before?"})
    answer = await stream.until(lambda e: e["type"] == "result" and e["seq"] > first["seq"], timeout=120)
    assert "remember the word narwhal" in answer["text"]
    assert not [e for e in stream.events if e.get("code") == "context_lost"]


def test_server_restart_keeps_history_and_answers(tmp_path: Path, claude_agent_acp: str,
                                                 model_server: ScriptedAnthropic) -> None:
    root, state = tmp_path / "root", tmp_path / "state"
    (root / "proj").mkdir(parents=True)
    (state / "config").mkdir(parents=True)
    (state / "config" / "jupyter_server_config.json").write_text(json.dumps(
        {"AcpBackend": {"agents": {AGENT: {"command": [claude_agent_acp]}}}}))
    env = claude_cli_env(model_server.base_url, tmp_path / "home")
    server = JupyterServerProcess(root, state, env=env).start()
    try:
        status, session = server.request("POST", "companion/api/sessions", {"backend": AGENT, "cwd": "proj"})
        assert status == 201, session
        sid = session["id"]
        server.request("POST", f"companion/api/sessions/{sid}/messages", {"content": "remember the word okapi"})
        wait_until(lambda: any(e["type"] == "result" for e in server.request(
            "GET", f"companion/api/sessions/{sid}/events")[1]["events"]), timeout=120)
        _, before = server.request("GET", f"companion/api/sessions/{sid}/events")
        agent_pid = server.request("GET", f"companion/api/sessions/{sid}")[1]["pid"]
        server.kill9()
    finally:
        server.stop()
    # this agent does not exit when its input closes: the next server stops it
    assert _running(agent_pid)
    with JupyterServerProcess(root, state, env=env) as again:
        wait_until(lambda: not _running(agent_pid), timeout=30)
        _, after = again.request("GET", f"companion/api/sessions/{sid}/events")
        assert after["events"][: len(before["events"])] == before["events"]
        status, _ = again.request("POST", f"companion/api/sessions/{sid}/messages", {"content": "what did I say?"})
        assert status == 202

        def answered() -> list[dict[str, Any]]:
            events = again.request("GET", f"companion/api/sessions/{sid}/events")[1]["events"]
            return [e for e in events if e["type"] == "result"][1:]

        wait_until(answered, timeout=120)
        assert "remember the word okapi" in answered()[0]["text"]

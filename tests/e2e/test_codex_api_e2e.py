"""Codex sessions through the public API (REST + WebSocket), with the REAL pinned ``codex app-server``.

The same contract as Claude sessions: streaming, approvals, interrupt, kill -9 relaunch with the
thread resumed, and a server restart that keeps the history and answers the next prompt.
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

from tests.support.clis import ensure_cli
from tests.support.codex_env import codex_env, write_codex_home
from tests.support.openai_server import Rule, ScriptedOpenAI
from tests.support.server import JupyterServerProcess, wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(240)]


@pytest.fixture(scope="module")
def real_codex() -> str:
    return ensure_cli("codex")


def _patch(*files: str) -> str:
    """A shell command Codex turns into a file-change approval (``apply_patch`` heredoc)."""
    adds = "".join(f"*** Add File: {name}\n+{name}\n" for name in files)
    return f"apply_patch <<'EOF'\n*** Begin Patch\n{adds}*** End Patch\nEOF\n"


@pytest.fixture
def openai_server() -> Iterator[ScriptedOpenAI]:
    rules = [
        Rule(user_contains="touch by rule", command="touch by-rule.txt"),
        Rule(user_contains="patch inside only", command=_patch("src/one.txt", "src/two.txt")),
        Rule(user_contains="patch two places", command=_patch("src/three.txt", "zz-outside.txt")),
        Rule(user_contains="run the command", command="echo via-api > api-marker.txt"),
        Rule(after_output_contains="", text="The command step is over."),
        Rule(user_contains="stall", text="Thinking for a very long time ...", stall=True),
        Rule(text="Hello from scripted Codex.", chunk=5),
    ]
    with ScriptedOpenAI(rules) as server:
        yield server


@pytest.fixture
def codex_home(tmp_path: Path, openai_server: ScriptedOpenAI) -> Path:
    return write_codex_home(tmp_path / "codex-home", openai_server.base_url)


@pytest.fixture
def companion_config(companion_config: dict[str, Any], codex_home: Path) -> dict[str, Any]:
    return {**companion_config, "cli_env": codex_env(codex_home), "default_backend": "codex"}


@pytest.fixture
def jp_server_config(jp_server_config: dict[str, Any], real_codex: str) -> dict[str, Any]:
    return {**jp_server_config, "CodexBackend": {"binary": real_codex}}


async def _session(api: Any, **extra: Any) -> dict[str, Any]:
    status, session = await api("POST", "sessions", body={"backend": "codex", "cwd": "project", **extra})
    assert status == 201, session
    return session


def _user_texts(openai_server: ScriptedOpenAI) -> str:
    return json.dumps(openai_server.requests[-1].get("input"))


async def test_codex_prompt_approval_and_interrupt(api: Any, connect: Any, workdir: Path, openai_server: ScriptedOpenAI) -> None:
    session = await _session(api)
    assert session["phase"] == "ready" and session["cli_session_id"]
    stream = await connect(session["id"])
    await stream.send({"type": "user_message", "content": "say hello"})
    result = await stream.until_type("result", timeout=90)
    assert result["is_error"] is False
    deltas = "".join(e["text"] for e in stream.events if e["type"] == "stream_delta")
    assert deltas == "Hello from scripted Codex."
    assistant = [e for e in stream.events if e["type"] == "assistant"][-1]
    assert assistant["message"]["content"][0]["text"] == deltas

    await stream.send({"type": "user_message", "content": "please run the command"})
    request = await stream.until_type("permission_request", timeout=90)
    assert request["tool_name"] == "Bash" and "api-marker.txt" in request["input"]["command"]
    status, _ = await api("POST", "sessions", session["id"], "permissions", request["request_id"], body={"behavior": "allow"})
    assert status == 200
    await stream.until(lambda e: e["type"] == "result" and e["seq"] > request["seq"], timeout=90)
    assert (workdir / "api-marker.txt").read_text().strip() == "via-api"
    tool_result = [e for e in stream.events if e["type"] == "tool_result"][-1]
    assert tool_result["is_error"] is False

    await stream.send({"type": "user_message", "content": "stall now"})
    await stream.until_type("stream_delta", timeout=90)
    await asyncio.to_thread(openai_server.stalled.wait, 30)
    status, _ = await api("POST", "sessions", session["id"], "interrupt")
    assert status == 200
    interrupted = await stream.until(lambda e: e["type"] == "result" and e["is_error"], timeout=60)
    assert interrupted["is_error"] is True and interrupted["interrupted"] is True
    openai_server.release()


async def test_codex_decline_and_kill9_relaunch_resumes_the_thread(api: Any, connect: Any, workdir: Path,
                                                                   openai_server: ScriptedOpenAI) -> None:
    session = await _session(api)
    stream = await connect(session["id"])
    await stream.send({"type": "user_message", "content": "run the command please"})
    request = await stream.until_type("permission_request", timeout=90)
    await stream.send({"type": "permission_response", "request_id": request["request_id"], "behavior": "deny"})
    await stream.until(lambda e: e["type"] == "result" and e["seq"] > request["seq"], timeout=90)
    assert not (workdir / "api-marker.txt").exists()

    _, info = await api("GET", "sessions", session["id"])
    thread_id, pid = info["cli_session_id"], info["pid"]
    os.kill(pid, signal.SIGKILL)
    await stream.until(lambda e: e.get("code") == "cli_exited", timeout=30)
    await stream.until(lambda e: e.get("code") == "relaunched", timeout=30)
    _, info = await api("GET", "sessions", session["id"])
    assert info["pid"] != pid and info["cli_session_id"] == thread_id
    await stream.send({"type": "user_message", "content": "say hello again"})
    await stream.until(lambda e: e["type"] == "result" and not e["is_error"] and e["seq"] > request["seq"] + 5, timeout=90)
    assert "run the command please" in _user_texts(openai_server)  # the resumed thread kept its history
    # tokens: each result is its own turn's, the session's the sum over both processes (Codex has no cost)
    _, info = await api("GET", "sessions", session["id"])
    _, events = await api("GET", "sessions", session["id"], "events")
    results = [e for e in events["events"] if e["type"] == "result"]
    assert len(results) == 2 and all(r["usage"]["total_tokens"] > 0 for r in results)
    assert info["usage"]["total_tokens"] == sum(r["usage"]["total_tokens"] for r in results)
    assert info["cost_usd"] == 0


def test_codex_server_restart_keeps_history(tmp_path: Path, real_codex: str, codex_home: Path,
                                            openai_server: ScriptedOpenAI) -> None:
    root = tmp_path / "root"
    (root / "proj").mkdir(parents=True)
    env = codex_env(codex_home)
    args = [f"--CodexBackend.binary={real_codex}"]
    server = JupyterServerProcess(root, tmp_path / "state", env=env, args=args).start()
    try:
        status, session = server.request("POST", "companion/api/sessions", {"backend": "codex", "cwd": "proj"})
        assert status == 201, session
        sid = session["id"]
        server.request("POST", f"companion/api/sessions/{sid}/messages", {"content": "remember the word narwhal"})
        wait_until(lambda: any(e["type"] == "result" for e in server.request("GET", f"companion/api/sessions/{sid}/events")[1]["events"]))
        _, before = server.request("GET", f"companion/api/sessions/{sid}/events")
        server.kill9()
    finally:
        server.stop()
    again = JupyterServerProcess(root, tmp_path / "state", env=env, args=args)
    with again:
        _, after = again.request("GET", f"companion/api/sessions/{sid}/events")
        assert after["events"][: len(before["events"])] == before["events"]
        status, _ = again.request("POST", f"companion/api/sessions/{sid}/messages", {"content": "and now?"})
        assert status == 202

        def answered() -> bool:
            events = again.request("GET", f"companion/api/sessions/{sid}/events")[1]["events"]
            return sum(1 for e in events if e["type"] == "result") >= 2

        wait_until(answered)
        assert "remember the word narwhal" in _user_texts(openai_server)



async def test_codex_lost_thread_is_recapped_into_the_new_one(api: Any, connect: Any, workdir: Path, codex_home: Path,
                                                              openai_server: ScriptedOpenAI) -> None:
    """Codex's rollout of the thread is gone: the relaunch starts a new thread and the next prompt
    carries a recap of the earlier turns from the session's log (the same core path as Claude)."""
    session = await _session(api)
    stream = await connect(session["id"])
    await stream.send({"type": "user_message", "content": "the secret fruit is papaya"})
    await stream.until_type("result", timeout=90)
    _, info = await api("GET", "sessions", session["id"])
    thread_id = info["cli_session_id"]
    status, _ = await api("POST", "sessions", session["id"], "kill")
    assert status == 200
    rollouts = [p for p in codex_home.rglob("*.jsonl") if thread_id in p.name]
    assert rollouts, sorted(str(p) for p in codex_home.rglob("*"))[:50]
    for path in rollouts:
        path.unlink()
    await stream.send({"type": "user_message", "content": "which fruit?"})
    await stream.until(lambda e: e.get("code") == "context_lost", timeout=60)
    await stream.until(lambda e: e.get("code") == "context_restored", timeout=60)
    await stream.until(lambda e: e["type"] == "result" and e["seq"] > info["last_seq"] + 3, timeout=90)
    sent = _user_texts(openai_server)
    assert "the secret fruit is papaya" in sent and "which fruit?" in sent
    _, info = await api("GET", "sessions", session["id"])
    assert info["cli_session_id"] != thread_id


async def test_codex_plan_mode_asks_for_a_plan_in_a_read_only_sandbox(api: Any, connect: Any, workdir: Path,
                                                                       openai_server: ScriptedOpenAI) -> None:
    from jupyter_companion.backends.codex import PLAN_MODE_NOTE

    session = await _session(api, permission_mode="plan")
    stream = await connect(session["id"])
    await stream.send({"type": "user_message", "content": "how would you add logging?"})
    await stream.until_type("result", timeout=90)
    sent = _user_texts(openai_server)
    assert PLAN_MODE_NOTE in sent and "how would you add logging?" in sent
    await stream.send({"type": "set_permission_mode", "mode": "acceptEdits"})
    await stream.until(lambda e: e["type"] == "session_update" and e.get("permission_mode") == "acceptEdits")
    await stream.send({"type": "user_message", "content": "now do it"})
    await stream.until(lambda e: e["type"] == "result" and "now do it" in _user_texts(openai_server), timeout=90)
    last_input = json.dumps(openai_server.requests[-1].get("input"))
    assert last_input.count("[Plan mode]") == 1  # only the earlier, planned turn carries the note


async def test_codex_allowed_tools_rule_approves_only_matching_commands(api: Any, connect: Any, workdir: Path,
                                                                        openai_server: ScriptedOpenAI) -> None:
    """Codex has no --allowedTools: the session's rules answer its approval requests (builtin plugin)."""
    session = await _session(api, allowed_tools=["Bash(touch:*)"])
    stream = await connect(session["id"])
    await stream.send({"type": "user_message", "content": "please touch by rule"})
    request = await stream.until_type("permission_request", timeout=90)
    assert request["input"]["command"] == "touch by-rule.txt"
    resolved = await stream.until_type("permission_resolved", timeout=30)
    assert resolved["by"] == "plugin" and resolved["behavior"] == "allow"
    assert "Bash(touch:*)" in resolved["message"]
    await stream.until(lambda e: e["type"] == "result" and e["seq"] > resolved["seq"], timeout=90)
    assert (workdir / "by-rule.txt").exists()
    # a command the rule does not cover (a redirection) still asks the user
    await stream.send({"type": "user_message", "content": "run the command please"})
    other = await stream.until(lambda e: e["type"] == "permission_request" and e["seq"] > resolved["seq"], timeout=90)
    _, info = await api("GET", "sessions", session["id"])
    assert [p["request_id"] for p in info["pending_permissions"]] == [other["request_id"]]
    await stream.send({"type": "permission_response", "request_id": other["request_id"], "behavior": "deny"})
    await stream.until(lambda e: e["type"] == "result" and e["seq"] > other["seq"], timeout=90)
    assert not (workdir / "api-marker.txt").exists()


async def test_codex_multi_file_patch_needs_every_path_covered(api: Any, connect: Any, workdir: Path,
                                                                openai_server: ScriptedOpenAI) -> None:
    """An ``Edit(src/**)`` rule approves a real Codex patch only when every file it writes is under src/:
    a patch whose first path matches but which also writes elsewhere still asks the user."""
    (workdir / "src").mkdir()
    session = await _session(api, allowed_tools=["Edit(src/**)"])
    stream = await connect(session["id"])
    await stream.send({"type": "user_message", "content": "patch inside only"})
    request = await stream.until_type("permission_request", timeout=90)
    assert [c["path"] for c in request["input"]["changes"]] == [str(workdir / "src" / n) for n in ("one.txt", "two.txt")]
    resolved = await stream.until_type("permission_resolved", timeout=30)
    assert resolved["by"] == "plugin" and resolved["behavior"] == "allow"
    await stream.until(lambda e: e["type"] == "result" and e["seq"] > resolved["seq"], timeout=90)
    assert (workdir / "src" / "one.txt").exists() and (workdir / "src" / "two.txt").exists()

    await stream.send({"type": "user_message", "content": "patch two places"})
    other = await stream.until(lambda e: e["type"] == "permission_request" and e["seq"] > resolved["seq"], timeout=90)
    paths = [c["path"] for c in other["input"]["changes"]]
    assert paths == [str(workdir / "src" / "three.txt"), str(workdir / "zz-outside.txt")]  # first one matches
    assert other["input"]["file_path"] == paths[0]
    await asyncio.sleep(0.5)  # a plugin decision would have been made by now
    _, info = await api("GET", "sessions", session["id"])
    assert [p["request_id"] for p in info["pending_permissions"]] == [other["request_id"]]
    await stream.send({"type": "permission_response", "request_id": other["request_id"], "behavior": "deny"})
    await stream.until(lambda e: e["type"] == "result" and e["seq"] > other["seq"], timeout=90)
    assert not (workdir / "zz-outside.txt").exists() and not (workdir / "src" / "three.txt").exists()

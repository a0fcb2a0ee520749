"""End to end with the REAL Claude Code CLI (pinned) against a scripted Messages API, offline."""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.anthropic_server import ScriptedAnthropic, Stall, Text, ToolUse
from tests.support.clis import claude_env
from tests.support.real_claude import claude_binary, companion_config, real_claude  # noqa: F401
from tests.support.server import JupyterServerProcess, wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(240)]


@pytest.fixture
def model_server() -> Iterator[ScriptedAnthropic]:
    """A scripted Messages API with the replies these tests use."""
    with ScriptedAnthropic() as srv:
        srv.on(r"please touch", [Text("I will create it."), ToolUse("Bash", {"command": "touch made-by-agent.txt", "description": "Create a file"})])
        srv.on_tool_result(Text("The tool finished."))
        srv.on(r"go slow", Text("tick " * 400, chunks=400, delay=0.05))
        srv.on(r"stall forever", [Text("starting"), Stall()])
        srv.on(r"what did I say", lambda req: Text("You said: " + " | ".join(req.user_texts)))
        srv.on(None, lambda req: Text(f"Hello! You wrote: {req.last_user_text}", chunks=4))
        yield srv


async def _session(api: Any) -> dict[str, Any]:
    status, session = await api("POST", "sessions", body={"backend": "claude", "cwd": "project"})
    assert status == 201, session
    return session


async def _after_one_turn(api: Any, connect: Any, text: str) -> tuple[dict[str, Any], Any, str]:
    """A new session that answered ``text``: the session, its event stream, the CLI's conversation id."""
    session = await _session(api)
    stream = await connect(session["id"])
    await stream.send({"type": "user_message", "content": text})
    await stream.until_type("result", timeout=90)
    _, info = await api("GET", "sessions", session["id"])
    return session, stream, info["cli_session_id"]


async def test_prompt_streams_and_completes(api: Any, connect: Any, workdir: Path) -> None:
    session = await _session(api)
    stream = await connect(session["id"])
    await stream.send({"type": "user_message", "content": "hello real claude", "client_msg_id": "c1"})
    result = await stream.until_type("result", timeout=90)
    assert result["is_error"] is False
    assert result["text"] == "Hello! You wrote: hello real claude"
    init = next(e for e in stream.events if e["type"] == "session_init")
    assert init["backend_version"] == "2.1.197" and "Bash" in init["tools"]
    deltas = "".join(e["text"] for e in stream.events if e["type"] == "stream_delta" and e["kind"] == "text")
    assert deltas == "Hello! You wrote: hello real claude"
    assistant = next(e for e in stream.events if e["type"] == "assistant")
    assert assistant["message"]["content"][0]["text"] == deltas
    _, info = await api("GET", "sessions", session["id"])
    assert info["cli_session_id"] and info["phase"] == "ready" and info["cost_usd"] is not None


async def test_permission_allow_runs_the_tool_and_deny_does_not(api: Any, connect: Any, workdir: Path) -> None:
    session = await _session(api)
    stream = await connect(session["id"])
    await stream.send({"type": "user_message", "content": "please touch a file"})
    request = await stream.until_type("permission_request", timeout=90)
    assert request["tool_name"] == "Bash" and request["input"]["command"] == "touch made-by-agent.txt"
    assert request["suggestions"], "the CLI offers 'always allow' suggestions"
    await stream.send({"type": "permission_response", "request_id": request["request_id"], "behavior": "allow"})
    await stream.until_type("result", timeout=90)
    assert (workdir / "made-by-agent.txt").exists()
    tool_result = next(e for e in stream.events if e["type"] == "tool_result")
    assert tool_result["is_error"] is False

    (workdir / "made-by-agent.txt").unlink()
    await stream.send({"type": "user_message", "content": "please touch it again"})
    request = await stream.until_type("permission_request", timeout=90)
    status, _ = await api("POST", "sessions", session["id"], "permissions", request["request_id"],
                          body={"behavior": "deny", "message": "not today"})
    assert status == 200
    await stream.until_type("result", timeout=90)
    assert not (workdir / "made-by-agent.txt").exists()
    denied = [e for e in stream.events if e["type"] == "tool_result"][-1]
    assert denied["is_error"] is True and "not today" in str(denied["content"])


async def test_interrupt_ends_the_turn(api: Any, connect: Any, workdir: Path) -> None:
    session = await _session(api)
    stream = await connect(session["id"])
    await stream.send({"type": "user_message", "content": "go slow please"})
    await stream.until_type("stream_delta", timeout=90)
    await stream.send({"type": "interrupt"})
    result = await stream.until_type("result", timeout=30)
    assert result["is_error"] is True and result["interrupted"] is True  # stopped, not failed
    await stream.send({"type": "user_message", "content": "are you there"})
    result = await stream.until(lambda e: e["type"] == "result" and not e["is_error"], timeout=90)
    assert result["text"] == "Hello! You wrote: are you there" and "interrupted" not in result


async def test_reconnect_replays_exactly(api: Any, connect: Any, workdir: Path) -> None:
    session = await _session(api)
    first = await connect(session["id"])
    await first.send({"type": "user_message", "content": "go slow again"})
    await first.until_type("stream_delta", timeout=90)
    last = first.stored()[-1]["seq"]
    first.close()
    await asyncio.sleep(0.5)
    second = await connect(session["id"], after=last)
    await second.until_type("result", timeout=90)
    seqs = [e["seq"] for e in second.stored()]
    assert seqs == list(range(last + 1, last + 1 + len(seqs)))


async def test_killed_cli_is_relaunched_with_resume(api: Any, connect: Any, workdir: Path, tmp_path: Path) -> None:
    session, stream, cli_session = await _after_one_turn(api, connect, "remember the word pelican")
    _, info = await api("GET", "sessions", session["id"])
    first_pid = info["pid"]
    # the CLI persists its transcript shortly after a turn; a kill before that loses the conversation
    # (that case: test_lost_transcript_is_recapped_into_the_new_conversation)
    transcripts = tmp_path / "home" / ".claude" / "projects"
    for _ in range(100):
        if any("pelican" in p.read_text(errors="replace") for p in transcripts.rglob(f"{cli_session}.jsonl")):
            break
        await asyncio.sleep(0.1)
    os.kill(first_pid, signal.SIGKILL)
    error = await stream.until(lambda e: e["type"] == "error" and e.get("code") == "cli_exited", timeout=30)
    assert "stopped unexpectedly (killed by SIGKILL)" in error["message"] and error["exit_code"] == -9
    assert "retry" not in error  # it was not answering: nothing to send again
    await stream.until(lambda e: e.get("code") == "relaunched", timeout=30)
    _, info = await api("GET", "sessions", session["id"])
    assert info["pid"] and info["pid"] != first_pid
    await stream.send({"type": "user_message", "content": "what did I say before?"})
    result = await stream.until_type("result", timeout=90)
    assert "remember the word pelican" in result["text"]
    _, info = await api("GET", "sessions", session["id"])
    assert info["cli_session_id"] == cli_session
    # costs and tokens: each result is its own turn's, the session's are their sums over both processes
    await stream.send({"type": "user_message", "content": "and once more"})
    await stream.until(lambda e: e["type"] == "result" and e["seq"] > result["seq"], timeout=90)
    _, info = await api("GET", "sessions", session["id"])
    _, events = await api("GET", "sessions", session["id"], "events")
    results = [e for e in events["events"] if e["type"] == "result"]
    assert len(results) == 3 and all(r["cost_usd"] > 0 for r in results)
    assert results[2]["cost_usd"] < 1.5 * results[1]["cost_usd"]  # not the process's running total
    assert results[2]["process_cost_usd"] == pytest.approx(results[1]["cost_usd"] + results[2]["cost_usd"])
    assert info["cost_usd"] == pytest.approx(sum(r["cost_usd"] for r in results))
    assert info["usage"]["input_tokens"] == sum(r["usage"]["input_tokens"] for r in results)
    assert info["usage"]["output_tokens"] == sum(r["usage"]["output_tokens"] for r in results)


async def test_a_listed_conversation_is_continued_in_a_new_session(api: Any, connect: Any, workdir: Path, tmp_path: Path) -> None:
    """The real CLI's transcript shows up in ``backends/claude/conversations``; a new session
    created with ``resume_session`` + ``fork`` continues it under a new id."""
    _, _, original = await _after_one_turn(api, connect, "remember the word kiwi")
    listed: list[dict[str, Any]] = []
    for _ in range(300):  # the CLI writes its transcript shortly after the turn
        _, data = await api("GET", "backends", "claude", "conversations", params={"cwd": "project"})
        listed = [c for c in data["conversations"] if c["id"] == original]
        if listed:
            break
        await asyncio.sleep(0.1)
    assert listed and listed[0]["title"] == "remember the word kiwi" and listed[0]["folder"] == "project"
    status, second = await api("POST", "sessions", body={"backend": "claude", "cwd": "project",
                                                          "resume_session": original, "fork": True})
    assert status == 201, second
    other = await connect(second["id"])
    await other.send({"type": "user_message", "content": "what did I say before?"})
    result = await other.until_type("result", timeout=90)
    assert "remember the word kiwi" in result["text"]
    _, info = await api("GET", "sessions", second["id"])
    assert info["cli_session_id"] not in (None, original)  # forked: the original stays as it was


async def test_lost_transcript_is_recapped_into_the_new_conversation(
    api: Any, connect: Any, workdir: Path, tmp_path: Path
) -> None:
    """The CLI's own transcript is gone (wiped, or a kill -9 before it was written): the relaunch
    cannot resume, a new conversation starts, and the next prompt carries a recap from our log."""
    session, stream, cli_session = await _after_one_turn(api, connect, "remember the word albatross")
    transcripts = tmp_path / "home" / ".claude" / "projects"
    for _ in range(300):
        if any(transcripts.rglob(f"{cli_session}.jsonl")):
            break
        await asyncio.sleep(0.1)
    status, _ = await api("POST", "sessions", session["id"], "kill")
    assert status == 200
    for path in transcripts.rglob(f"{cli_session}*"):
        if path.is_file():
            path.unlink()
    await stream.send({"type": "user_message", "content": "what did I say before?"})
    lost = await stream.until(lambda e: e.get("code") == "context_lost", timeout=60)
    assert lost["type"] == "error"
    restored = await stream.until(lambda e: e.get("code") == "context_restored", timeout=60)
    assert "1 earlier message" in restored["message"]
    result = await stream.until_type("result", timeout=90)
    assert "remember the word albatross" in result["text"], result["text"]
    _, info = await api("GET", "sessions", session["id"])
    assert info["cli_session_id"] not in (None, cli_session) and not info.get("recap_pending")
    _, data = await api("GET", "sessions", session["id"], "events")
    prompts = [e["content"] for e in data["events"] if e["type"] == "user_message"]
    assert prompts == ["remember the word albatross", "what did I say before?"]  # the log keeps what the user wrote
    # the recap is given once: the prompt after it is sent as written
    await stream.send({"type": "user_message", "content": "what did I say now?"})
    result = await stream.until(lambda e: e["type"] == "result" and "now?" in e.get("text", ""), timeout=90)
    assert result["text"].count("[jupyter-companion:") == 1, result["text"]
    assert result["text"].endswith("what did I say before? | what did I say now?")


def test_server_kill9_and_restart_keeps_history(
    tmp_path: Path, real_claude: str, model_server: ScriptedAnthropic  # noqa: F811 - the shared fixture
) -> None:
    root = tmp_path / "root"
    (root / "proj").mkdir(parents=True)
    home = tmp_path / "home"
    home.mkdir()
    env = claude_env(model_server.base_url, home)
    args = [f"--ClaudeBackend.binary={real_claude}"]
    server = JupyterServerProcess(root, tmp_path / "state", env=env, args=args).start()
    try:
        status, session = server.request("POST", "companion/api/sessions", {"backend": "claude", "cwd": "proj"})
        assert status == 201, session
        sid = session["id"]
        server.request("POST", f"companion/api/sessions/{sid}/messages", {"content": "remember the word walrus"})
        wait_until(lambda: any(e["type"] == "result" for e in server.request("GET", f"companion/api/sessions/{sid}/events")[1]["events"]))
        _, before = server.request("GET", f"companion/api/sessions/{sid}/events")
        server.kill9()
    finally:
        server.stop()
    again = JupyterServerProcess(root, tmp_path / "state", env=env, args=args)
    again.token = server.token
    with again:
        status, info = again.request("GET", f"companion/api/sessions/{sid}")
        assert status == 200 and info["phase"] == "terminated" and info["pid"] is None
        _, after = again.request("GET", f"companion/api/sessions/{sid}/events")
        assert after["events"][: len(before["events"])] == before["events"]
        status, _ = again.request("POST", f"companion/api/sessions/{sid}/messages", {"content": "what did I say before?"})
        assert status == 202

        def answered() -> bool:
            events = again.request("GET", f"companion/api/sessions/{sid}/events")[1]["events"]
            return any(e["type"] == "result" and "walrus" in (e.get("text") or "") for e in events)

        wait_until(answered)


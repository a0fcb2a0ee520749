"""Prove the test harness (pinned CLI + scripted Anthropic server) against the REAL Claude Code binary.

Each test spawns ``claude`` in stream-json mode, in a temporary cwd with a temporary HOME, pointed at
a :class:`ScriptedAnthropic` server, and talks to it the way the Claude backend will.
"""

from __future__ import annotations

import asyncio
import contextlib
import http.client
import json
import threading
import urllib.request
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from tests.support.anthropic_server import (
    HttpError,
    RecordedRequest,
    ScriptedAnthropic,
    Stall,
    Text,
    Thinking,
    ToolUse,
)
from tests.support.clis import CliInstallError, claude_env, ensure_cli

FLAGS = [
    "--print",
    "--input-format", "stream-json",
    "--output-format", "stream-json",
    "--verbose",
    "--include-partial-messages",
    "--permission-prompt-tool", "stdio",
]  # fmt: skip

#: Safety net only (a hung CLI fails the test instead of blocking CI); nothing asserts on timing.
WAIT = 60.0


@pytest.fixture(scope="module")
def claude_bin() -> str:
    """Path of the pinned Claude Code CLI (installed into the test cache on first use)."""
    try:
        return ensure_cli("claude")
    except CliInstallError as exc:
        pytest.fail(f"the pinned Claude Code CLI (npm @anthropic-ai/claude-code) could not be installed: {exc}", pytrace=False)


class Claude:
    """A running ``claude`` child speaking stream-json over stdio."""

    def __init__(self, proc: asyncio.subprocess.Process, cwd: Path) -> None:
        self.proc = proc
        self.cwd = cwd
        self.seen: list[dict[str, Any]] = []

    @classmethod
    async def spawn(cls, binary: str, srv: ScriptedAnthropic, tmp_path: Path) -> Claude:
        cwd, home = tmp_path / "work", tmp_path / "home"
        cwd.mkdir()
        home.mkdir()
        proc = await asyncio.create_subprocess_exec(
            binary,
            *FLAGS,
            cwd=cwd,
            env=claude_env(srv.base_url, home),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            limit=64 * 1024 * 1024,
        )
        return cls(proc, cwd)

    async def send(self, message: dict[str, Any]) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(message).encode() + b"\n")
        await self.proc.stdin.drain()

    async def prompt(self, text: str) -> None:
        await self.send({"type": "user", "message": {"role": "user", "content": text}})

    async def answer(self, request_id: str, payload: dict[str, Any]) -> None:
        await self.send(
            {
                "type": "control_response",
                "response": {"subtype": "success", "request_id": request_id, "response": payload},
            }
        )

    async def until(self, stop: Callable[[dict[str, Any]], bool]) -> list[dict[str, Any]]:
        """Read stdout messages up to and including the first one for which ``stop`` is true."""
        assert self.proc.stdout is not None
        got: list[dict[str, Any]] = []
        while True:
            line = await asyncio.wait_for(self.proc.stdout.readline(), WAIT)
            if not line:
                stderr = await self.proc.stderr.read() if self.proc.stderr else b""
                raise AssertionError(f"claude exited early; stderr: {stderr[-2000:]!r}; seen: {_kinds(got)}")
            if not line.startswith(b"{"):
                continue
            msg = json.loads(line)
            got.append(msg)
            self.seen.append(msg)
            if stop(msg):
                return got

    async def close(self) -> int:
        """Close stdin and wait for the exit code (killing the child if it does not exit)."""
        if self.proc.stdin is not None and not self.proc.stdin.is_closing():
            self.proc.stdin.close()
        try:
            return await asyncio.wait_for(self.proc.wait(), WAIT)
        except asyncio.TimeoutError:
            self.proc.kill()
            await self.proc.wait()
            raise

    async def kill(self) -> None:
        if self.proc.returncode is None:
            self.proc.kill()
            await self.proc.wait()


@contextlib.asynccontextmanager
async def running(binary: str, srv: ScriptedAnthropic, tmp_path: Path) -> AsyncIterator[Claude]:
    """Spawn claude for the duration of the block; kill it on the way out if still running."""
    claude = await Claude.spawn(binary, srv, tmp_path)
    try:
        yield claude
    finally:
        await claude.kill()


def _kind(msg: dict[str, Any]) -> str:
    """Compact label: ``system:init``, ``stream_event:content_block_delta``, ``control_request:can_use_tool``."""
    if msg["type"] == "stream_event":
        return "stream_event:" + msg["event"]["type"]
    if msg["type"] == "control_request":
        return "control_request:" + msg["request"]["subtype"]
    if "subtype" in msg:
        return f"{msg['type']}:{msg['subtype']}"
    return msg["type"]


def _kinds(msgs: list[dict[str, Any]]) -> list[str]:
    return [_kind(m) for m in msgs]


def is_result(msg: dict[str, Any]) -> bool:
    return msg["type"] == "result"


def is_permission(msg: dict[str, Any]) -> bool:
    return msg["type"] == "control_request" and msg["request"].get("subtype") == "can_use_tool"


def deltas(msgs: list[dict[str, Any]], kind: str = "text_delta") -> list[str]:
    """Texts of the ``stream_event`` content_block_delta events of one delta type."""
    key = {"text_delta": "text", "thinking_delta": "thinking", "input_json_delta": "partial_json"}[kind]
    return [
        m["event"]["delta"][key]
        for m in msgs
        if m["type"] == "stream_event"
        and m["event"]["type"] == "content_block_delta"
        and m["event"]["delta"]["type"] == kind
    ]


def assistant_blocks(msgs: list[dict[str, Any]], block_type: str) -> list[dict[str, Any]]:
    return [
        b
        for m in msgs
        if m["type"] == "assistant"
        for b in m["message"]["content"]
        if b["type"] == block_type
    ]


def tool_results(msgs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        b
        for m in msgs
        if m["type"] == "user" and isinstance(m["message"]["content"], list)
        for b in m["message"]["content"]
        if b.get("type") == "tool_result"
    ]


# --------------------------------------------------------------------------- server only (no CLI)


def test_server_side_routes_answer_without_rules() -> None:
    """Non-streaming side requests, count_tokens and unknown paths get well-formed 200 answers."""

    def post(url: str, body: dict[str, Any]) -> dict[str, Any]:
        req = urllib.request.Request(url, json.dumps(body).encode(), {"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=10) as resp:  # noqa: S310 - local test server
            assert resp.status == 200
            return json.loads(resp.read())

    with ScriptedAnthropic(side_reply="A title") as srv:
        msg = post(srv.base_url + "/v1/messages?beta=true", {"model": "m", "messages": [], "max_tokens": 5})
        assert msg["type"] == "message" and msg["content"] == [{"type": "text", "text": "A title"}]
        assert msg["stop_reason"] == "end_turn" and msg["usage"]["output_tokens"] >= 1
        count = post(
            srv.base_url + "/v1/messages/count_tokens?beta=true",
            {"messages": [{"role": "user", "content": "hi"}]},
        )
        assert isinstance(count["input_tokens"], int) and count["input_tokens"] > 0
        assert post(srv.base_url + "/api/whatever", {}) == {}
        assert srv.unknown == ["POST /api/whatever"]
        assert [r.route for r in srv.requests] == [
            "/v1/messages",
            "/v1/messages/count_tokens",
            "/api/whatever",
        ]
        assert srv.main_requests == []


def test_recorded_request_skips_reminders_and_system_messages() -> None:
    """The rule matcher sees the user's words, not the CLI's reminders or mid-conversation system text."""
    tool = {"type": "tool_use", "id": "toolu_1", "name": "Bash", "input": {}}
    body = {
        "stream": True,
        "messages": [
            {"role": "user", "content": [{"type": "text", "text": "<system-reminder>ctx</system-reminder>\n"},
                                         {"type": "text", "text": "do it"}]},
            {"role": "system", "content": "agents list"},
            {"role": "assistant", "content": [tool]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": "ok"}]},
            {"role": "system", "content": "late system text"},
        ],
    }  # fmt: skip
    req = RecordedRequest("POST", "/v1/messages?beta=true", {}, body)
    assert req.is_main
    assert req.last_user_text == "do it"
    assert [r["tool_use_id"] for r in req.tool_results] == ["toolu_1"]
    assert req.tool_result_names == ["Bash"]


def _sse(base_url: str, text: str | list[dict[str, Any]]) -> tuple[int, list[tuple[str, dict[str, Any]]]]:
    """POST a streaming request; return the status and the (event name, data) pairs."""
    content = text if isinstance(text, list) else [{"type": "text", "text": text}]
    body = {"model": "m", "stream": True, "messages": [{"role": "user", "content": content}]}
    conn = http.client.HTTPConnection(base_url.removeprefix("http://"), timeout=10)
    conn.request("POST", "/v1/messages?beta=true", json.dumps(body), {"Content-Type": "application/json"})
    resp = conn.getresponse()
    raw = resp.read().decode()
    conn.close()
    if resp.status != 200:
        return resp.status, [("http-error", json.loads(raw))]
    events = []
    for chunk in raw.strip().split("\n\n"):
        name_line, data_line = chunk.split("\n")
        assert name_line.startswith("event: ") and data_line.startswith("data: ")
        data = json.loads(data_line[len("data: ") :])
        assert data["type"] == name_line[len("event: ") :]
        events.append((data["type"], data))
    return resp.status, events


def test_rules_order_times_and_block_streaming() -> None:
    """First matching rule wins, ``times`` uses a rule up, tool_use ids are unique, SSE is named."""
    with ScriptedAnthropic() as srv:
        srv.on(r"tool", [Text("a"), ToolUse("Bash", {"command": "ls"})], times=1)
        srv.on(r"tool", ToolUse("Read", {"file_path": "/x"}))
        srv.on(r"boom", HttpError(529, "overloaded_error", "busy"))
        srv.on(r"call", lambda req: Text(f"called with {req.last_user_text!r}", chunks=2))

        status, first = _sse(srv.base_url, "use a tool")
        assert status == 200
        assert [name for name, _ in first] == [
            "message_start",
            "content_block_start", "content_block_delta", "content_block_stop",
            "content_block_start", "content_block_delta", "content_block_delta", "content_block_stop",
            "message_delta", "message_stop",
        ]  # fmt: skip
        assert first[-2][1]["delta"]["stop_reason"] == "tool_use"
        partial = "".join(
            d["delta"]["partial_json"]
            for n, d in first
            if d.get("delta", {}).get("type") == "input_json_delta"
        )
        assert json.loads(partial) == {"command": "ls"}

        _, second = _sse(srv.base_url, "use a tool again")
        starts = [d["content_block"] for n, d in first + second if n == "content_block_start"]
        tool_ids = [b["id"] for b in starts if b["type"] == "tool_use"]
        assert [b["name"] for b in starts if b["type"] == "tool_use"] == ["Bash", "Read"]
        assert len(set(tool_ids)) == 2 and all(i.startswith("toolu_") for i in tool_ids)

        status, err = _sse(srv.base_url, "boom")
        assert status == 529 and err[0][1]["error"]["type"] == "overloaded_error"

        _, called = _sse(srv.base_url, "call me")
        texts = [d["delta"]["text"] for n, d in called if n == "content_block_delta"]
        assert "".join(texts) == "called with 'call me'" and len(texts) == 2

        _, echo = _sse(srv.base_url, [{"type": "text", "text": "<system-reminder>x</system-reminder>"},
                                       {"type": "text", "text": "anything else"}])  # fmt: skip
        assert (
            "".join(d["delta"]["text"] for n, d in echo if n == "content_block_delta")
            == "Echo: anything else"
        )
        assert echo[-2][1]["delta"]["stop_reason"] == "end_turn"
        assert len(srv.main_requests) == 5


def test_stall_is_released_by_server_close() -> None:
    """A stalled stream does not keep the server (or its client) hanging once the server closes."""
    srv = ScriptedAnthropic().start()
    srv.on(None, [Text("partial"), Stall()])
    received: list[bytes] = []

    def client() -> None:
        conn = http.client.HTTPConnection(srv.base_url.removeprefix("http://"), timeout=30)
        body = {"model": "m", "stream": True, "messages": [{"role": "user", "content": "hi"}]}
        conn.request("POST", "/v1/messages", json.dumps(body), {"Content-Type": "application/json"})
        received.append(conn.getresponse().read())  # returns only when the server ends the stream
        conn.close()

    thread = threading.Thread(target=client, daemon=True)
    thread.start()
    assert srv.stalled.wait(30)
    srv.close()
    thread.join(30)
    assert not thread.is_alive()
    assert b"event: message_start" in received[0] and b"message_stop" not in received[0]


# --------------------------------------------------------------------------- real Claude Code


@pytest.mark.e2e
async def test_text_reply_streams(claude_bin: str, tmp_path: Path) -> None:
    """(a) A scripted text (and thinking) reply streams as deltas, then arrives whole, then a result."""
    with ScriptedAnthropic() as srv:
        srv.on(r"^say hello$", [Thinking("Greeting time."), Text("Hello from the script!", chunks=3)])
        async with running(claude_bin, srv, tmp_path) as claude:
            await claude.prompt("say hello")
            msgs = await claude.until(is_result)
            kinds = _kinds(msgs)
            assert kinds[0] == "system:init"
            assert kinds.index("stream_event:message_start") < kinds.index("result:success")
            text = deltas(msgs)
            assert len(text) == 3 and "".join(text) == "Hello from the script!"
            assert deltas(msgs, "thinking_delta") == ["Greeting time."]
            assert [b["text"] for b in assistant_blocks(msgs, "text")] == ["Hello from the script!"]
            assert [b["thinking"] for b in assistant_blocks(msgs, "thinking")] == ["Greeting time."]
            result = msgs[-1]
            assert result["subtype"] == "success" and result["is_error"] is False
            assert result["result"] == "Hello from the script!"
            init = msgs[0]
            assert init["cwd"] == str(claude.cwd) and "Bash" in init["tools"]
            assert await claude.close() == 0
        assert [r.last_user_text for r in srv.main_requests] == ["say hello"]
        assert srv.main_requests[0].path == "/v1/messages?beta=true"
        assert srv.unknown == []


async def _tool_turn(
    claude: Claude, srv: ScriptedAnthropic, decision: str
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Run the scripted ``touch x`` turn; answer the permission request with ``decision``."""
    await claude.prompt("please make x")
    before = await claude.until(is_permission)
    request = before[-1]
    [tool_use] = assistant_blocks(before, "tool_use")
    # Field names of the permission request as the pinned CLI sends them.
    assert isinstance(request["request_id"], str) and request["request_id"]
    req = request["request"]
    assert req["tool_name"] == "Bash"
    assert req["input"] == {"command": "touch x", "description": "Create the file x"}
    assert req["tool_use_id"] == tool_use["id"]
    assert isinstance(req["permission_suggestions"], list)
    assert req["blocked_path"] == str(claude.cwd / "x")
    if decision == "allow":
        await claude.answer(request["request_id"], {"behavior": "allow", "updatedInput": req["input"]})
    else:
        await claude.answer(request["request_id"], {"behavior": "deny", "message": "Denied by the test"})
    after = await claude.until(is_result)
    return before + after, tool_use


@pytest.mark.e2e
async def test_tool_permission_allow_runs_the_tool(claude_bin: str, tmp_path: Path) -> None:
    """(b) ToolUse → can_use_tool; allow with the original input → the command ran, result comes back."""
    with ScriptedAnthropic() as srv:
        srv.on(
            r"make x",
            [
                Text("Creating it."),
                ToolUse("Bash", {"command": "touch x", "description": "Create the file x"}),
            ],
        )
        srv.on_tool_result(Text("The file x now exists."), tool="Bash")
        async with running(claude_bin, srv, tmp_path) as claude:
            msgs, tool_use = await _tool_turn(claude, srv, "allow")
            assert (claude.cwd / "x").exists()
            [result_block] = tool_results(msgs)
            assert result_block["tool_use_id"] == tool_use["id"] and result_block["is_error"] is False
            assert [b["text"] for b in assistant_blocks(msgs, "text")] == [
                "Creating it.",
                "The file x now exists.",
            ]
            assert msgs[-1]["subtype"] == "success" and msgs[-1]["is_error"] is False
            assert msgs[-1]["result"] == "The file x now exists."
            assert msgs[-1]["permission_denials"] == []
            assert await claude.close() == 0
        follow_up = srv.main_requests[-1]
        assert [r["tool_use_id"] for r in follow_up.tool_results] == [tool_use["id"]]


@pytest.mark.e2e
async def test_tool_permission_deny_skips_the_tool(claude_bin: str, tmp_path: Path) -> None:
    """(c) Deny → the command never ran; the model sees an error tool_result carrying our message."""
    with ScriptedAnthropic() as srv:
        srv.on(r"make x", [ToolUse("Bash", {"command": "touch x", "description": "Create the file x"})])
        srv.on_tool_result(Text("Understood, not creating it."), tool="Bash")
        async with running(claude_bin, srv, tmp_path) as claude:
            msgs, tool_use = await _tool_turn(claude, srv, "deny")
            assert not (claude.cwd / "x").exists()
            [result_block] = tool_results(msgs)
            assert result_block["is_error"] is True and "Denied by the test" in str(result_block["content"])
            assert msgs[-1]["result"] == "Understood, not creating it."
            denials = msgs[-1]["permission_denials"]
            assert [(d["tool_name"], d["tool_use_id"]) for d in denials] == [("Bash", tool_use["id"])]
            assert await claude.close() == 0
        assert srv.main_requests[-1].tool_results[0]["is_error"] is True


@pytest.mark.e2e
async def test_interrupt_slow_stream_then_continue(claude_bin: str, tmp_path: Path) -> None:
    """(d) interrupt during a slow stream → error result; the same process then serves another turn."""
    with ScriptedAnthropic(slow=0.05) as srv:
        srv.on(r"long story", Text("word " * 400, chunks=400))  # ~20 s if never interrupted
        async with running(claude_bin, srv, tmp_path) as claude:
            await claude.prompt("tell a long story")
            await claude.until(
                lambda m: m["type"] == "stream_event" and m["event"]["type"] == "content_block_delta"
            )
            await claude.send(
                {"type": "control_request", "request_id": "int-1", "request": {"subtype": "interrupt"}}
            )
            msgs = await claude.until(is_result)
            acks = [m for m in msgs if m["type"] == "control_response"]
            assert [(a["response"]["subtype"], a["response"]["request_id"]) for a in acks] == [
                ("success", "int-1")
            ]
            users = [m["message"]["content"] for m in msgs if m["type"] == "user"]
            assert "[Request interrupted by user]" in json.dumps(users)
            assert msgs[-1]["is_error"] is True and msgs[-1]["subtype"] == "error_during_execution"
            assert len("".join(deltas(claude.seen))) < len("word " * 400)

            await claude.prompt("still there?")
            again = await claude.until(is_result)
            assert again[-1]["is_error"] is False and again[-1]["result"] == "Echo: still there?"
            assert await claude.close() == 0


@pytest.mark.e2e
async def test_interrupt_stalled_stream(claude_bin: str, tmp_path: Path) -> None:
    """A Stall()ed stream hangs the turn until interrupted; closing the server does not wait for it."""
    with ScriptedAnthropic() as srv:
        srv.on(r"hang", [Text("partial"), Stall()])
        async with running(claude_bin, srv, tmp_path) as claude:
            await claude.prompt("hang please")
            await claude.until(
                lambda m: m["type"] == "stream_event" and m["event"]["type"] == "content_block_delta"
            )
            assert await asyncio.to_thread(srv.stalled.wait, WAIT)
            await claude.send(
                {"type": "control_request", "request_id": "int-2", "request": {"subtype": "interrupt"}}
            )
            msgs = await claude.until(is_result)
            assert msgs[-1]["is_error"] is True
            # the CLI dropped the HTTP stream on interrupt, which released the stalled handler
            assert await asyncio.to_thread(srv.wait_for, lambda s: s.active_streams == 0, WAIT)
            # stdin EOF after an interrupted (is_error) last turn: the CLI exits 1, not 0
            assert await claude.close() == 1

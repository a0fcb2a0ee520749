"""A scripted Anthropic Messages API on 127.0.0.1 for driving the real Claude Code CLI offline.

Usage::

    with ScriptedAnthropic() as srv:
        srv.on(r"make a file", [Text("Sure."), ToolUse("Bash", {"command": "touch x", "description": "t"})])
        srv.on_tool_result(Text("Done."))
        env = claude_env(srv.base_url, home)
        ...
        assert srv.requests[-1].path.startswith("/v1/messages")

The server runs in a background thread (``ThreadingHTTPServer``), so it works with any asyncio loop.
Rules are tried in registration order; the first that matches (and is not used up) decides the reply.
Only streaming ``POST /v1/messages`` requests consult the rules; non-streaming side requests get a
short fixed Message, ``count_tokens`` an estimate, anything else 200 ``{}`` (logged in ``srv.unknown``).

What Claude Code 2.1.197 sends (observed here: ``--print`` stream-json, API-key auth,
CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1, offline, two turns + a Bash tool round trip):
  * ``HEAD /`` right at process start (user-agent ``Bun/1.4.0``), BEFORE any stdin line: a connectivity
    pre-flight. Answered 200 and recorded in ``srv.requests`` (not counted as unknown).
  * Otherwise nothing until the first stdin ``user`` line; then one ``POST /v1/messages?beta=true``
    (note the query string) with ``"stream": true`` per model round trip. NO count_tokens call, NO
    non-streaming side request (no title/topic generation), no ``/v1/models``, no OAuth/profile calls.
  * Body keys: model (default ``claude-opus-4-8``), messages, system (list of text blocks, the first is
    ``x-anthropic-billing-header: cc_version=...``), tools (27: Agent, AskUserQuestion, Bash, Cron*,
    Edit, EnterPlanMode, ..., Write), metadata.user_id (JSON string with session_id), max_tokens 64000,
    thinking ``{"type": "adaptive"}``, context_management, output_config ``{"effort": "high"}``, stream.
  * ``messages`` contains ``role: "system"`` entries (beta ``mid-conversation-system``): in the first
    request the LAST message is a system message (agent/skill listing) placed after the user message,
    so "the last message" is not necessarily the user's. The user message is
    ``[<system-reminder> text block, prompt text block (cache_control ephemeral)]``.
  * After a tool ran, the last user message is ``[{"type": "tool_result", ...}]`` answering the
    previous assistant ``tool_use``.
  * Headers include ``x-claude-code-session-id``, ``anthropic-beta: claude-code-20250219,...``,
    ``user-agent: claude-cli/2.1.197 (external, sdk-cli)``, ``x-api-key: test-key``.
  * A made-up thinking ``signature`` is accepted. On ``interrupt`` the CLI drops the HTTP stream.
  * On stdin EOF the CLI exits 0 if the last turn's result was a success, 1 if it was an error
    (e.g. an interrupted turn).
"""

from __future__ import annotations

import itertools
import json
import logging
import re
import select
import socket
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

log = logging.getLogger("tests.anthropic_server")

_REMINDER = re.compile(r"<system-reminder>.*?</system-reminder>", re.S)


# --------------------------------------------------------------------------- reply blocks


@dataclass(frozen=True)
class Text:
    """A text block, streamed as ``chunks`` text deltas with ``delay`` seconds between them
    (``None`` = the server's ``slow`` default)."""

    text: str
    chunks: int = 1
    delay: float | None = None


@dataclass(frozen=True)
class Thinking:
    """A thinking block (thinking delta + signature delta)."""

    text: str
    signature: str = "scripted-signature"


@dataclass(frozen=True)
class ToolUse:
    """A tool_use block; ``id`` defaults to a fresh unique ``toolu_...`` id."""

    name: str
    input: dict[str, Any]
    id: str | None = None


@dataclass(frozen=True)
class Stall:
    """Stop sending (the stream is never finished) until the client disconnects or the server closes."""


@dataclass(frozen=True)
class HttpError:
    """Answer with an HTTP error instead of a stream (429/5xx are retried by the CLI)."""

    status: int = 500
    type: str = "api_error"
    message: str = "scripted failure"


Block = Text | Thinking | ToolUse | Stall | HttpError
ReplySpec = Block | Sequence[Block] | Callable[["RecordedRequest"], Block | Sequence[Block]]


# --------------------------------------------------------------------------- recorded requests


@dataclass
class RecordedRequest:
    """One HTTP request the server received."""

    method: str
    path: str
    headers: dict[str, str]
    body: Any

    @property
    def route(self) -> str:
        """The path without its query string."""
        return self.path.split("?", 1)[0]

    @property
    def is_main(self) -> bool:
        """True for a streaming ``POST /v1/messages`` (a model round trip of the agent loop)."""
        return (
            self.method == "POST"
            and self.route == "/v1/messages"
            and isinstance(self.body, dict)
            and bool(self.body.get("stream"))
        )

    @property
    def messages(self) -> list[dict[str, Any]]:
        """The ``messages`` array of the body (empty when absent)."""
        msgs = self.body.get("messages") if isinstance(self.body, dict) else None
        return msgs if isinstance(msgs, list) else []

    @property
    def last_user_text(self) -> str:
        """The last real user text: newest user message text, ``<system-reminder>`` parts removed."""
        for msg in reversed(self.messages):
            if msg.get("role") != "user":
                continue
            content = msg.get("content")
            texts = (
                [content]
                if isinstance(content, str)
                else [
                    b.get("text", "")
                    for b in content or []
                    if isinstance(b, dict) and b.get("type") == "text"
                ]
            )
            cleaned = [_REMINDER.sub("", t).strip() for t in texts if isinstance(t, str)]
            cleaned = [t for t in cleaned if t]
            if cleaned:
                return cleaned[-1]
        return ""

    @property
    def user_texts(self) -> list[str]:
        """Every text the user wrote in this request's conversation, oldest first (system
        reminders left out)."""
        texts = []
        for message in self.messages:
            if message.get("role") != "user":
                continue
            content = message.get("content")
            for block in [{"type": "text", "text": content}] if isinstance(content, str) else content or []:
                text = block.get("text", "") if isinstance(block, dict) else ""
                if text and not text.startswith("<system-reminder>"):
                    texts.append(text.strip())
        return texts

    @property
    def tool_results(self) -> list[dict[str, Any]]:
        """``tool_result`` blocks of the last user/assistant message when it is a user message, else ``[]``
        (Claude Code appends ``role: "system"`` messages after the user turn; they are skipped)."""
        convo = [m for m in self.messages if m.get("role") in ("user", "assistant")]
        if not convo or convo[-1].get("role") != "user":
            return []
        content = convo[-1].get("content")
        if not isinstance(content, list):
            return []
        return [b for b in content if isinstance(b, dict) and b.get("type") == "tool_result"]

    def tool_use(self, tool_use_id: str) -> dict[str, Any] | None:
        """The assistant ``tool_use`` block with this id from the conversation, if any."""
        for msg in self.messages:
            content = msg.get("content")
            if msg.get("role") == "assistant" and isinstance(content, list):
                for b in content:
                    if isinstance(b, dict) and b.get("type") == "tool_use" and b.get("id") == tool_use_id:
                        return b
        return None

    @property
    def tool_result_names(self) -> list[str]:
        """Names of the tools whose results the last user message carries."""
        names = []
        for r in self.tool_results:
            use = self.tool_use(str(r.get("tool_use_id")))
            names.append(str(use.get("name")) if use else "")
        return names


@dataclass
class _Rule:
    pattern: re.Pattern[str] | None
    reply: ReplySpec
    tool_result: bool
    tool: str | None
    times: int | None
    used: int = 0

    def matches(self, req: RecordedRequest) -> bool:
        if self.times is not None and self.used >= self.times:
            return False
        if bool(req.tool_results) != self.tool_result:
            return False
        if self.tool is not None and self.tool not in req.tool_result_names:
            return False
        return self.pattern is None or self.pattern.search(req.last_user_text) is not None


# --------------------------------------------------------------------------- server


class ScriptedAnthropic:
    """Scripted Messages API server; use as a context manager (``srv.base_url`` inside)."""

    def __init__(self, *, slow: float = 0.0, side_reply: str = "Scripted side reply") -> None:
        """``slow``: default seconds between text chunks; ``side_reply``: text of non-streaming answers."""
        self.slow = slow
        self.side_reply = side_reply
        self.requests: list[RecordedRequest] = []
        self.unknown: list[str] = []
        self.stalled = threading.Event()
        #: streaming responses currently being written (a Stall()ed one stays until the client leaves)
        self.active_streams = 0
        self._rules: list[_Rule] = []
        self._lock = threading.Condition()
        self._stop = threading.Event()
        self._ids = itertools.count(1)
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # ---- scripting

    def on(self, pattern: str | None, reply: ReplySpec, *, times: int | None = None) -> None:
        """Answer a request whose last real user text matches ``pattern`` (regex search; None = any)
        and whose last message carries no tool_result. ``times``: use the rule at most that often."""
        self._add(_Rule(re.compile(pattern) if pattern is not None else None, reply, False, None, times))

    def on_tool_result(
        self,
        reply: ReplySpec,
        *,
        tool: str | None = None,
        prompt: str | None = None,
        times: int | None = None,
    ) -> None:
        """Answer a request whose last user message carries a tool_result (for ``tool`` if given,
        optionally only when the turn's user text matches the regex ``prompt``)."""
        self._add(_Rule(re.compile(prompt) if prompt is not None else None, reply, True, tool, times))

    def _add(self, rule: _Rule) -> None:
        with self._lock:
            self._rules.append(rule)

    # ---- inspection

    @property
    def main_requests(self) -> list[RecordedRequest]:
        """The streaming ``/v1/messages`` requests (model round trips) received so far."""
        with self._lock:
            return [r for r in self.requests if r.is_main]

    def wait_for(self, predicate: Callable[[ScriptedAnthropic], bool], timeout: float = 30.0) -> bool:
        """Block (in a thread; use ``asyncio.to_thread`` from async code) until ``predicate(self)``."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while not predicate(self):
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._lock.wait(left)
        return True

    # ---- lifecycle

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>`` (valid once started)."""
        if self._httpd is None:
            raise RuntimeError("server not started")
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    def start(self) -> ScriptedAnthropic:
        """Bind a random port and serve in a daemon thread."""
        handler = type("_BoundHandler", (_Handler,), {"scripted": self})
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, name="scripted-anthropic", daemon=True
        )
        self._thread.start()
        return self

    def close(self) -> None:
        """Stop serving; stalled streams are released, not waited for."""
        self._stop.set()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> ScriptedAnthropic:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- internals used by the handler

    def _record(self, req: RecordedRequest) -> None:
        with self._lock:
            self.requests.append(req)
            self._lock.notify_all()

    def _reply_for(self, req: RecordedRequest) -> list[Block]:
        with self._lock:
            rule = next((r for r in self._rules if r.matches(req)), None)
            if rule is not None:
                rule.used += 1
        if rule is None:
            if req.tool_results:
                return [Text("Tool finished.")]
            return [Text(f"Echo: {req.last_user_text}")]
        spec = rule.reply(req) if callable(rule.reply) else rule.reply
        if isinstance(spec, (Text, Thinking, ToolUse, Stall, HttpError)):
            return [spec]
        return list(spec)

    def _new_id(self, prefix: str) -> str:
        return f"{prefix}_{next(self._ids):04d}{uuid.uuid4().hex[:16]}"


def _estimate_tokens(body: Any) -> int:
    return max(1, len(json.dumps(body)) // 4)


class _Handler(BaseHTTPRequestHandler):
    scripted: ScriptedAnthropic
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        log.debug("%s " + format, self.address_string(), *args)

    # ---- plumbing

    def _read_body(self) -> Any:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        if not raw:
            return None
        try:
            return json.loads(raw)
        except ValueError:
            return raw.decode("utf-8", "replace")

    def _json(self, status: int, payload: Any) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("request-id", "req_scripted")
        self.end_headers()
        self.wfile.write(data)

    def _handle(self, method: str) -> None:
        body = self._read_body() if method in ("POST", "PUT", "PATCH") else None
        req = RecordedRequest(method, self.path, {k.lower(): v for k, v in self.headers.items()}, body)
        self.scripted._record(req)
        try:
            self._dispatch(req)
        except (TimeoutError, BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def do_POST(self) -> None:  # noqa: N802 - stdlib naming
        self._handle("POST")

    def do_GET(self) -> None:  # noqa: N802
        self._handle("GET")

    def do_HEAD(self) -> None:  # noqa: N802
        req = RecordedRequest("HEAD", self.path, dict(self.headers.items()), None)
        self.scripted._record(req)
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    # ---- routes

    def _dispatch(self, req: RecordedRequest) -> None:
        srv = self.scripted
        if req.method == "POST" and req.route == "/v1/messages/count_tokens":
            self._json(200, {"input_tokens": _estimate_tokens(req.body)})
        elif req.method == "POST" and req.route == "/v1/messages":
            body = req.body if isinstance(req.body, dict) else {}
            if body.get("stream"):
                with srv._lock:
                    srv.active_streams += 1
                try:
                    self._stream(req, srv._reply_for(req))
                finally:
                    with srv._lock:
                        srv.active_streams -= 1
                        srv._lock.notify_all()
            else:
                self._json(200, self._message(body, srv.side_reply))
        elif req.method == "GET" and req.route == "/v1/models":
            self._json(200, {"data": [], "has_more": False, "first_id": None, "last_id": None})
        else:
            log.warning("scripted Anthropic server: unexpected %s %s", req.method, req.path)
            with srv._lock:
                srv.unknown.append(f"{req.method} {req.path}")
            self._json(200, {})

    def _message(self, body: dict[str, Any], text: str) -> dict[str, Any]:
        return {
            "id": self.scripted._new_id("msg"),
            "type": "message",
            "role": "assistant",
            "model": body.get("model", "claude-scripted"),
            "content": [{"type": "text", "text": text}],
            "stop_reason": "end_turn",
            "stop_sequence": None,
            "usage": {"input_tokens": _estimate_tokens(body), "output_tokens": max(1, len(text) // 4)},
        }

    # ---- SSE

    def _event(self, payload: dict[str, Any]) -> None:
        self.wfile.write(f"event: {payload['type']}\ndata: {json.dumps(payload)}\n\n".encode())
        self.wfile.flush()

    def _sleep(self, seconds: float) -> None:
        """Wait, returning early (by raising) when the client went away or the server closes."""
        deadline = time.monotonic() + seconds
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return
            if self.scripted._stop.is_set():
                raise ConnectionResetError("server closing")
            readable, _, _ = select.select([self.connection], [], [], min(left, 0.1))
            if readable:
                if not self.connection.recv(1, socket.MSG_PEEK):
                    raise ConnectionResetError("client disconnected")
                self.scripted._stop.wait(min(left, 0.1))  # unread bytes pending: avoid a busy loop

    def _stream(self, req: RecordedRequest, blocks: list[Block]) -> None:
        srv = self.scripted
        body = req.body if isinstance(req.body, dict) else {}
        errors = [b for b in blocks if isinstance(b, HttpError)]
        if errors:
            err = errors[0]
            self._json(err.status, {"type": "error", "error": {"type": err.type, "message": err.message}})
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Connection", "close")
        self.send_header("request-id", "req_scripted")
        self.end_headers()
        self.close_connection = True
        self._event(
            {
                "type": "message_start",
                "message": {
                    "id": srv._new_id("msg"),
                    "type": "message",
                    "role": "assistant",
                    "model": body.get("model", "claude-scripted"),
                    "content": [],
                    "stop_reason": None,
                    "stop_sequence": None,
                    "usage": {
                        "input_tokens": _estimate_tokens(body),
                        "output_tokens": 1,
                        "cache_creation_input_tokens": 0,
                        "cache_read_input_tokens": 0,
                    },
                },
            }
        )
        output_tokens = 1
        for index, block in enumerate(blocks):
            if isinstance(block, Stall):
                srv.stalled.set()
                self._sleep(float("inf"))
            elif isinstance(block, Text):
                self._event(
                    {
                        "type": "content_block_start",
                        "index": index,
                        "content_block": {"type": "text", "text": ""},
                    }
                )
                delay = srv.slow if block.delay is None else block.delay
                for i, piece in enumerate(_split(block.text, block.chunks)):
                    if i and delay:
                        self._sleep(delay)
                    self._event(
                        {
                            "type": "content_block_delta",
                            "index": index,
                            "delta": {"type": "text_delta", "text": piece},
                        }
                    )
                self._event({"type": "content_block_stop", "index": index})
                output_tokens += max(1, len(block.text) // 4)
            elif isinstance(block, Thinking):
                start: dict[str, Any] = {"type": "thinking", "thinking": "", "signature": ""}
                self._event({"type": "content_block_start", "index": index, "content_block": start})
                self._event(
                    {
                        "type": "content_block_delta",
                        "index": index,
                        "delta": {"type": "thinking_delta", "thinking": block.text},
                    }
                )
                self._event(
                    {
                        "type": "content_block_delta",
                        "index": index,
                        "delta": {"type": "signature_delta", "signature": block.signature},
                    }
                )
                self._event({"type": "content_block_stop", "index": index})
                output_tokens += max(1, len(block.text) // 4)
            elif isinstance(block, ToolUse):
                start = {
                    "type": "tool_use",
                    "id": block.id or srv._new_id("toolu"),
                    "name": block.name,
                    "input": {},
                }
                self._event({"type": "content_block_start", "index": index, "content_block": start})
                for piece in _split(json.dumps(block.input), 2):
                    self._event(
                        {
                            "type": "content_block_delta",
                            "index": index,
                            "delta": {"type": "input_json_delta", "partial_json": piece},
                        }
                    )
                self._event({"type": "content_block_stop", "index": index})
                output_tokens += 10
        stop_reason = "tool_use" if any(isinstance(b, ToolUse) for b in blocks) else "end_turn"
        self._event(
            {
                "type": "message_delta",
                "delta": {"stop_reason": stop_reason, "stop_sequence": None},
                "usage": {"output_tokens": output_tokens},
            }
        )
        self._event({"type": "message_stop"})


def _split(text: str, chunks: int) -> list[str]:
    """Split ``text`` into ``chunks`` non-empty pieces (fewer when the text is shorter)."""
    chunks = max(1, min(chunks, len(text)))
    if chunks == 1:
        return [text]
    size, extra = divmod(len(text), chunks)
    pieces, pos = [], 0
    for i in range(chunks):
        end = pos + size + (1 if i < extra else 0)
        pieces.append(text[pos:end])
        pos = end
    return pieces


__all__ = [
    "HttpError",
    "RecordedRequest",
    "ScriptedAnthropic",
    "Stall",
    "Text",
    "Thinking",
    "ToolUse",
]

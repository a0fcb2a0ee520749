"""A scripted OpenAI Responses API server for driving the real Codex CLI offline.

Codex (``codex app-server``) is pointed at it through a custom model provider in
``CODEX_HOME/config.toml`` (see :mod:`tests.support.codex_env`). It answers
``POST /v1/responses`` with a Server-Sent-Events stream in the format Codex parses
(``response.created``, ``response.output_item.added``, ``response.output_text.delta``,
``response.output_item.done``, ``response.completed`` with usage) and decides *what* to
answer from a list of :class:`Rule` objects:

* a rule keyed on the last user text (``user_contains``) answers a fresh prompt;
* a rule keyed on a tool result (``after_output_contains``) answers the request Codex sends
  after it ran (or was refused) a command — the input then ends with a
  ``function_call_output``;
* a rule may ask for a command (an ``exec_command`` function call with ``{"cmd": ...}``),
  stream slowly (``delay`` between chunks) or stall (send a first delta, then hold the
  connection open until :meth:`ScriptedOpenAI.release` or shutdown).

Everything runs on a stdlib ``ThreadingHTTPServer`` in a background thread bound to
127.0.0.1. Every request body is recorded in :attr:`ScriptedOpenAI.requests`. Unknown paths
get ``200 {}`` and are logged in :attr:`ScriptedOpenAI.unknown`.
"""

from __future__ import annotations

import itertools
import json
import logging
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

log = logging.getLogger("tests.openai_server")

_ids = itertools.count(1)


@dataclass
class Rule:
    """One scripted answer.

    Matching: ``user_contains`` matches a substring of the last user message when the request
    does not end with a tool result; ``after_output_contains`` matches a substring of the
    final ``function_call_output`` (use ``""`` to match any tool result). A rule with neither
    key matches any fresh prompt.
    """

    user_contains: str | None = None
    after_output_contains: str | None = None
    #: Text streamed as ``output_text`` deltas (skipped when ``command`` is set).
    text: str = ""
    #: A shell command asked for through an ``exec_command`` function call.
    command: str | None = None
    #: Ask for the command to run outside the sandbox (``sandbox_permissions: require_escalated``
    #: with a justification): Codex then asks for approval even where it runs commands freely.
    escalate: bool = False
    #: Split ``text`` into this many characters per delta.
    chunk: int = 8
    #: Seconds to sleep between deltas (slow mode).
    delay: float = 0.0
    #: Stall mode: after the first delta, hold the stream until released.
    stall: bool = False
    #: Answer with this HTTP error instead of a stream (the body is OpenAI's error object, e.g.
    #: 401 ``invalid_api_key``); Codex retries it (``request_max_retries``) before giving up.
    http_status: int | None = None

    def matches(self, user_text: str | None, tool_output: str | None) -> bool:
        """Whether this rule answers a request with this user text / tool output."""
        if tool_output is not None:
            return self.after_output_contains is not None and self.after_output_contains in tool_output
        if self.after_output_contains is not None:
            return False
        return self.user_contains is None or (user_text is not None and self.user_contains in user_text)


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(str(part.get("text", "")) for part in content if isinstance(part, dict))
    return ""


def last_user_text(body: dict[str, Any]) -> str | None:
    """The last real user message of a Responses request (Codex's context messages skipped)."""
    for item in reversed(body.get("input") or []):
        if not isinstance(item, dict) or item.get("type", "message") != "message":
            continue
        if item.get("role") != "user":
            continue
        text = _text_of(item.get("content"))
        if text.lstrip().startswith("<"):
            continue
        return text
    return None


def trailing_tool_output(body: dict[str, Any]) -> str | None:
    """The output of a ``function_call_output`` when it is the last input item, else None."""
    items = [i for i in body.get("input") or [] if isinstance(i, dict)]
    if not items or items[-1].get("type") not in ("function_call_output", "custom_tool_call_output"):
        return None
    output = items[-1].get("output")
    return output if isinstance(output, str) else _text_of(output)


class ScriptedOpenAI:
    """The scripted server; use as a context manager or call :meth:`start`/:meth:`stop`."""

    def __init__(self, rules: list[Rule] | None = None, default_text: str = "OK."):
        self.rules: list[Rule] = list(rules or [])
        self.default_text = default_text
        self.requests: list[dict[str, Any]] = []
        self.unknown: list[str] = []
        self._released = threading.Event()
        self._stopping = threading.Event()
        #: Set when a stalled stream has sent its first delta.
        self.stalled = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        """The TCP port the server listens on."""
        assert self._server is not None, "server not started"
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        """The provider ``base_url`` for Codex (Codex appends ``/responses``)."""
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self) -> ScriptedOpenAI:
        """Bind 127.0.0.1 on a free port and serve in a daemon thread."""
        handler = type("Handler", (_Handler,), {"scripted": self})
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Release stalled streams and shut the server down."""
        self._stopping.set()
        self._released.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def release(self) -> None:
        """Let stalled streams finish."""
        self._released.set()

    def __enter__(self) -> ScriptedOpenAI:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def pick(self, body: dict[str, Any]) -> Rule:
        """The first rule matching a request body (a default text rule otherwise)."""
        tool_output = trailing_tool_output(body)
        user_text = last_user_text(body)
        for rule in self.rules:
            if rule.matches(user_text, tool_output):
                return rule
        if tool_output is not None:
            return Rule(text=f"Command finished: {tool_output[:200]}")
        return Rule(text=self.default_text)

    def tool_outputs(self) -> list[str]:
        """Every ``function_call_output`` Codex sent back, in order (deduplicated by call id)."""
        seen: dict[str, str] = {}
        for body in self.requests:
            for item in body.get("input") or []:
                if isinstance(item, dict) and item.get("type") == "function_call_output":
                    output = item.get("output")
                    seen[str(item.get("call_id"))] = output if isinstance(output, str) else _text_of(output)
        return list(seen.values())


def _sse(event: dict[str, Any]) -> bytes:
    return f"event: {event['type']}\ndata: {json.dumps(event)}\n\n".encode()


class _Handler(BaseHTTPRequestHandler):
    scripted: ScriptedOpenAI
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        log.debug("openai_server: " + format, *args)

    def _json(self, status: int, payload: Any) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _read_body(self) -> bytes:
        length = int(self.headers.get("content-length") or 0)
        return self.rfile.read(length) if length else b""

    def do_GET(self) -> None:  # noqa: N802 - stdlib name
        if self.path.split("?")[0].rstrip("/").endswith("/models"):
            self._json(200, {"object": "list", "data": [], "models": []})
            return
        self.scripted.unknown.append(f"GET {self.path}")
        self._json(200, {})

    def do_POST(self) -> None:  # noqa: N802 - stdlib name
        raw = self._read_body()
        if self.path.split("?")[0].rstrip("/") != "/v1/responses":
            self.scripted.unknown.append(f"POST {self.path}")
            self._json(200, {})
            return
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            self._json(400, {"error": {"message": "invalid JSON"}})
            return
        self.scripted.requests.append(body)
        rule = self.scripted.pick(body)
        if rule.http_status is not None:
            self._json(rule.http_status, {"error": {
                "message": rule.text or "Incorrect API key provided: sk-test***", "type": "invalid_request_error",
                "param": None, "code": "invalid_api_key" if rule.http_status == 401 else "server_error"}})
            return
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.send_header("cache-control", "no-cache")
        self.send_header("connection", "close")
        self.end_headers()
        self.close_connection = True
        try:
            self._stream(rule)
        except (BrokenPipeError, ConnectionResetError):
            log.debug("client closed the stream")

    def _send(self, event: dict[str, Any]) -> None:
        self.wfile.write(_sse(event))
        self.wfile.flush()

    def _stream(self, rule: Rule) -> None:
        n = next(_ids)
        resp_id = f"resp_{n}"
        self._send(
            {
                "type": "response.created",
                "response": {"id": resp_id, "object": "response", "status": "in_progress", "output": []},
            }
        )
        item: dict[str, Any] | None
        if rule.command is not None:
            item = self._function_call(n, rule.command, rule.escalate)
        else:
            item = self._message(n, rule)
            if item is None:  # stalled and then shut down
                return
        usage = {
            "input_tokens": 100,
            "input_tokens_details": {"cached_tokens": 0},
            "output_tokens": 20,
            "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": 120,
        }
        self._send(
            {
                "type": "response.completed",
                "response": {
                    "id": resp_id,
                    "object": "response",
                    "status": "completed",
                    "output": [item],
                    "usage": usage,
                },
            }
        )

    def _function_call(self, n: int, command: str, escalate: bool = False) -> dict[str, Any]:
        fields: dict[str, Any] = {"cmd": command}
        if escalate:
            fields.update(sandbox_permissions="require_escalated", justification="The scripted model asks to run it")
        arguments = json.dumps(fields)
        item = {
            "type": "function_call",
            "id": f"fc_{n}",
            "call_id": f"call_{n}",
            "name": "exec_command",
            "arguments": "",
            "status": "in_progress",
        }
        self._send({"type": "response.output_item.added", "output_index": 0, "item": item})
        self._send(
            {
                "type": "response.function_call_arguments.done",
                "item_id": item["id"],
                "output_index": 0,
                "arguments": arguments,
            }
        )
        done = dict(item, arguments=arguments, status="completed")
        self._send({"type": "response.output_item.done", "output_index": 0, "item": done})
        return done

    def _message(self, n: int, rule: Rule) -> dict[str, Any] | None:
        msg_id = f"msg_{n}"
        self._send(
            {
                "type": "response.output_item.added",
                "output_index": 0,
                "item": {
                    "type": "message",
                    "id": msg_id,
                    "role": "assistant",
                    "status": "in_progress",
                    "content": [],
                },
            }
        )
        self._send(
            {
                "type": "response.content_part.added",
                "item_id": msg_id,
                "output_index": 0,
                "content_index": 0,
                "part": {"type": "output_text", "text": "", "annotations": []},
            }
        )
        text = rule.text
        step = max(1, rule.chunk)
        for index, start in enumerate(range(0, len(text), step)):
            self._send(
                {
                    "type": "response.output_text.delta",
                    "item_id": msg_id,
                    "output_index": 0,
                    "content_index": 0,
                    "delta": text[start : start + step],
                }
            )
            if rule.stall and index == 0:
                self.scripted.stalled.set()
                while not self.scripted._released.wait(0.2):
                    pass
                if self.scripted._stopping.is_set():
                    return None
            if rule.delay:
                time.sleep(rule.delay)
        done = {
            "type": "message",
            "id": msg_id,
            "role": "assistant",
            "status": "completed",
            "content": [{"type": "output_text", "text": text, "annotations": []}],
        }
        self._send({"type": "response.output_item.done", "output_index": 0, "item": done})
        return done

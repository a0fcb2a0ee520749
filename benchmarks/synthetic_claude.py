#!/usr/bin/env python3
"""A synthetic ``claude`` CLI for benchmarks: just enough stream-json to drive the real adapter.

It answers ``--version`` and the ``initialize`` control request, then treats every ``user``
line's text as a JSON load program and prints NDJSON at a controlled rate. Every timed line
carries ``T<monotonic_ns>`` (CLOCK_MONOTONIC, shared by every process of the machine) in its
text, taken just before the line is written, so a client on the same machine can compute
"CLI wrote the line" -> "client received the frame".

Programs (the user message text is a JSON object):

- ``{"mode": "stream", "rate": 200, "seconds": 10, "assistant_every": 10, "tick_ms": 10}``:
  ``rate`` lines per second for ``seconds``; every ``assistant_every``-th line is a stored
  ``assistant`` line, the others are ``stream_event`` text deltas (transient). Lines are
  written in ticks of ``tick_ms`` (each line flushed and timestamped on its own).
- ``{"mode": "burst", "count": 10000}``: ``count`` assistant lines as fast as possible.

Every program ends with a ``result`` line. Only the standard library is used.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
import uuid

SESSION_ID = str(uuid.uuid4())
_OUT = sys.stdout.buffer
_LOCK = threading.Lock()
_STOP = threading.Event()


def _write(line: bytes) -> None:
    with _LOCK:
        _OUT.write(line)
        _OUT.flush()


def _send(obj: object) -> None:
    _write(json.dumps(obj, separators=(",", ":")).encode() + b"\n")


# Pre-rendered line templates: only the timestamp changes, so the CLI itself stays cheap.
_DELTA_HEAD = b'{"type":"stream_event","event":{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"T'
_DELTA_TAIL = b'"}},"session_id":"' + SESSION_ID.encode() + b'","parent_tool_use_id":null}\n'
_ASSIST_HEAD = (
    b'{"type":"assistant","message":{"id":"msg_bench","model":"bench-1","role":"assistant",'
    b'"content":[{"type":"text","text":"T'
)
_ASSIST_TAIL = (
    b'"}],"usage":{"input_tokens":1,"output_tokens":1},"stop_reason":null},"parent_tool_use_id":null,'
    b'"session_id":"' + SESSION_ID.encode() + b'"}\n'
)


def _delta() -> None:
    _write(_DELTA_HEAD + str(time.monotonic_ns()).encode() + _DELTA_TAIL)


def _assistant() -> None:
    _write(_ASSIST_HEAD + str(time.monotonic_ns()).encode() + _ASSIST_TAIL)


def _init() -> None:
    _send({"type": "system", "subtype": "init", "cwd": os.getcwd(), "session_id": SESSION_ID, "tools": [],
           "mcp_servers": [], "model": "bench-1", "permissionMode": "default", "slash_commands": [],
           "skills": [], "agents": [], "claude_code_version": "0.0.0-bench", "uuid": str(uuid.uuid4())})
    _send({"type": "stream_event", "event": {"type": "message_start", "message": {"id": "msg_bench"}},
           "session_id": SESSION_ID, "parent_tool_use_id": None})


def _result(lines: int, started: float) -> None:
    _send({"type": "result", "subtype": "success", "is_error": False, "duration_ms": int((time.monotonic() - started) * 1000),
           "num_turns": 1, "result": f"emitted {lines} lines", "session_id": SESSION_ID, "total_cost_usd": 0.0,
           "usage": {"input_tokens": 1, "output_tokens": lines}})


def _stream(program: dict[str, float]) -> None:
    rate = float(program.get("rate", 200))
    seconds = float(program.get("seconds", 10))
    every = int(program.get("assistant_every", 10))
    tick = float(program.get("tick_ms", 10)) / 1000.0
    started = time.monotonic()
    _init()
    total = int(rate * seconds)
    sent = 0
    next_tick = time.monotonic()
    while sent < total and not _STOP.is_set():
        due = min(total, int((time.monotonic() - started) * rate) + 1)
        while sent < due:
            sent += 1
            if every and sent % every == 0:
                _assistant()
            else:
                _delta()
        next_tick += tick
        pause = next_tick - time.monotonic()
        if pause > 0:
            time.sleep(pause)
        else:
            next_tick = time.monotonic()
    _result(sent, started)


def _burst(program: dict[str, float]) -> None:
    count = int(program.get("count", 10000))
    started = time.monotonic()
    _init()
    for _ in range(count):
        _assistant()
    _result(count, started)


def _run(text: str) -> None:
    try:
        program = json.loads(text)
    except ValueError:
        program = {"mode": "burst", "count": 1}
    _STOP.clear()
    if program.get("mode") == "stream":
        _stream(program)
    else:
        _burst(program)


def _text_of(message: dict[str, object]) -> str:
    content = message.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(b.get("text", "") for b in content if isinstance(b, dict))
    return ""


def main() -> int:
    """Serve stream-json on stdio until stdin closes."""
    if "--version" in sys.argv:
        print("0.0.0-bench (Claude Code)")
        return 0
    worker: threading.Thread | None = None
    for raw in sys.stdin:
        try:
            msg = json.loads(raw)
        except ValueError:
            continue
        kind = msg.get("type")
        if kind == "control_request":
            request = msg.get("request") or {}
            if request.get("subtype") == "interrupt":
                _STOP.set()
            reply: dict[str, object] = {"commands": [], "models": []} if request.get("subtype") == "initialize" else {}
            _send({"type": "control_response",
                   "response": {"subtype": "success", "request_id": msg.get("request_id"), "response": reply}})
        elif kind == "user":
            if worker is not None:
                worker.join()
            worker = threading.Thread(target=_run, args=(_text_of(msg.get("message") or {}),), daemon=True)
            worker.start()
    _STOP.set()
    if worker is not None:
        worker.join(5)
    return 0


if __name__ == "__main__":
    sys.exit(main())

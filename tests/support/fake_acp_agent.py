"""A scripted ACP agent (JSON-RPC 2.0, one object per line on stdio) for fast unit tests.

It speaks the wire format of the ACP schema (as ``claude-agent-acp`` and ``codex-acp`` do, see
``verified-cli-behaviour.md``) and decides what to do from the prompt's last text block:

- ``hello``: two message chunks; ``think``: a thought chunk, then a message; ``plan``: a plan;
- ``run CMD``: an ``execute`` tool call announced with an empty input, filled in, then a
  permission request; allowed → completed, rejected → failed, cancelled → stop ``cancelled``;
- ``write PATH`` / ``read PATH``: ``fs/write_text_file`` / ``fs/read_text_file`` on the client;
- ``terminal CMD ARGS``: ``terminal/create`` → ``wait_for_exit`` → ``output`` → ``release``;
- ``drift``: an unknown update kind, an unknown notification, a non-JSON line, an object with
  neither method nor id, and (``FAKE_ACP_HUGE_LINE`` bytes, if set) an oversized line; then text;
- ``slow``: chunks every 50 ms until ``session/cancel``;
- ``mode``: the agent switches its own mode to ``plan``.

Sessions are kept in ``$FAKE_ACP_STATE/sessions.json`` so a relaunched agent can ``session/load``
them (replaying their history, as real agents do); ``FAKE_ACP_NO_LOAD=1`` removes that capability.
Every message received is appended to ``$FAKE_ACP_STATE/received.jsonl``.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
import uuid
from typing import Any

STATE = os.environ.get("FAKE_ACP_STATE", ".")
_write_lock = threading.Lock()
_pending: dict[int, dict[str, Any]] = {}
_pending_cond = threading.Condition()
_cancelled: set[str] = set()
_ids = iter(range(1000, 10**9))
MODES = [{"id": "default", "name": "Default"}, {"id": "acceptEdits", "name": "Accept Edits"},
         {"id": "plan", "name": "Plan Mode"}]
MODELS = [{"value": "fast", "name": "Fast"}, {"value": "smart", "name": "Smart"}]
state: dict[str, Any] = {"mode": "default", "model": "fast"}


def send(obj: dict[str, Any]) -> None:
    with _write_lock:
        sys.stdout.write(json.dumps({"jsonrpc": "2.0", **obj}) + "\n")
        sys.stdout.flush()


def raw(line: str) -> None:
    with _write_lock:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()


def update(session_id: str, body: dict[str, Any]) -> None:
    send({"method": "session/update", "params": {"sessionId": session_id, "update": body}})


def chunk(session_id: str, text: str, kind: str = "agent_message_chunk") -> None:
    update(session_id, {"sessionUpdate": kind, "content": {"type": "text", "text": text}})


def request(method: str, params: dict[str, Any]) -> dict[str, Any]:
    """Call the client and wait for its answer (``{"result": ...}`` or ``{"error": ...}``)."""
    rpc_id = next(_ids)
    send({"id": rpc_id, "method": method, "params": params})
    with _pending_cond:
        while rpc_id not in _pending:
            _pending_cond.wait()
        return _pending.pop(rpc_id)


def sessions() -> dict[str, list[list[str]]]:
    try:
        with open(os.path.join(STATE, "sessions.json")) as fh:
            return dict(json.load(fh))
    except (OSError, ValueError):
        return {}


def remember(session_id: str, prompt: str, reply: str) -> None:
    known = sessions()
    known.setdefault(session_id, []).append([prompt, reply])
    with open(os.path.join(STATE, "sessions.json"), "w") as fh:
        json.dump(known, fh)


def session_state() -> dict[str, Any]:
    return {
        "modes": {"currentModeId": state["mode"], "availableModes": MODES},
        "configOptions": [{"id": "model", "name": "Model", "category": "model", "type": "select",
                           "currentValue": state["model"], "options": MODELS}],
    }


def tool(session_id: str, tool_id: str, command: str) -> str:
    update(session_id, {"sessionUpdate": "tool_call", "toolCallId": tool_id, "title": "Terminal", "kind": "execute",
                        "status": "pending", "rawInput": {}})
    update(session_id, {"sessionUpdate": "tool_call_update", "toolCallId": tool_id, "title": command,
                        "rawInput": {"command": command, "description": "scripted"}})
    answer = request("session/request_permission", {
        "sessionId": session_id,
        "toolCall": {"toolCallId": tool_id, "title": command, "kind": "execute", "rawInput": {"command": command}},
        "options": [{"optionId": "always", "name": "Always Allow", "kind": "allow_always"},
                    {"optionId": "once", "name": "Allow", "kind": "allow_once"},
                    {"optionId": "no", "name": "Reject", "kind": "reject_once"}],
    })
    outcome = (answer.get("result") or {}).get("outcome") or {}
    if outcome.get("outcome") == "cancelled":
        return "cancelled"
    chosen = outcome.get("optionId")
    ok = chosen in ("always", "once")
    update(session_id, {"sessionUpdate": "tool_call_update", "toolCallId": tool_id,
                        "status": "completed" if ok else "failed",
                        "content": [{"type": "content", "content": {"type": "text", "text": f"{chosen}: {command}"}}]})
    chunk(session_id, f"Tool {'ran' if ok else 'was refused'} ({chosen}).")
    return "end_turn"


def turn(session_id: str, text: str) -> tuple[str, str]:
    """Act on one prompt; (stop reason, reply text)."""
    words = text.split()
    head = words[0] if words else ""
    if head == "think":
        chunk(session_id, "Let me think.", "agent_thought_chunk")
        chunk(session_id, "Thought done.")
        return "end_turn", "Thought done."
    if head == "plan":
        update(session_id, {"sessionUpdate": "plan", "entries": [
            {"content": "Read", "priority": "high", "status": "completed"},
            {"content": "Write", "priority": "medium", "status": "in_progress"}]})
        return "end_turn", ""
    if head == "run":
        return tool(session_id, f"call_{uuid.uuid4().hex[:8]}", " ".join(words[1:])), "ran"
    if head == "write":
        answer = request("fs/write_text_file", {"sessionId": session_id, "path": words[1], "content": "written\n"})
        reply = "wrote" if "result" in answer else f"refused: {answer['error'].get('message')} {answer['error'].get('data')}"
        chunk(session_id, reply)
        return "end_turn", reply
    if head == "read":
        answer = request("fs/read_text_file", {"sessionId": session_id, "path": words[1]})
        reply = (answer.get("result") or {}).get("content") or f"refused: {answer.get('error')}"
        chunk(session_id, reply)
        return "end_turn", reply
    if head == "terminal":
        created = request("terminal/create", {"sessionId": session_id, "command": words[1], "args": words[2:],
                                              "outputByteLimit": 1000})
        terminal_id = created["result"]["terminalId"]
        update(session_id, {"sessionUpdate": "tool_call", "toolCallId": "term-call", "title": " ".join(words[1:]),
                            "kind": "execute", "status": "in_progress",
                            "content": [{"type": "terminal", "terminalId": terminal_id}]})
        exited = request("terminal/wait_for_exit", {"sessionId": session_id, "terminalId": terminal_id})["result"]
        output = request("terminal/output", {"sessionId": session_id, "terminalId": terminal_id})["result"]
        update(session_id, {"sessionUpdate": "tool_call_update", "toolCallId": "term-call", "status": "completed"})
        request("terminal/release", {"sessionId": session_id, "terminalId": terminal_id})
        reply = f"exit {exited.get('exitCode')}: {output['output'].strip()}"
        chunk(session_id, reply)
        return "end_turn", reply
    if head == "drift":
        update(session_id, {"sessionUpdate": "brand_new_update", "what": 1})
        send({"method": "x/brand_new_notification", "params": {}})
        raw("this is not JSON")
        raw(json.dumps({"jsonrpc": "2.0", "neither": "method nor id"}))
        huge = int(os.environ.get("FAKE_ACP_HUGE_LINE") or 0)
        if huge:
            raw(json.dumps({"jsonrpc": "2.0", "method": "session/update", "params": {
                "sessionId": session_id, "update": {"sessionUpdate": "agent_message_chunk",
                                                    "content": {"type": "text", "text": "x" * huge}}}}))
        chunk(session_id, "still here")
        return "end_turn", "still here"
    if head == "slow":
        for i in range(400):
            if session_id in _cancelled:
                return "cancelled", ""
            chunk(session_id, f"{i} ")
            time.sleep(0.05)
        return "end_turn", "slow"
    if head == "mode":
        state["mode"] = "plan"
        update(session_id, {"sessionUpdate": "current_mode_update", "currentModeId": "plan"})
        return "end_turn", ""
    reply = f"Hello {text[-40:]}" if head == "hello" else f"Echo: {text[-200:]}"
    chunk(session_id, reply[:6])
    chunk(session_id, reply[6:])
    update(session_id, {"sessionUpdate": "usage_update", "used": 120, "size": 1000,
                        "cost": {"amount": 0.01 * (len(sessions().get(session_id, [])) + 1), "currency": "USD"}})
    return "end_turn", reply


def handle(message: dict[str, Any]) -> None:
    method, params, rpc_id = message.get("method"), message.get("params") or {}, message.get("id")
    if method == "initialize":
        send({"id": rpc_id, "result": {
            "protocolVersion": 1,
            "agentCapabilities": {"loadSession": os.environ.get("FAKE_ACP_NO_LOAD") != "1",
                                  "promptCapabilities": {"image": True}},
            "agentInfo": {"name": "fake-acp", "title": "Fake ACP", "version": "9.9.9"},
            "authMethods": []}})
    elif method == "session/new":
        session_id = f"fake-{uuid.uuid4().hex[:10]}"
        remember_empty = sessions()
        remember_empty[session_id] = []
        with open(os.path.join(STATE, "sessions.json"), "w") as fh:
            json.dump(remember_empty, fh)
        send({"id": rpc_id, "result": {"sessionId": session_id, **session_state()}})
    elif method == "session/load":
        session_id = params.get("sessionId")
        history = sessions().get(session_id)
        if history is None:
            send({"id": rpc_id, "error": {"code": -32002, "message": "Resource not found", "data": {"uri": session_id}}})
            return
        for prompt, reply in history:  # replayed, as real agents do
            update(session_id, {"sessionUpdate": "user_message_chunk", "content": {"type": "text", "text": prompt}})
            chunk(session_id, reply)
        send({"id": rpc_id, "result": session_state()})
    elif method == "session/prompt":
        session_id = params["sessionId"]
        _cancelled.discard(session_id)
        text = "".join(b.get("text", "") for b in params.get("prompt") or [] if b.get("type") == "text")
        last = [b.get("text", "") for b in params.get("prompt") or [] if b.get("type") == "text"][-1]
        images = sum(1 for b in params.get("prompt") or [] if b.get("type") == "image")

        def run() -> None:
            stop, reply = turn(session_id, last)
            remember(session_id, text, reply + (f" [{images} image(s)]" if images else ""))
            send({"id": rpc_id, "result": {"stopReason": stop,
                                           "usage": {"totalTokens": 30, "inputTokens": 20, "outputTokens": 10}}})

        threading.Thread(target=run, daemon=True).start()
    elif method == "session/cancel":
        _cancelled.add(params.get("sessionId"))
    elif method == "session/set_mode":
        state["mode"] = params.get("modeId")
        send({"id": rpc_id, "result": {}})
        update(params["sessionId"], {"sessionUpdate": "current_mode_update", "currentModeId": state["mode"]})
    elif method == "session/set_config_option":
        if params.get("value") not in [m["value"] for m in MODELS]:
            send({"id": rpc_id, "error": {"code": -32602, "message": "Invalid params", "data": {"value": params.get("value")}}})
            return
        state["model"] = params.get("value")
        send({"id": rpc_id, "result": {"configOptions": session_state()["configOptions"]}})
    elif method is None and rpc_id is not None:
        with _pending_cond:
            _pending[rpc_id] = message
            _pending_cond.notify_all()
    elif rpc_id is not None:
        send({"id": rpc_id, "error": {"code": -32601, "message": "Method not found", "data": {"method": method}}})


def main() -> None:
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        message = json.loads(line)
        with open(os.path.join(STATE, "received.jsonl"), "a") as fh:
            fh.write(line + "\n")
        handle(message)


if __name__ == "__main__":
    main()

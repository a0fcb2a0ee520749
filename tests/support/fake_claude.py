"""A fake Claude Code CLI (stream-json over stdio) for fast unit tests of the core.

It reproduces the canonical sequences of the real CLI closely enough to exercise the adapter,
the session and the supervisor; the real CLI is driven by the e2e tests. Behaviour is chosen by
the prompt text:

- ``touch NAME``  asks permission for ``Bash touch NAME``; allow creates the file.
- ``slow``        streams one delta every 50 ms until interrupted (or 200 deltas).
- ``hang``        prints nothing more for this turn.
- ``crash``       exits with code 3.
- ``noise``       prints non-JSON lines, unknown types and a very large line first.
- anything else   a short streamed text reply ``echo: <prompt>``.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
import uuid

OUT_LOCK = threading.Lock()
SESSION_ID = str(uuid.uuid4())
COST = [0.0]
STATE: dict[str, object] = {"interrupted": False, "pending": None}
PERMISSION = threading.Event()
DECISION: dict[str, object] = {}


def out(obj: object) -> None:
    with OUT_LOCK:
        sys.stdout.write(json.dumps(obj) + "\n")
        sys.stdout.flush()


def parse_args(argv: list[str]) -> dict[str, str]:
    opts: dict[str, str] = {}
    for i, arg in enumerate(argv):
        if arg.startswith("--resume="):
            opts["resume"] = arg.split("=", 1)[1]
        elif arg in ("--model", "--permission-mode") and i + 1 < len(argv):
            opts[arg[2:]] = argv[i + 1]
        elif arg == "--fork-session":
            opts["fork"] = "1"
    return opts


OPTS = parse_args(sys.argv[1:])
if OPTS.get("resume") and not OPTS.get("fork"):
    SESSION_ID = OPTS["resume"]
MODEL = OPTS.get("model", "claude-fake-1")
MODE = [OPTS.get("permission-mode", "default")]


def init() -> None:
    out({"type": "system", "subtype": "init", "cwd": os.getcwd(), "session_id": SESSION_ID, "tools": ["Bash", "Read"],
         "mcp_servers": [], "model": MODEL, "permissionMode": MODE[0], "slash_commands": ["compact", "review"],
         "skills": [], "agents": [], "claude_code_version": "0.0.0-fake", "uuid": str(uuid.uuid4())})
    out({"type": "system", "subtype": "status", "status": "requesting"})


def stream_text(text: str, msg_id: str, delay: float = 0.0, pieces: int = 3) -> str:
    out({"type": "stream_event", "event": {"type": "message_start", "message": {"id": msg_id}}, "session_id": SESSION_ID})
    sent = ""
    chunk = max(1, len(text) // pieces)
    for i in range(0, len(text), chunk):
        if STATE["interrupted"]:
            break
        part = text[i:i + chunk]
        sent += part
        out({"type": "stream_event", "event": {"type": "content_block_delta", "index": 0,
                                               "delta": {"type": "text_delta", "text": part}}})
        if delay:
            time.sleep(delay)
    return sent


def assistant(msg_id: str, content: list[dict[str, object]]) -> None:
    out({"type": "assistant", "message": {"id": msg_id, "model": MODEL, "role": "assistant", "content": content,
                                          "usage": {"input_tokens": 5, "output_tokens": 7}},
         "parent_tool_use_id": None, "session_id": SESSION_ID})


def result(text: str, is_error: bool = False, subtype: str = "success") -> None:
    COST[0] += 0.001
    out({"type": "result", "subtype": subtype, "is_error": is_error, "duration_ms": 12, "num_turns": 1,
         "result": text, "session_id": SESSION_ID, "total_cost_usd": round(COST[0], 6),
         "usage": {"input_tokens": 5, "output_tokens": 7}, "permission_denials": []})


def turn(prompt: str) -> None:
    STATE["interrupted"] = False
    init()
    msg_id = "msg_" + uuid.uuid4().hex[:12]
    if prompt == "crash":
        os._exit(3)
    if prompt == "hang":
        return
    if prompt == "unreachable":  # what the real CLI prints while it retries a refused connection
        out({"type": "system", "subtype": "api_retry", "attempt": 1, "max_retries": 10, "retry_delay_ms": 600.5,
             "error_status": None, "error": "unknown", "session_id": SESSION_ID, "uuid": str(uuid.uuid4())})
        return
    if prompt == "noise":
        with OUT_LOCK:
            sys.stdout.write("[SandboxDebug] not json\n{broken json\n")
            sys.stdout.write(json.dumps({"type": "mystery_type", "x": 1}) + "\n")
            sys.stdout.write(json.dumps({"type": "assistant_blob", "blob": "x" * (int(os.environ.get("FAKE_BIG", "1000000")))}) + "\n")
            sys.stdout.flush()
    if prompt.startswith("touch "):
        name = prompt.split(" ", 1)[1].strip()
        tool_id = "toolu_" + uuid.uuid4().hex[:10]
        tool_input = {"command": f"touch {name}", "description": "Create a file"}
        assistant(msg_id, [{"type": "tool_use", "id": tool_id, "name": "Bash", "input": tool_input}])
        request_id = str(uuid.uuid4())
        PERMISSION.clear()
        STATE["pending"] = request_id
        out({"type": "control_request", "request_id": request_id, "request": {
            "subtype": "can_use_tool", "tool_name": "Bash", "input": tool_input, "tool_use_id": tool_id,
            "description": "Create a file",
            "permission_suggestions": [{"type": "addRules", "rules": [{"toolName": "Bash", "ruleContent": "touch:*"}],
                                        "behavior": "allow", "destination": "localSettings"}]}})
        PERMISSION.wait()
        STATE["pending"] = None
        if STATE["interrupted"]:
            result("interrupted", True, "error_during_execution")
            return
        if DECISION.get("behavior") == "allow":
            command = (DECISION.get("updatedInput") or tool_input)["command"]  # type: ignore[index]
            open(os.path.join(os.getcwd(), command.split(" ", 1)[1]), "w").close()
            out({"type": "user", "message": {"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": tool_id, "content": "", "is_error": False}]},
                "tool_use_result": {"stdout": "", "stderr": "", "interrupted": False}})
            text = f"created {name}"
        else:
            out({"type": "user", "message": {"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": tool_id, "content": DECISION.get("message", "denied"),
                 "is_error": True}]}})
            text = "permission denied"
        msg2 = "msg_" + uuid.uuid4().hex[:12]
        stream_text(text, msg2)
        assistant(msg2, [{"type": "text", "text": text}])
        result(text)
        return
    if prompt == "slow":
        sent = stream_text("x" * 200, msg_id, delay=0.05, pieces=200)
        assistant(msg_id, [{"type": "text", "text": sent}])
        if STATE["interrupted"]:
            out({"type": "user", "message": {"role": "user", "content": [{"type": "text", "text": "[Request interrupted by user]"}]}})
            result("", True, "error_during_execution")
        else:
            result(sent)
        return
    text = f"echo: {prompt}"
    stream_text(text, msg_id)
    assistant(msg_id, [{"type": "text", "text": text}])
    result(text)


def worker(queue: list[str], cond: threading.Condition) -> None:
    while True:
        with cond:
            while not queue:
                cond.wait()
            prompt = queue.pop(0)
        turn(prompt)


def main() -> None:
    queue: list[str] = []
    cond = threading.Condition()
    threading.Thread(target=worker, args=(queue, cond), daemon=True).start()
    for raw in sys.stdin:
        try:
            msg = json.loads(raw)
        except ValueError:
            continue
        kind = msg.get("type")
        if kind == "user":
            content = msg["message"]["content"]
            if isinstance(content, list):
                content = " ".join(b.get("text", "") for b in content if b.get("type") == "text")
            with cond:
                queue.append(content)
                cond.notify()
        elif kind == "control_request":
            req = msg["request"]
            sub = req.get("subtype")
            response: dict[str, object] = {}
            if sub == "initialize":
                response = {"commands": [{"name": "compact", "description": "Compact"}], "models": []}
            elif sub == "interrupt":
                STATE["interrupted"] = True
                if STATE["pending"]:
                    out({"type": "control_cancel_request", "request_id": STATE["pending"]})
                    PERMISSION.set()
            elif sub == "set_permission_mode":
                MODE[0] = req["mode"]
                response = {"mode": req["mode"]}
                out({"type": "system", "subtype": "status", "status": None, "permissionMode": req["mode"]})
            elif sub == "set_model":
                pass
            else:
                out({"type": "control_response", "response": {"subtype": "error", "request_id": msg["request_id"],
                                                              "error": f"unknown subtype {sub}"}})
                continue
            out({"type": "control_response", "response": {"subtype": "success", "request_id": msg["request_id"],
                                                          "response": response}})
        elif kind == "control_response":
            resp = msg["response"]
            if resp.get("request_id") == STATE["pending"]:
                DECISION.clear()
                DECISION.update(resp.get("response") or {})
                PERMISSION.set()
    sys.exit(0)


if __name__ == "__main__":
    if OPTS.get("resume", "").startswith("lost-"):  # what the real CLI does when a transcript is missing
        out({"type": "result", "subtype": "error_during_execution", "is_error": True, "num_turns": 0})
        sys.stderr.write(f"No conversation found with session ID: {OPTS['resume']}\n")
        sys.exit(1)
    if "--version" in sys.argv:
        print("0.0.0-fake (Claude Code)")
        sys.exit(0)
    main()

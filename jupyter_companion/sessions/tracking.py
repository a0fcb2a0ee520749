"""What an event changes in its session: the object clients see (model, tools, pending permission
requests, totals) and the state the core keeps (the turn, the partial answer, the model trouble,
the server's activity)."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from ..events import add_cost, add_usage

if TYPE_CHECKING:
    from .session import Session


def follow(session: Session, kind: str, event: dict[str, Any]) -> None:
    """Apply ``event`` (of type ``kind``, about to be stored) to ``session``."""
    now = session.last_output_at = time.monotonic()
    if session.phase in ("streaming", "compacting"):  # an agent at work keeps the server active
        session.orch.activity.note(now)
    if kind == "notice" and event.get("code") == "model_retrying":
        session.model_trouble = str(event.get("detail") or event.get("message") or "")
    elif kind in ("stream_delta", "assistant", "tool_result", "result"):
        session.model_trouble = None
    if kind == "session_init":
        for field in ("model", "tools", "slash_commands", "skills", "backend_version"):
            if event.get(field) is not None:
                session.info[field] = event[field]
        if event.get("permission_mode"):
            session.info["permission_mode"] = event["permission_mode"]
    elif kind == "permission_request":
        request = {k: v for k, v in event.items() if k != "type"}
        session.pending[str(event["request_id"])] = request
    elif kind == "permission_resolved":
        session.pending.pop(str(event.get("request_id")), None)
    elif kind == "result":
        session.prompts.turn_ended()
        session.partial.clear()
        if session.interrupt_requested and event.get("is_error"):
            event.setdefault("interrupted", True)  # stopped on request: not a failure
        session.interrupt_requested = False
        session.info["num_turns"] = (session.info.get("num_turns") or 0) + 1
        session.info["cost_usd"] = add_cost(session.info.get("cost_usd"), event.get("cost_usd"))
        session.info["usage"] = add_usage(session.info.get("usage"), event.get("usage"))
        if not event.get("is_error"):
            session.relaunch_attempts = 0
            session.crash_exhausted = False
        session.orch.after_turn(session)
    elif kind == "error" and event.get("code") == "context_lost":
        session.info["recap_pending"] = True  # the next prompt carries a recap (kept across restarts)
    elif kind == "assistant":
        model = (event.get("message") or {}).get("model")
        if not event.get("parent_tool_use_id"):
            session.partial.clear()  # what was streamed arrives whole now
            if model:
                session.info["model"] = model
    elif kind == "phase" and event.get("phase") == "terminated":
        session.partial.clear()
        session.prompts.turn_open = False  # waiting prompts go with the next launch

"""A turn the server's stop interrupted, and the permission requests held over the restart.

When the Jupyter server stops in the middle of a turn (JupyterHub's idle culler, an admin, a
restart), every CLI is stopped with it: no agent outlives its server. What users see:

- the turn ends with an ``error`` ``server_stopped`` saying so (``retry: true`` when nothing was
  pending: Retry sends the last message again);
- a permission request that was waiting for an answer is *held*: it stays in
  ``pending_permissions`` (``held: true``) and in the conversation, and can be answered after the
  restart. Allowing it relaunches the agent (resuming its conversation) and asks it to carry on; the
  same tool call with the same input, asked again, is then allowed without asking twice. Denying it
  tells the agent at its next prompt. The stop may also be a crash (``kill -9``): the restore
  step finds the turn still open in the store and reports it the same way.
"""

from __future__ import annotations

import asyncio
import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .session import Session

#: Phases in which a turn is running (or waiting for the user in the middle of one).
TURN_PHASES = frozenset({"streaming", "awaiting_permission", "compacting"})


def hold(session: Session, phase: str | None = None) -> dict[str, Any] | None:
    """The server stops (or stopped) during ``session``'s turn: mark its pending requests held and
    answer the event that reports it (None when no turn was running)."""
    phase = phase or session.phase
    if phase not in TURN_PHASES and not session.pending:
        return None
    for request in session.pending.values():
        request["held"] = True
    held = list(session.pending.values())
    if held:
        tools = ", ".join(sorted({str(r.get("tool_name") or "a tool") for r in held}))
        return {"type": "error", "code": "server_stopped", "held_requests": [r["request_id"] for r in held],
                "message": f"The Jupyter server stopped while the agent waited for your permission ({tools}). "
                           "The request is kept: answer it and the agent carries on from there."}
    return {"type": "error", "code": "server_stopped", "retry": True,
            "message": "The Jupyter server stopped in the middle of this turn (an idle culler or a restart), "
                       "so the turn was interrupted. What the agent had written is kept above; Retry sends "
                       "your last message again."}


def signature(request: dict[str, Any]) -> str:
    """What makes two permission requests the same tool call: the tool and its input."""
    return json.dumps([request.get("tool_name"), request.get("input")], sort_keys=True, default=str)


async def answer(session: Session, request_id: str, behavior: str, message: str | None, by: str) -> None:
    """Answer a held request: the agent that asked is gone, so allowing it relaunches the agent and
    asks it to carry on (its identical request is then allowed at once); denying it is told to the
    agent with the next prompt."""
    request = session.pending.pop(request_id)
    resolved: dict[str, Any] = {"type": "permission_resolved", "request_id": request_id, "behavior": behavior,
                                "by": by, "held": True}
    if message:
        resolved["message"] = message
    session.emit(resolved)
    tool = str(request.get("tool_name") or "the tool")
    if behavior != "allow":
        reason = f" ({message})" if message else ""
        session.info["held_note"] = (f"[Before the Jupyter server restarted you asked to use {tool}; the user "
                                     f"denied it{reason}. Do not use it for that.]")
        session.save_soon()
        return
    session.held_approvals.add(signature(request))
    text = (f"[The Jupyter server restarted while you waited for permission to use {tool} with input "
            f"{json.dumps(request.get('input'), default=str)[:2000]}. The user has now allowed it: please "
            "carry on with what you were doing.]")
    if session.prompts.turn_open or session.phase in TURN_PHASES:  # a newer turn runs: told after it
        session.info["held_note"] = text
        session.save_soon()
        session.emit({"type": "notice", "level": "info", "code": "held_permission_allowed",
                      "message": f"You allowed {tool}; the agent is told with your next message."})
        return
    session.emit({"type": "notice", "level": "info", "code": "held_permission_allowed",
                  "message": f"You allowed {tool} after the restart; the agent is resumed and carries on."})
    session.prompts.turn_open = True
    session.orch.track(asyncio.ensure_future(session.prompts.deliver_text(text)))


def allowed_again(session: Session, request: dict[str, Any]) -> bool:
    """True (once) when ``request`` repeats a held one the user allowed after the restart."""
    key = signature(request)
    if key in session.held_approvals:
        session.held_approvals.discard(key)
        return True
    return False


def with_note(session: Session, content: str) -> str:
    """The prompt, preceded by what the agent must know about a held request the user denied."""
    note = session.info.pop("held_note", None)
    return f"{note}\n\n{content}" if note else content

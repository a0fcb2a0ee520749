"""Answering a session's permission requests: by a plugin or a request held over a restart before
the user is asked, then by the user (REST, WebSocket, the clients)."""

from __future__ import annotations

import contextlib
import time
from typing import TYPE_CHECKING, Any

from ..backends.base import BackendError
from . import held

if TYPE_CHECKING:
    from .session import Session


class NotPending(LookupError):
    """A permission response names a request that is not pending."""


async def ask_first(session: Session, request: dict[str, Any]) -> None:
    """A request was just stored: allow it when it repeats a held one the user allowed after a
    restart, else let a ``permission_request`` plugin decide before the user is asked."""
    if session.phase != "awaiting_permission" and session.phase in ("streaming", "ready"):
        session.set_phase("awaiting_permission")
    if held.allowed_again(session, request):
        decision: dict[str, Any] | None = {"behavior": "allow"}
        by = "held"
    else:
        decision, by = session.orch.plugins.decide_permission(session, request), "plugin"
    if not decision or decision.get("behavior") not in ("allow", "deny"):
        return
    with contextlib.suppress(NotPending, BackendError, ConnectionError):
        await respond(session, str(request["request_id"]), decision["behavior"],
                      updated_input=decision.get("updated_input"), message=decision.get("message"), by=by)


async def respond(
    session: Session,
    request_id: str,
    behavior: str,
    *,
    updated_input: dict[str, Any] | None = None,
    message: str | None = None,
    updated_permissions: list[dict[str, Any]] | None = None,
    by: str = "user",
) -> None:
    """Answer a pending request (a held one through :func:`.held.answer`); raise
    :class:`NotPending` when there is none, ``BackendError`` when the CLI that asked is gone."""
    request = session.pending.get(request_id)
    if request is None:
        raise NotPending(request_id)
    if request.get("held"):
        await held.answer(session, request_id, behavior, message, by)
        return
    if not session.running or session.adapter is None:
        raise BackendError("the CLI that asked is no longer running")
    await session.adapter.respond_permission(request_id, behavior, updated_input=updated_input, message=message,
                                             updated_permissions=updated_permissions, original=request)
    if request_id not in session.pending:  # resolved meanwhile (cancelled by the CLI)
        return
    resolved: dict[str, Any] = {"type": "permission_resolved", "request_id": request_id, "behavior": behavior, "by": by}
    if message:
        resolved["message"] = message
    session.emit(resolved)
    if not session.pending and session.phase == "awaiting_permission":
        session.last_output_at = time.monotonic()
        session.set_phase("streaming")

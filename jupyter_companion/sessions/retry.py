"""Retry: send the session's last prompt again (after the CLI died in the middle of its answer)."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from ..errors import ApiError

if TYPE_CHECKING:
    from .session import Session


async def last_prompt(session: Session) -> dict[str, Any] | None:
    """The session's latest stored ``user_message`` (None when there is none)."""
    await session.delivered()
    upto = session.delivered_seq
    window = 200
    while upto > 0:  # newest first, a window at a time: a long history is not read whole
        after = max(0, upto - window)
        events = await asyncio.to_thread(session.store.read_events, session.id, after, upto)
        for event in reversed(events):
            if event.get("type") == "user_message":
                return event
        upto, window = after, window * 4
    return None


async def retry_last_prompt(session: Session, client_msg_id: str | None) -> dict[str, Any]:
    """Send the last prompt again as a new ``user_message`` (``retry_of`` its seq).

    ApiError 409 when the session is archived or has no prompt yet. Answers ``{retry_of,
    duplicate, queued}`` (queued: it waits for the running turn to end).
    """
    if session.archived:
        raise ApiError(409, "this session is archived; unarchive it first")
    prompt = await last_prompt(session)
    if prompt is None:
        raise ApiError(409, "this session has no earlier message to send again")
    outcome = await session.send_user_message(str(prompt.get("content") or ""), list(prompt.get("images") or []),
                                              client_msg_id, retry_of=int(prompt["seq"]))
    return {"retry_of": prompt["seq"], "duplicate": outcome == "duplicate", "queued": outcome == "queued"}

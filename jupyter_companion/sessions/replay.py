"""Subscribing to a session: the stored events a client missed, then live ones, with no gap and no
duplicate (see ``docs/architecture.md``, "Replay")."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .session import Session


class Subscriber:
    """A live listener of one session (a WebSocket, a test, a widget relay)."""

    def __init__(self, send: Callable[[str], None], after: int = 0):
        self.send = send
        self.closed = False
        #: Stored events up to this seq were already seen by the client (never sent again).
        self.after = after


async def replay_then_follow(session: Session, send: Callable[[str], None], after: int) -> Subscriber:
    """Send every stored event with ``seq > after``, then live events; register the subscriber.

    The subscriber is registered before the replay is read, so live events that arrive while the
    history is loading wait in order behind it. Pending permission requests the client saw before
    (``seq <= after``) are announced again as transient frames (``resent: true``).
    """
    upto = session.delivered_seq
    buffer: list[str] = []
    replaying = True

    def send_or_buffer(text: str) -> None:
        if replaying:
            buffer.append(text)
        else:
            send(text)

    subscriber = Subscriber(send_or_buffer, after)
    session.subscribers.add(subscriber)
    try:
        if after < upto:
            rows = await asyncio.to_thread(session.store.read_events_raw, session.id, after, upto)
            for text in rows:
                send(text)
    except BaseException:
        subscriber.closed = True
        session.subscribers.discard(subscriber)
        raise
    for request in list(session.pending.values()):
        if (request.get("seq") or 0) <= after:
            send(json.dumps({**request, "type": "permission_request", "seq": None, "session_id": session.id,
                             "resent": True, "original_seq": request.get("seq")}, separators=(",", ":")))
    replaying = False
    for text in buffer:
        send(text)
    subscriber.send = send
    return subscriber

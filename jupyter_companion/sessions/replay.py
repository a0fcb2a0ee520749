"""Subscribing to a session: the stored events a client missed, what was streamed so far of the
message in progress, then live events, with no gap and no duplicate (``docs/architecture.md``,
"Replay")."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .session import Session


class PartialMessage:
    """The text (and thinking) streamed so far of the message in progress.

    ``stream_delta`` events stay transient; the session adds each one here and clears it once the
    message arrives whole (a top-level ``assistant``), the turn ends or the CLI stops, so a client
    that connects mid-stream is sent the start of the answer at once (:meth:`snapshot`).
    """

    def __init__(self) -> None:
        self.message_id: str | None = None
        self.parts: dict[str, list[str]] = {}

    def add(self, delta: dict[str, Any]) -> None:
        """Account for one ``stream_delta`` envelope."""
        if delta.get("message_id") is not None and delta.get("message_id") != self.message_id:
            self.message_id = str(delta["message_id"])
        self.parts.setdefault(str(delta.get("kind") or "text"), []).append(str(delta.get("text") or ""))

    def clear(self) -> None:
        """The message arrived whole (or will not): nothing in progress."""
        self.message_id = None
        self.parts = {}

    def snapshot(self, session_id: str) -> list[str]:
        """Frames carrying everything streamed so far: transient ``stream_delta`` events marked
        ``snapshot: true`` (a client replaces its draft with them instead of appending)."""
        frames = []
        for kind, parts in self.parts.items():
            text = "".join(parts)
            if text:
                frames.append(json.dumps({"type": "stream_delta", "seq": None, "session_id": session_id,
                                          "kind": kind, "text": text, "message_id": self.message_id,
                                          "snapshot": True}, separators=(",", ":")))
        return frames


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
    (``seq <= after``) are announced again as transient frames (``resent: true``), and what was
    streamed of the message in progress is sent as ``snapshot`` deltas.
    """
    upto = session.delivered_seq
    in_progress = session.partial.snapshot(session.id)  # as of now: later deltas land in the buffer
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
    for frame in in_progress:
        send(frame)
    replaying = False
    for text in buffer:
        send(text)
    subscriber.send = send
    return subscriber

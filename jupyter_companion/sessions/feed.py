"""The sessions feed: one stream of session-object changes for every session of the server.

A client that lists sessions (the JupyterLab sidebar, a dashboard) subscribes once instead of
polling ``GET sessions`` or opening a socket per session. It gets a snapshot of every session,
then the whole session object of each one whose list-visible state changed (phase, pending
permissions, cost, name, archived, git, ...) and the id of each one deleted.

Changes are coalesced: a session touched many times within :data:`COALESCE_SECONDS` is sent
once, with its state at the time of sending, so a streaming turn costs the feed nothing and a
busy server sends at most a few frames per session per second.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .orchestrator import Orchestrator

log = logging.getLogger("jupyter_companion.feed")

#: Session changes within this window go out as one frame.
COALESCE_SECONDS = 0.1

#: Stored event types that change what a session list shows.
FEED_EVENT_TYPES = frozenset({
    "phase", "session_init", "session_update", "permission_request", "permission_resolved",
    "result", "user_message", "error",
})

Send = Callable[[str], None]


def _frame(data: dict[str, Any]) -> str:
    return json.dumps({"seq": None, **data}, separators=(",", ":"))


class SessionFeed:
    """Fans coalesced session changes out to feed subscribers."""

    def __init__(self, orchestrator: Orchestrator):
        self.orch = orchestrator
        self._subscribers: set[Send] = set()
        self._dirty: set[str] = set()
        self._flush_handle: asyncio.TimerHandle | None = None

    @property
    def subscriber_count(self) -> int:
        """How many clients follow the feed."""
        return len(self._subscribers)

    def snapshot(self) -> str:
        """The ``sessions`` frame: every session, archived ones included."""
        sessions = [s.to_json() for s in self.orch.sessions.values()]
        sessions.sort(key=lambda s: s.get("created_at") or "")
        return _frame({"type": "sessions", "sessions": sessions})

    def subscribe(self, send: Send) -> None:
        """Send the snapshot to ``send``, then every change until :meth:`unsubscribe`."""
        send(self.snapshot())
        self._subscribers.add(send)

    def unsubscribe(self, send: Send) -> None:
        """Stop sending to ``send``."""
        self._subscribers.discard(send)

    def touch(self, session_id: str) -> None:
        """Note that a session changed (or was deleted); subscribers hear of it shortly."""
        if not self._subscribers:
            return
        self._dirty.add(session_id)
        if self._flush_handle is None:
            self._flush_handle = asyncio.get_running_loop().call_later(COALESCE_SECONDS, self.flush)

    def flush(self) -> None:
        """Send one frame per changed session: its object now, or its removal."""
        self._flush_handle = None
        dirty, self._dirty = self._dirty, set()
        frames = []
        for session_id in sorted(dirty):
            session = self.orch.sessions.get(session_id)
            if session is None:
                frames.append(_frame({"type": "session_removed", "session_id": session_id}))
            else:
                frames.append(_frame({"type": "session_changed", "session": session.to_json()}))
        for send in list(self._subscribers):
            try:
                for text in frames:
                    send(text)
            except Exception:
                log.debug("dropping a failing feed subscriber", exc_info=True)
                self._subscribers.discard(send)

    def close(self) -> None:
        """Forget subscribers and pending changes (server shutdown)."""
        if self._flush_handle is not None:
            self._flush_handle.cancel()
            self._flush_handle = None
        self._subscribers.clear()
        self._dirty.clear()

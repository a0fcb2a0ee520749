"""Following one turn of a session: where it stops and why.

:class:`TurnTracker` is fed events in seq order and says when the turn is over: a ``result``,
a permission request that is still pending, or the session terminating. Sync and async clients
drive it the same way.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

OutcomeKind = Literal["result", "permission", "terminated", "closed"]


@dataclass
class TurnOutcome:
    """How a followed turn stopped.

    ``kind`` is ``result`` (the turn ended; see :attr:`is_error`), ``permission`` (a permission
    request waits for an answer; :attr:`event` is it), ``terminated`` (the CLI stopped) or
    ``closed`` (the event stream ended first).
    """

    kind: OutcomeKind
    event: dict[str, Any] | None = None
    last_seq: int = 0
    session_id: str = ""

    @property
    def is_error(self) -> bool:
        """True when the turn ended in error (an error result or a terminated CLI)."""
        if self.kind == "result":
            return bool((self.event or {}).get("is_error"))
        return self.kind in ("terminated", "closed")

    @property
    def request_id(self) -> str | None:
        """The pending permission request's id, for ``kind == "permission"``."""
        if self.kind == "permission" and self.event:
            return str(self.event.get("request_id"))
        return None


@dataclass
class TurnTracker:
    """Watches a stream of events for the end of a turn.

    With ``client_msg_id`` set the tracker ignores everything before the ``user_message`` that
    carries it (so a previous turn's ``result`` does not end this one). A user message without
    a ``client_msg_id`` field is accepted too, for servers that do not echo it.
    """

    client_msg_id: str | None = None
    started: bool = False
    last_seq: int = 0
    resolved: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        if self.client_msg_id is None:
            self.started = True

    def feed(self, event: dict[str, Any]) -> OutcomeKind | None:
        """Account for ``event``; answer how the turn stops at it, or None to keep following.

        ``permission`` means "a request was made": the caller confirms it is still pending.
        """
        seq = event.get("seq")
        if isinstance(seq, int):
            self.last_seq = max(self.last_seq, seq)
        kind = event.get("type")
        if kind == "user_message" and not self.started:
            mid = event.get("client_msg_id")
            if mid is None or mid == self.client_msg_id:
                self.started = True
            return None
        if kind == "permission_resolved":
            self.resolved.add(str(event.get("request_id")))
            return None
        if kind == "phase" and event.get("phase") == "terminated":
            return "terminated"
        if not self.started:
            return None
        if kind == "result":
            return "result"
        if kind == "permission_request" and str(event.get("request_id")) not in self.resolved:
            return "permission"
        return None


def is_pending(session: dict[str, Any], request_id: str) -> bool:
    """True when ``session.pending_permissions`` lists ``request_id`` (or the field is absent)."""
    pending = session.get("pending_permissions")
    if not isinstance(pending, list):
        return True
    return any(str(p.get("request_id")) == request_id for p in pending if isinstance(p, dict))


def pending_requests(session: dict[str, Any]) -> list[dict[str, Any]]:
    """The session's pending permission requests."""
    pending = session.get("pending_permissions")
    return [p for p in pending if isinstance(p, dict)] if isinstance(pending, list) else []

"""Prompts sent while the agent is answering: held, shown as queued, delivered after the turn.

A CLI asked something in the middle of a turn answers it after that turn (Claude Code and Codex
both do), but a ``user_message`` stored at once would sit in the log *above* the answer still
being written. So the session keeps such prompts in ``queued_messages`` (part of the session
object, persisted with it, announced by ``session_update``) and records and delivers each one
when the turn ends: its ``user_message`` then follows the answer it waited for. A queued prompt
can be withdrawn until then (``cancel``).
"""

from __future__ import annotations

import asyncio
import uuid
from typing import TYPE_CHECKING, Any

from ..errors import ApiError
from ..events import now_iso

if TYPE_CHECKING:
    from .session import Session

#: Phases in which a turn is under way (a new prompt waits for its end).
BUSY_PHASES = frozenset({"streaming", "awaiting_permission", "compacting"})
#: At most this many prompts wait at once (more is refused: the user should wait or stop).
MAX_QUEUED = 20


class QueueFull(ApiError):
    """Too many prompts are waiting already (409)."""

    def __init__(self) -> None:
        super().__init__(409, f"{MAX_QUEUED} messages are already waiting for this turn to end; "
                              "wait for it, or stop it")


class PromptQueue:
    """The queued prompts of one session (kept in ``session.info["queued_messages"]``)."""

    def __init__(self, session: Session):
        self.session = session
        #: A prompt was handed to the CLI and its turn has not ended yet.
        self.turn_open = False
        self._draining = False

    @property
    def entries(self) -> list[dict[str, Any]]:
        """The waiting prompts, oldest first: ``{id, content, images?, client_msg_id?, retry_of?,
        queued_at}`` (``id`` names one for :meth:`cancel`)."""
        queued = self.session.info.get("queued_messages")
        return queued if isinstance(queued, list) else []

    def must_wait(self) -> bool:
        """Whether a new prompt has to wait: a turn is under way, or others wait before it."""
        return bool(self.entries) or self.turn_open or self.session.phase in BUSY_PHASES

    def add(self, prompt: dict[str, Any]) -> None:
        """Hold ``prompt`` (a ``user_message`` event body) until the turn ends."""
        if len(self.entries) >= MAX_QUEUED:
            raise QueueFull()
        entry = {k: v for k, v in prompt.items() if k != "type"}
        self._publish([*self.entries, {"id": uuid.uuid4().hex[:12], **entry, "queued_at": now_iso()}])

    def cancel(self, queued_id: str) -> bool:
        """Withdraw a waiting prompt; False when none has that id (delivered already, or unknown)."""
        kept = [e for e in self.entries if e.get("id") != queued_id]
        if len(kept) == len(self.entries):
            return False
        self._publish(kept)
        return True

    def turn_ended(self) -> None:
        """The running turn ended (its ``result``, or the CLI stopped): deliver the next prompt."""
        self.turn_open = False
        if self.entries and not self._draining and not self.session.archived:
            self._draining = True
            asyncio.get_running_loop().call_soon(self._deliver_next)

    def _deliver_next(self) -> None:
        self._draining = False
        if not self.entries or self.turn_open or self.session.phase in BUSY_PHASES:
            return
        first, *rest = self.entries
        self._publish(rest)
        prompt = {k: v for k, v in first.items() if k not in ("id", "queued_at")}
        self.session.dispatch_prompt({"type": "user_message", **prompt})

    def _publish(self, entries: list[dict[str, Any]]) -> None:
        self.session.update({"queued_messages": entries})

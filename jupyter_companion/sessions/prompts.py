"""A session's prompts: recorded, handed to the CLI, or held while the agent answers.

A CLI asked something in the middle of a turn answers it after that turn (Claude Code and Codex
both do), but a ``user_message`` stored at once would sit in the log *above* the answer still
being written. So a prompt sent while a turn runs waits in ``queued_messages`` (part of the
session object, persisted with it, announced by ``session_update``); when the turn ends the oldest
one is recorded and delivered, so its ``user_message`` follows the answer it waited for. A queued
prompt can be withdrawn until then (:meth:`Prompts.cancel`). The first prompt after a lost CLI
conversation carries a recap of the earlier turns (:mod:`.recap`).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import TYPE_CHECKING, Any, Literal

from ..backends.base import BackendError
from ..errors import ApiError
from ..events import now_iso
from . import held
from .naming import distinct_name
from .recap import RECAP_EVENT_WINDOW, build_recap, with_recap

if TYPE_CHECKING:
    from .session import Session

#: What became of a prompt handed to :meth:`Prompts.send`.
SendOutcome = Literal["sent", "queued", "duplicate"]
#: Phases in which a turn is under way (a new prompt waits for its end).
BUSY_PHASES = frozenset({"streaming", "awaiting_permission", "compacting"})
#: At most this many prompts wait at once (more is refused: the user should wait or stop).
MAX_QUEUED = 20


class QueueFull(ApiError):
    """Too many prompts are waiting already (409)."""

    def __init__(self) -> None:
        super().__init__(409, f"{MAX_QUEUED} messages are already waiting for this turn to end; "
                              "wait for it, or stop it")


class Prompts:
    """The prompts of one session (the waiting ones in ``session.info["queued_messages"]``)."""

    def __init__(self, session: Session):
        self.session = session
        #: A prompt was handed to the CLI and its turn has not ended yet.
        self.turn_open = False
        self._draining = False
        self._send_lock = asyncio.Lock()

    # -- sending ----------------------------------------------------------------------------

    async def send(self, content: str, images: list[dict[str, Any]], client_msg_id: str | None,
                   *, retry_of: int | None = None) -> SendOutcome:
        """Record and deliver a prompt now, or hold it until the running turn ends."""
        session = self.session
        if await session.is_duplicate(client_msg_id):
            return "duplicate"
        prompt: dict[str, Any] = {"type": "user_message", "content": content}
        if images:
            prompt["images"] = images
        if client_msg_id:
            prompt["client_msg_id"] = client_msg_id
        if retry_of is not None:
            prompt["retry_of"] = retry_of
        if self.must_wait():
            self.add(prompt)
            session.remember(client_msg_id)
            if not self.turn_open and session.phase not in BUSY_PHASES:
                self.turn_ended()  # idle with prompts left from before (a crash): start them
            return "queued"
        session.remember(client_msg_id)
        self.name_after(content)
        self.dispatch(prompt)
        return "sent"

    def name_after(self, content: str) -> None:
        """The first prompt of a session created without a name names it (``session_title``)."""
        session = self.session
        if not session.info.get("name_auto"):
            return
        session.info["name_auto"] = False
        title = session.orch.plugins.first_result("session_title", session=session, prompt=content)
        if isinstance(title, str) and title.strip():
            taken = (s.info.get("name") or "" for s in session.orch.sessions.values() if s is not session)
            session.update({"name": distinct_name(title.strip()[:200], taken)})

    def dispatch(self, prompt: dict[str, Any]) -> None:
        """Store a prompt's ``user_message`` and hand it to the CLI (a turn starts)."""
        session = self.session
        self.turn_open = True
        session.emit(prompt)
        task = asyncio.ensure_future(
            self._deliver(str(prompt["content"]), list(prompt.get("images") or []), session.last_seq)
        )
        session.orch.track(task)

    async def deliver_text(self, content: str) -> None:
        """Hand the CLI a prompt that is not the user's (no ``user_message`` is stored): a turn starts."""
        await self._deliver(content, [], self.session.last_seq)

    async def _deliver(self, content: str, images: list[dict[str, Any]], prompt_seq: int) -> None:
        session = self.session
        async with self._send_lock:
            try:
                await session.ensure_running()
                if session.info.get("recap_pending"):
                    content = await self._with_recap(content, prompt_seq)
                content = held.with_note(session, content)
                assert session.adapter is not None
                session.last_output_at = time.monotonic()
                session.set_phase("streaming")
                await session.adapter.send_user_message(content, images)
            except (BackendError, ConnectionError) as exc:
                self.turn_open = False
                session.emit({"type": "error", "message": f"The message could not be delivered: {exc}",
                              "code": "delivery_failed"})
                if session.phase == "streaming":
                    session.set_phase("ready" if session.running else "terminated")

    async def _with_recap(self, content: str, prompt_seq: int) -> str:
        """The prompt preceded by a recap of the turns before it (after a lost conversation)."""
        session = self.session
        session.info["recap_pending"] = False
        await session.delivered()
        # the newest events are the ones a recap keeps; a very long history is not read whole
        after = max(0, prompt_seq - 1 - RECAP_EVENT_WINDOW)
        events = await asyncio.to_thread(session.store.read_events, session.id, after, prompt_seq - 1)
        recap = build_recap(events)
        if recap:
            turns = sum(1 for e in events if e.get("type") == "user_message")
            session.emit({"type": "notice", "level": "info", "code": "context_restored",
                          "message": f"The agent was given a recap of the {turns} earlier message(s) of this "
                                     f"session ({len(recap)} characters) with this prompt."})
        session.save_soon()
        return with_recap(recap, content)

    # -- waiting ----------------------------------------------------------------------------

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

    def cli_ready(self) -> None:
        """The CLI (re)started: prompts that waited while it was down go now, unless the launch was
        for a prompt on its way (its turn is open)."""
        if not self.turn_open:
            self.turn_ended()

    def turn_ended(self) -> None:
        """The running turn ended (its ``result``), or nothing runs: deliver the next prompt."""
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
        self.dispatch({"type": "user_message", **prompt})

    def _publish(self, entries: list[dict[str, Any]]) -> None:
        self.session.update({"queued_messages": entries})

"""One agent session: its state, its event log, its subscribers and its running CLI.

Events flow one way: the backend adapter calls :meth:`Session.emit`; the event gets the next
``seq``, is queued for the store, and is fanned out to subscribers once the store has committed
it (so anything a client has seen survives a crash). Transient events (``stream_delta``) carry
``seq: null``; they are never stored and go out at once, so they may overtake a stored event that
is still waiting for its commit (a millisecond or two).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .. import metrics
from ..backends.base import AdapterSink, BackendAdapter, BackendError, BackendSpec
from ..events import TRANSIENT_TYPES, now_iso
from ..sandboxes.base import SandboxError
from ..sandboxes.manager import sandbox_of
from ..store import Store
from . import permissions, tracking
from .client_ids import ClientMessageIds
from .feed import FEED_EVENT_TYPES
from .launch import checked_folder, launch_spec, state_dir
from .phases import can_transition
from .prompts import Prompts, SendOutcome
from .replay import PartialMessage, Subscriber, replay_then_follow

if TYPE_CHECKING:
    from .orchestrator import Orchestrator

log = logging.getLogger("jupyter_companion.session")

#: Session-object fields persisted in the store record (derived fields are computed).
RECORD_FIELDS = (
    "id", "name", "backend", "model", "permission_mode", "cwd", "phase", "archived", "created_at",
    "last_activity_at", "cli_session_id", "cost_usd", "num_turns", "usage", "git", "sandbox", "env_profile",
    "allowed_tools", "worktree", "tools", "slash_commands", "commands", "skills", "backend_version",
    "context_used_percent", "rate_limits", "pr", "system_prompt", "recap_pending", "last_seq", "queued_messages",
    "agent_id", "run_id",
)

#: Keys of a stored record that are not session-object fields.
_RECORD_ONLY = frozenset({"env", "pending_permissions", "pid", "env_keys", "subscribers"})
#: Fields an adapter's ``update`` may not overwrite.
_PROTECTED_FIELDS = frozenset({"id", "backend", "created_at", "cwd", "phase", "archived", "last_seq"})


class Session(AdapterSink):
    """A session and the single CLI process behind it."""

    def __init__(self, orchestrator: Orchestrator, record: dict[str, Any], env: dict[str, str] | None = None):
        self.orch = orchestrator
        self.store: Store = orchestrator.store
        self.info: dict[str, Any] = {k: record.get(k) for k in RECORD_FIELDS}
        self.info.update((k, v) for k, v in record.items() if k not in self.info and k not in _RECORD_ONLY)
        self.info.setdefault("archived", False)
        self.id: str = record["id"]
        self.env: dict[str, str] = dict(env or {})
        self.pending: OrderedDict[str, dict[str, Any]] = OrderedDict(
            (p["request_id"], p) for p in record.get("pending_permissions") or []
        )
        self.last_seq: int = int(record.get("last_seq") or 0)
        self.delivered_seq: int = self.last_seq
        self.adapter: BackendAdapter | None = None
        self.subscribers: set[Subscriber] = set()
        #: Stored events waiting for their commit before they are sent: (seq, envelope, text).
        self._outbox: deque[tuple[int, dict[str, Any], str]] = deque()
        self._committed_seq = self.last_seq
        self._delivery_waiters: deque[tuple[int, asyncio.Future[None]]] = deque()
        self.client_ids = ClientMessageIds(self.store, self.id)
        #: What the CLI streamed of the message in progress (sent to a client that (re)connects).
        self.partial = PartialMessage()
        self._launch_lock = asyncio.Lock()
        self._save_handle: asyncio.Handle | None = None
        #: The supervisor's view of the CLI process.
        self.intentional_stop = False
        self.launched_at = 0.0
        self._launching = False
        #: Last time the CLI showed a sign of life (or was handed work); drives hang detection.
        self.last_output_at = 0.0
        #: Last time a subscriber left; drives the idle stop.
        self.last_watched_at = time.monotonic()
        #: Restored from the store after a restart: relaunch on the next subscribe.
        self.needs_relaunch = False
        self.relaunch_attempts = 0
        self.relaunch_task: asyncio.Task[None] | None = None
        self.crash_exhausted = False
        #: Resume the next launch under a new CLI conversation id (``fork`` at creation).
        self.fork_next = False
        #: The creation has just prepared the sandbox (with its progress steps): the first launch
        #: does not prepare it again.
        self.sandbox_ready = False
        #: The user asked to stop the running turn; its result is marked ``interrupted``.
        self.interrupt_requested = False
        #: Sends prompts, holding those sent while a turn runs until it ends.
        self.prompts = Prompts(self)
        #: Why the CLI's last model request failed while it retries (``model_retrying``), until
        #: the model answers or the turn ends.
        self.model_trouble: str | None = None
        #: Held requests (:mod:`.held`) the user allowed after a restart, to allow when asked again.
        self.held_approvals: set[str] = set()

    # -- the session object ---------------------------------------------------------------

    @property
    def phase(self) -> str:
        """The current phase."""
        return str(self.info.get("phase") or "terminated")

    @property
    def cwd(self) -> str:
        """The absolute folder the CLI runs in."""
        return str(self.info["cwd"])

    @property
    def backend_spec(self) -> BackendSpec | None:
        """The registered backend this session runs (None when its plugin is gone)."""
        return self.orch.backend(str(self.info.get("backend")))

    @property
    def archived(self) -> bool:
        """True once archived."""
        return bool(self.info.get("archived"))

    def to_json(self) -> dict[str, Any]:
        """The session object of API.md."""
        data = dict(self.info)
        data["last_seq"] = self.delivered_seq  # the newest event a client can have seen
        data["pending_permissions"] = list(self.pending.values())
        data["pid"] = self.adapter.pid if self.adapter and self.adapter.running else None
        data["env_keys"] = sorted(set(self.env) | set(self.orch.settings.profile_keys(self.info.get("env_profile"))))
        data["subscribers"] = len(self.subscribers)
        data.pop("held_note", None)
        data["sandbox"] = sandbox = dict(sandbox_of(self.info, self.orch.config.default_sandbox))
        shell = self.orch.sandboxing.shell(self) if sandbox.get("container_id") else None
        if shell:
            sandbox["shell"] = shell
        return data

    def record(self) -> dict[str, Any]:
        """What the store keeps of this session."""
        data = dict(self.info)
        data["last_seq"] = self.last_seq
        data["pending_permissions"] = list(self.pending.values())
        data["env"] = self.env
        return data

    def save_soon(self) -> None:
        """Persist the session record at the end of this loop iteration (coalesced)."""
        if self._save_handle is None:
            self._save_handle = asyncio.get_running_loop().call_soon(self._save_now)

    def _save_now(self) -> None:
        self._save_handle = None
        if self.id in self.orch.sessions:
            self.store.save_session(self.record())

    # -- events ---------------------------------------------------------------------------

    def emit(self, event: dict[str, Any]) -> None:
        """Record one event from the adapter (or the core) and fan it out."""
        kind = event.get("type")
        if not isinstance(kind, str):
            log.warning("session %s: dropping an event without a type", self.id)
            return
        self._before_emit(kind, event)
        envelope: dict[str, Any] = {"seq": None, "type": kind, "ts": now_iso(), "session_id": self.id}
        envelope.update((k, v) for k, v in event.items() if k not in ("seq", "ts", "session_id", "type"))
        if kind in TRANSIENT_TYPES:  # not stored: out at once (may pass stored events awaiting commit)
            if kind == "stream_delta":
                self.partial.add(envelope)
            self._deliver(envelope, json.dumps(envelope, separators=(",", ":")))
            return
        self.last_seq += 1
        seq = self.last_seq
        envelope["seq"] = seq
        text = json.dumps(envelope, separators=(",", ":"))
        self._outbox.append((seq, envelope, text))
        self.info["last_activity_at"] = envelope["ts"]
        self.store.append_event(envelope, on_commit=lambda: self._committed(seq))
        self.save_soon()
        if kind == "result":  # the session's totals, as every surface shows them
            self.emit({"type": "session_update", "cost_usd": self.info["cost_usd"], "usage": self.info["usage"],
                       "num_turns": self.info["num_turns"]})
        if kind == "permission_request":
            request = self.pending.get(str(event["request_id"]))
            if request is not None:
                request.update(seq=seq, ts=envelope["ts"])
            self.orch.track(asyncio.ensure_future(permissions.ask_first(self, envelope)))

    def _committed(self, seq: int) -> None:
        self._committed_seq = max(self._committed_seq, seq)
        outbox = self._outbox
        while outbox and outbox[0][0] <= self._committed_seq:
            entry_seq, envelope, text = outbox.popleft()
            self.delivered_seq = entry_seq
            self._deliver(envelope, text)
        while self._delivery_waiters and self._delivery_waiters[0][0] <= self.delivered_seq:
            waiter = self._delivery_waiters.popleft()[1]
            if not waiter.done():
                waiter.set_result(None)

    async def delivered(self) -> None:
        """Wait until every event emitted so far is committed and sent to subscribers."""
        if self.delivered_seq >= self.last_seq:
            return
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._delivery_waiters.append((self.last_seq, waiter))
        await waiter

    def _deliver(self, envelope: dict[str, Any], text: str) -> None:
        seq = envelope["seq"]
        for subscriber in list(self.subscribers):
            if subscriber.closed:
                self.subscribers.discard(subscriber)
                continue
            if seq is not None and seq <= subscriber.after:
                continue
            try:
                subscriber.send(text)
            except Exception:
                log.debug("session %s: dropping a failing subscriber", self.id, exc_info=True)
                self.subscribers.discard(subscriber)
        if envelope["type"] in FEED_EVENT_TYPES:
            self.orch.feed.touch(self.id)
        if self.info.get("run_id") and envelope["type"] in ("result", "phase", "error"):
            self.orch.agents.runs.observe(self, envelope)
        metrics.observe(self, envelope)
        self.orch.plugins.notify_event(self, envelope)

    def _before_emit(self, kind: str, event: dict[str, Any]) -> None:
        """Keep the session object in step with what the CLI reports (:mod:`.tracking`)."""
        tracking.follow(self, kind, event)

    # AdapterSink -------------------------------------------------------------------------

    def set_phase(self, phase: str) -> None:
        """Move to ``phase`` if the transition table allows it; log and refuse otherwise."""
        current = self.phase
        if phase == current:
            return
        if not can_transition(current, phase):
            log.warning("session %s: refused phase transition %s -> %s", self.id, current, phase)
            return
        self.info["phase"] = phase
        self.emit({"type": "phase", "phase": phase, "previous": current})

    def set_cli_session_id(self, cli_session_id: str) -> None:
        """Remember the CLI's conversation id for ``--resume``."""
        if cli_session_id and cli_session_id != self.info.get("cli_session_id"):
            self.info["cli_session_id"] = cli_session_id
            self.emit({"type": "session_update", "cli_session_id": cli_session_id})

    def update(self, fields: dict[str, Any]) -> None:
        """Merge fields into the session object and tell subscribers."""
        changed = {k: v for k, v in fields.items() if k not in _PROTECTED_FIELDS and self.info.get(k) != v}
        if not changed:
            return
        self.info.update(changed)
        self.emit({"type": "session_update", **changed})

    def drift(self, what: str, detail: str = "") -> None:
        """Record an unknown CLI message kind: logged (once per kind) and counted in ``GET status``,
        never shown in the conversation."""
        if self.orch.status.note_drift(self.info["backend"], what, detail, self.id):
            log.warning("session %s: protocol drift: %s %s", self.id, what, detail[:200])
        else:
            log.debug("session %s: protocol drift again: %s", self.id, what)

    def on_exit(self, returncode: int | None, stderr_tail: str) -> None:
        """The CLI ended: keep what it had streamed, cancel what it owed us, and let the supervisor
        decide what next."""
        answering = self.phase in ("streaming", "awaiting_permission", "compacting")
        self._keep_partial_answer()
        for request_id, request in list(self.pending.items()):
            if not request.get("held"):  # a held request outlives its CLI (the server stopped)
                self.emit({"type": "permission_resolved", "request_id": request_id, "behavior": "cancelled",
                           "by": "cli"})
        self.set_phase("terminated")
        self.save_soon()
        if not self._launching:  # a failed start is reported to (and retried by) whoever launched
            self.orch.supervisor.on_exit(self, returncode, stderr_tail, answering=answering)

    def _keep_partial_answer(self) -> None:
        """Store what the CLI had streamed of an answer it never finished, marked ``incomplete``."""
        text = "".join(self.partial.parts.get("text", []))
        if text.strip():
            message_id = self.partial.message_id or f"partial-{self.last_seq + 1}"
            self.emit({"type": "assistant", "incomplete": True, "message": {
                "id": message_id, "model": self.info.get("model"), "content": [{"type": "text", "text": text}]}})
        self.partial.clear()

    # -- subscribers ----------------------------------------------------------------------

    async def subscribe(self, send: Callable[[str], None], after: int = 0, *, relaunch: bool = True) -> Subscriber:
        """Send every stored event with ``seq > after``, then live events; no gap, no duplicate
        (:func:`~.replay.replay_then_follow`). ``relaunch``: the subscriber may bring back a CLI
        restored after a restart (a watch-only client may not)."""
        subscriber = await replay_then_follow(self, send, after)
        if relaunch:
            self.orch.supervisor.on_subscribe(self)
        return subscriber

    def unsubscribe(self, subscriber: Subscriber) -> None:
        """Stop sending to a subscriber."""
        subscriber.closed = True
        self.subscribers.discard(subscriber)
        self.last_watched_at = time.monotonic()

    async def read_events(self, after: int = 0, limit: int | None = None) -> list[dict[str, Any]]:
        """Stored events with ``seq > after`` that subscribers have been sent (durable ones)."""
        return await asyncio.to_thread(self.store.read_events, self.id, after, self.delivered_seq, limit)

    # -- idempotency ----------------------------------------------------------------------

    async def is_duplicate(self, client_msg_id: str | None) -> bool:
        """True if a command with this id was processed before (ids are remembered across restarts)."""
        return await self.client_ids.seen(client_msg_id)

    def remember(self, client_msg_id: str | None) -> None:
        """Record a command id as processed (call once the command succeeded)."""
        self.client_ids.remember(client_msg_id)

    # -- the CLI ----------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        """True while a CLI process is alive for this session."""
        return self.adapter is not None and self.adapter.running

    async def ensure_running(self) -> None:
        """Launch (or relaunch with resume) the CLI unless it runs; raise BackendError on failure."""
        async with self._launch_lock:
            if self.running:
                return
            if self.archived:
                raise BackendError("this session is archived; unarchive it first")
            spec = self.orch.backend(self.info["backend"])
            if spec is None:
                raise BackendError(f"backend {self.info['backend']!r} is not installed")
            checked_folder(self)
            if self.sandbox_ready:
                self.sandbox_ready = False
            else:  # before the launch: its failures never count as a conversation that cannot resume
                await self._prepare_sandbox()
            try:
                await self._launch(spec, resume_id=self.info.get("cli_session_id"))
            except BackendError:
                if not self.info.get("cli_session_id"):
                    raise
                # a CLI that cannot resume its conversation (e.g. its transcript was lost) starts afresh
                self.info["cli_session_id"] = None
                self.emit({"type": "error", "code": "context_lost",
                           "message": "The CLI could not resume its conversation; a new one was started "
                                      "(earlier turns stay visible here but the agent no longer remembers them)."})
                await self._launch(spec, resume_id=None)

    async def _prepare_sandbox(self) -> None:
        """Make the session's sandbox ready (find, start or recreate its container) before a launch."""
        try:
            await self.orch.sandboxing.prepare(self)
        except SandboxError as exc:
            raise BackendError(f"the sandbox could not be prepared ({exc.step}): {exc}") from exc

    def folder(self) -> tuple[str, str]:
        """``(resolved folder, allowed root or own worktree holding it)``; raises FolderOutsideRoots
        when the folder now resolves outside them (see :meth:`Folders.check_session_folder`)."""
        worktree = (self.info.get("worktree") or {}).get("path")
        return self.orch.folders.check_session_folder(self.cwd, worktree)

    async def _launch(self, spec: BackendSpec, resume_id: str | None) -> None:
        launch = launch_spec(self, resume_id)
        self.intentional_stop = False
        self.set_phase("starting")
        wrap = self.orch.sandboxing.wrapper(self)
        adapter = spec.create_adapter(launch, self, wrap)
        self.adapter = adapter
        self.launched_at = time.monotonic()
        self.last_output_at = self.launched_at
        self._launching = True
        try:
            await adapter.start()
        except BaseException as exc:
            with contextlib.suppress(Exception):
                await adapter.stop()
            self.adapter = None
            self.set_phase("terminated")
            if isinstance(exc, BackendError):
                raise
            if isinstance(exc, (OSError, asyncio.TimeoutError, ConnectionError)):
                raise BackendError(f"could not start the {spec.label} CLI: {exc}") from exc
            raise
        finally:
            self._launching = False
        self.fork_next = False
        self.needs_relaunch = False
        if self.phase in ("starting", "initializing"):
            self.set_phase("ready")
        self.save_soon()
        self.prompts.cli_ready()

    def state_dir(self) -> str:
        """A private folder for this session's scratch state (created on demand)."""
        return state_dir(self)

    async def stop_cli(self, *, intentional: bool = True) -> None:
        """Stop the CLI; an intentional stop is never relaunched by the supervisor."""
        self.intentional_stop = intentional
        if intentional:
            self.needs_relaunch = False
        if self.relaunch_task is not None:
            self.relaunch_task.cancel()
            self.relaunch_task = None
        adapter = self.adapter
        if adapter is not None:
            await adapter.stop()
        if self.phase != "terminated":
            self.set_phase("terminated")

    # -- commands -------------------------------------------------------------------------

    async def send_user_message(self, content: str, images: list[dict[str, Any]], client_msg_id: str | None,
                                *, retry_of: int | None = None) -> SendOutcome:
        """Record a prompt and deliver it (launching the CLI first if needed); while a turn runs it
        waits and goes after that turn (see :class:`~.prompts.Prompts`).

        ``"duplicate"`` when ``client_msg_id`` was seen before (the message is dropped), else
        ``"sent"`` or ``"queued"``. ``retry_of``: the seq of the earlier prompt this one sends again
        (:func:`~.retry.retry_last_prompt`). Raises :class:`~.prompts.QueueFull`.
        """
        return await self.prompts.send(content, images, client_msg_id, retry_of=retry_of)

    #: Answer a pending permission request; raise NotPending when there is none.
    respond_permission = permissions.respond

    async def interrupt(self) -> None:
        """Stop the running turn (its ``result`` then says ``interrupted: true``)."""
        if not self.running or self.adapter is None:
            raise BackendError("the CLI is not running")
        self.interrupt_requested = True
        await self.adapter.interrupt()

    async def set_model(self, model: str) -> None:
        """Switch the model (applied at the next launch when the CLI is not running)."""
        if self.running and self.adapter is not None:
            await self.adapter.set_model(model)
        self.update({"model": model})

    async def set_permission_mode(self, mode: str) -> None:
        """Switch the permission mode (applied at the next launch when the CLI is not running)."""
        if self.running and self.adapter is not None:
            await self.adapter.set_permission_mode(mode)
        self.update({"permission_mode": mode})

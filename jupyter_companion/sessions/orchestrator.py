"""The Orchestrator: the single owner of session lifecycles.

Create (with progress steps), list, get, rename, kill, relaunch, archive, unarchive, delete; it
restores sessions from the store at start-up and stops every CLI when the server stops.
"""

from __future__ import annotations

import asyncio
import logging
import os
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .. import metrics
from ..backends import leftovers
from ..backends.base import (
    SERVER_CREDENTIALS,
    BackendError,
    BackendSpec,
    agent_environment,
)
from ..errors import ApiError
from ..events import now_iso
from ..plugins import PluginManager
from ..recordings.library import RecordingLibrary
from ..recordings.recorder import Recorder, RecorderConfig
from ..sandboxes.base import SandboxError, SandboxSpec
from ..sandboxes.manager import SandboxManager
from ..settings import SettingsService
from ..store import Store
from . import held
from .activity import ActivityClock
from .backend_status import BackendStatus
from .create_request import validate_create
from .feed import SessionFeed
from .folders import FolderOutsideRoots, Folders
from .naming import default_name, distinct_name
from .session import Session
from .supervisor import Supervisor, SupervisorPolicy

if TYPE_CHECKING:
    from .git_tracker import GitTracker

log = logging.getLogger("jupyter_companion.orchestrator")

Progress = Callable[[str, str, str, "str | None"], None]


def _no_progress(step: str, label: str, status: str, detail: str | None = None) -> None:
    return None


@dataclass
class OrchestratorConfig:
    """What the orchestrator needs from the server's configuration."""

    root_dir: str
    state_root: str
    allowed_roots: list[str] = field(default_factory=list)
    worktrees_dir: str = ""
    default_backend: str = "claude"
    default_sandbox: str = "local"
    #: An agent may use bypassPermissions outside a sandbox.
    agents_bypass_without_sandbox: bool = False
    pr_poll_interval: float = 60.0
    policy: SupervisorPolicy = field(default_factory=SupervisorPolicy)
    env: dict[str, str] = field(default_factory=dict)
    strip_env: list[str] = field(default_factory=lambda: list(SERVER_CREDENTIALS))
    recorder: RecorderConfig = field(default_factory=lambda: RecorderConfig(folder="", enabled=False))


class Orchestrator:
    """Owns every Session of this server."""

    def __init__(self, store: Store, plugins: PluginManager, config: OrchestratorConfig, settings: SettingsService):
        self.store = store
        self.settings = settings
        self.plugins = plugins
        self.config = config
        self.state_root = config.state_root
        self.sessions: dict[str, Session] = {}
        self.backends: dict[str, BackendSpec] = {}
        self.sandboxing = SandboxManager(settings, config.state_root, config.default_sandbox)
        self.supervisor = Supervisor(self, config.policy)
        self.feed = SessionFeed(self)
        self.recorder = Recorder(config.recorder)
        metrics.watch(self)
        self.recordings = RecordingLibrary(config.recorder.folder)
        self.stopping = False
        #: Agents at work count as the server's activity (JupyterHub's idle culler sees it).
        self.activity = ActivityClock()
        self._tasks: set[asyncio.Future[Any]] = set()
        self.status = BackendStatus(self.backends, self.base_env)
        self._active = False
        self._git: GitTracker | None = None
        self._activate_lock = asyncio.Lock()
        self.folders = Folders(config.root_dir, config.allowed_roots)
        from ..agents.service import AgentsService

        self.agents = AgentsService(self)

    # -- registry --------------------------------------------------------------------------

    def register_backend(self, spec: BackendSpec) -> None:
        """Add a backend (called by plugins through ``register_backends``)."""
        if not isinstance(spec, BackendSpec):
            raise TypeError("register_backends expects a BackendSpec")
        self.backends[spec.name] = spec

    def register_sandbox(self, spec: SandboxSpec) -> None:
        """Add a sandbox provider (called by plugins through ``register_sandboxes``)."""
        self.sandboxing.register(spec)

    def backend(self, name: str) -> BackendSpec | None:
        """A registered backend by name."""
        return self.backends.get(name)

    def base_env(self) -> dict[str, str]:
        """The environment every CLI inherits: the server's without its credentials, plus ``cli_env``."""
        return agent_environment(self.config.env, self.config.strip_env)

    async def backend_status(self, with_models: bool = False) -> list[dict[str, Any]]:
        """Availability and credentials of every backend (cached for a minute)."""
        return await self.status.report(with_models)

    async def conversations(self, backend: str, cwd: Any = None, limit: int = 30) -> dict[str, Any]:
        """Earlier conversations of a backend's CLI that a new session can continue.

        Only conversations whose folder lies inside the allowed roots are listed; with ``cwd``,
        only those of that folder (a CLI resumes a conversation in the folder it was held in).
        """
        spec = self.backends.get(backend)
        if spec is None:
            raise ApiError(404, f"no backend named {backend[:80]!r}")
        folder = self.folders.resolve_cwd(cwd) if cwd not in (None, "") else None
        if spec.list_conversations is None:
            return {"supported": False, "conversations": []}

        def keep(item: dict[str, Any]) -> bool:
            """Inside the roots (and the asked folder); notes the resolved folder (runs in a thread)."""
            path = item.get("cwd")
            if not isinstance(path, str) or not path:
                return False
            real = os.path.realpath(path)
            if not self.folders.inside_roots(real) or (folder is not None and real != folder):
                return False
            item["cwd"] = real
            item["folder"] = self.folders.relative(real) or real
            return True

        try:
            found = await asyncio.wait_for(spec.list_conversations(max(1, min(limit, 200)), keep), 30)
        except Exception as exc:
            log.exception("backend %s could not list its conversations", spec.name)
            raise ApiError(502, f"could not list the conversations of {spec.label}: {exc}") from exc
        return {"supported": True, "conversations": found}

    async def export(self, session_id: str, fmt: Any) -> tuple[str, str, str]:
        """A session's conversation as ``(text, media type, file name)`` (see :mod:`..export`)."""
        from .. import export

        if not isinstance(fmt, str) or fmt not in export.FORMATS:
            raise ApiError(400, "'format' must be 'ipynb' or 'markdown'")
        session = self.get(session_id)
        await session.delivered()
        events = await session.read_events(0)
        return await asyncio.to_thread(export.render, session.to_json(), events, fmt)

    async def save_export(self, session_id: str, fmt: Any) -> dict[str, Any]:
        """Write the export as a new file in the session's folder (re-checked inside the roots)."""
        from .. import export

        text, _, name = await self.export(session_id, fmt)
        folder = self.get(session_id).cwd

        def write() -> str:
            self.folders.containing_root(os.path.realpath(folder))  # the folder may have become a symlink
            return export.write_new_file(folder, name, text)

        try:
            path = await asyncio.to_thread(write)
        except OSError as exc:
            raise ApiError(409, f"could not write the export into the session's folder: {exc}") from exc
        return {"ok": True, "file": path, "path": self.folders.relative(path)}

    # -- bookkeeping -----------------------------------------------------------------------

    def track(self, task: asyncio.Future[Any]) -> asyncio.Future[Any]:
        """Keep a background task referenced until it finishes."""
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Future[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("background task failed", exc_info=task.exception())

    async def ensure_active(self) -> None:
        """Bind the store to the running loop and restore stored sessions (once)."""
        if self._active:
            return
        async with self._activate_lock:
            if self._active:
                return
            self.store.bind_loop(asyncio.get_running_loop())
            records = await asyncio.to_thread(self.store.load_sessions)
            stored_seqs = await asyncio.to_thread(self.store.last_seqs)
            for record in records:  # a crash may have kept events whose record update was lost
                record["last_seq"] = max(int(record.get("last_seq") or 0), stored_seqs.get(record.get("id", ""), 0))
            await asyncio.to_thread(self.settings.load)
            await asyncio.to_thread(self.recorder.start)
            self.restore(records)
            self.track(asyncio.ensure_future(self.sandboxing.sweep(set(self.sessions))))
            self.track(asyncio.ensure_future(asyncio.to_thread(leftovers.reap_all, self.state_root)))
            self.supervisor.start()
            await self.agents.activate()
            self._active = True

    def restore(self, records: list[dict[str, Any]]) -> None:
        """Bring back stored sessions (phase terminated; their CLI relaunches on demand)."""
        for record in records:
            if record.get("id") in self.sessions:
                continue
            env = record.pop("env", None) or {}
            session = Session(self, record, env=env)
            self.sessions[session.id] = session
            if session.phase in held.TURN_PHASES:  # the server died mid-turn (no orderly stop)
                report = held.hold(session)
                if report is not None:
                    session.emit(report)
            for request_id, request in list(session.pending.items()):
                if not request.get("held"):
                    session.pending.pop(request_id)
                    session.emit({"type": "permission_resolved", "request_id": request_id,
                                  "behavior": "cancelled", "by": "cli"})
            if session.phase != "terminated":
                previous = session.phase
                session.info["phase"] = "terminated"
                session.emit({"type": "phase", "phase": "terminated", "previous": previous})
            session.needs_relaunch = not session.archived

    def session_folder(self, session_id: str) -> tuple[str, str] | None:
        """``(folder, ceiling)`` of a session for the routes that work in it (None when unknown);
        ApiError 403 when the folder now resolves outside the allowed roots."""
        session = self.sessions.get(session_id)
        if session is None:
            return None
        try:
            return session.folder()
        except FolderOutsideRoots as exc:
            raise ApiError(403, str(exc)) from exc

    async def stop(self) -> None:
        """Stop every CLI (intentionally) and flush the store."""
        self.stopping = True
        self.feed.close()
        await self.agents.stop()
        await self.supervisor.stop()
        if self._git is not None:
            await self._git.stop()
        # a turn in progress is reported interrupted and its pending requests held (sessions/held.py)
        interrupted = [(s, held.hold(s)) for s in self.sessions.values() if s.adapter is not None]
        await asyncio.gather(*(s.stop_cli(intentional=True) for s in self.sessions.values() if s.adapter is not None),
                             return_exceptions=True)
        for session, report in interrupted:
            if report is not None:
                session.emit(report)
        await self.sandboxing.stop([s for s in self.sessions.values() if not s.archived])
        for task in list(self._tasks):
            task.cancel()
        for session in self.sessions.values():
            session._save_now()
        await asyncio.to_thread(self.recorder.stop)
        await self.store.aflush()

    # -- lookups ---------------------------------------------------------------------------

    def get(self, session_id: str) -> Session:
        """A session by id; ApiError 404 when unknown."""
        session = self.sessions.get(session_id)
        if session is None:
            raise ApiError(404, f"no session with id {session_id[:80]!r}")
        return session

    def list(self, archived: str = "false") -> list[Session]:
        """Sessions filtered by archived state (``true``, ``false`` or ``all``)."""
        sessions = sorted(self.sessions.values(), key=lambda s: s.info.get("created_at") or "")
        if archived == "all":
            return sessions
        want = archived == "true"
        return [s for s in sessions if s.archived == want]

    # -- create ----------------------------------------------------------------------------

    async def create(self, body: Any, progress: Progress = _no_progress) -> Session:
        """Create a session and launch its CLI, reporting each step through ``progress``."""
        opts = validate_create(self, body)
        cwd = self.folders.resolve_cwd(body.get("cwd"))
        spec = self.backends[opts["backend"]]
        status = await self.status.availability(spec)
        if not status["available"]:
            raise ApiError(400, f"backend {spec.name!r} is not available: {status.get('reason')}")
        await self.sandboxing.check_available(opts["sandbox"])
        progress("resolving_env", "Checking the request", "done", f"{spec.label} in {cwd}")
        session_id = uuid.uuid4().hex
        workspace: dict[str, Any] = {}
        requested_folder = cwd
        if opts["branch"] or opts["worktree"]:
            workspace = await self._prepare_workspace(session_id, cwd, opts, progress)
            cwd = workspace.get("cwd", cwd)
        created = now_iso()
        record: dict[str, Any] = {
            "id": session_id,
            "name": opts["name"] or distinct_name(
                default_name(requested_folder, opts["branch"] or (workspace.get("worktree") or {}).get("branch")),
                (s.info.get("name") or "" for s in self.sessions.values()),
            ),
            "backend": spec.name,
            "model": opts["model"],
            "permission_mode": opts["permission_mode"],
            "cwd": cwd,
            "phase": "starting",
            "archived": False,
            "created_at": created,
            "last_activity_at": created,
            "cli_session_id": opts["resume"],
            "allowed_tools": opts["allowed_tools"],
            "sandbox": opts["sandbox"],
            "env_profile": opts["env_profile"],
            "worktree": workspace.get("worktree"),
            "cost_usd": 0.0,
            "num_turns": 0,
            "name_auto": not opts["name"],
        }
        session = Session(self, record, env=opts["env"])
        session.fork_next = opts["fork"] and bool(opts["resume"])
        self.sessions[session_id] = session
        try:
            await self.plugins.call_async("prepare_session", session=session, request=body, progress=progress)
        except ApiError:
            await self.delete(session_id, force=True)
            raise
        prompts = self.plugins.call_each("system_prompt", session=session)
        session.info["system_prompt"] = "\n\n".join(p for p in prompts if isinstance(p, str) and p.strip())
        session.emit({"type": "phase", "phase": "starting", "previous": None})
        await self.git.refresh(session)
        try:
            await self.sandboxing.prepare(session, progress)
            session.sandbox_ready = True
        except SandboxError as exc:
            progress(exc.step, "Preparing the sandbox", "error", str(exc))
            await self.delete(session_id, force=True)
            raise ApiError(exc.status, f"the {opts['sandbox']['provider']} sandbox could not be prepared: {exc}") from exc
        progress("launching_cli", f"Starting {spec.label}", "in_progress", None)
        try:
            await session.ensure_running()
        except BackendError as exc:
            progress("launching_cli", f"Starting {spec.label}", "error", str(exc))
            await self.delete(session_id, force=True)
            raise ApiError(502, f"could not start the {spec.label} CLI: {exc}") from exc
        pid = session.adapter.pid if session.adapter else None
        progress("launching_cli", f"Starting {spec.label}", "done", f"pid {pid}" if pid else None)
        self.plugins.notify("session_created", session=session)
        await session.delivered()  # the answer's last_seq then covers every event of the creation
        return session

    async def _prepare_workspace(self, session_id: str, cwd: str, opts: dict[str, Any], progress: Progress) -> dict[str, Any]:
        from . import worktrees

        return await worktrees.prepare(self, session_id, cwd, opts, progress)

    @property
    def git(self) -> GitTracker:
        """The git/PR tracker (imported lazily: GitPython is slow to import)."""
        if self._git is None:
            from .git_tracker import GitTracker

            self._git = GitTracker(self.config.pr_poll_interval)
        return self._git

    def after_turn(self, session: Session) -> None:
        """A turn ended: refresh what the agent may have changed (git state, PR)."""
        self.track(asyncio.ensure_future(self.git.refresh(session)))

    # -- lifecycle -------------------------------------------------------------------------

    def rename(self, session_id: str, name: Any) -> Session:
        """Rename a session."""
        if not isinstance(name, str) or not name.strip() or len(name) > 200:
            raise ApiError(400, "'name' must be a non-empty string of at most 200 characters")
        session = self.get(session_id)
        session.update({"name": name.strip(), "name_auto": False})
        return session

    async def kill(self, session_id: str) -> dict[str, Any]:
        """Stop a session's CLI (never relaunched automatically)."""
        session = self.get(session_id)
        was_running = session.running
        await session.stop_cli(intentional=True)
        return {"ok": True, "was_running": was_running}

    async def relaunch(self, session_id: str) -> dict[str, Any]:
        """Restart a session's CLI with resume (clears the crash budget)."""
        session = self.get(session_id)
        if session.archived:
            raise ApiError(409, "this session is archived; unarchive it first")
        await session.stop_cli(intentional=True)
        session.relaunch_attempts = 0
        session.crash_exhausted = False
        try:
            await session.ensure_running()
        except BackendError as exc:
            raise ApiError(502, f"relaunch failed: {exc}") from exc
        return {"ok": True, "pid": session.adapter.pid if session.adapter else None}

    async def archive(self, session_id: str, force: bool = False, options: dict[str, Any] | None = None) -> dict[str, Any]:
        """Stop the CLI, release the workspace and mark the session archived.

        Archiving never loses work: a worktree with uncommitted changes is kept (``force``
        discards it), and the answer says where it is."""
        from . import worktrees

        session = self.get(session_id)
        await session.stop_cli(intentional=True)
        cleanup = await worktrees.release(self, session, force=force, deleting=False)
        await self.sandboxing.teardown(session)
        await self.git.forget(session_id)
        session.info["archived"] = True
        session.emit({"type": "session_update", "archived": True})
        self.agents.runs.session_gone(session_id)
        self.plugins.notify("session_archived", session=session, options=dict(options or {}))
        return {"ok": True, **cleanup}

    async def unarchive(self, session_id: str) -> dict[str, Any]:
        """Bring an archived session back (its CLI starts on the next prompt); a worktree the
        archive removed is checked out again in the same folder (409 when its branch is gone)."""
        from . import worktrees

        session = self.get(session_id)
        restored = await worktrees.restore(self, session)
        session.info["archived"] = False
        session.emit({"type": "session_update", "archived": False})
        session.needs_relaunch = True
        return {"ok": True, **restored}

    async def delete(self, session_id: str, force: bool = True) -> dict[str, Any]:
        """Stop the CLI, remove the workspace and forget the session with its history."""
        from . import worktrees

        session = self.get(session_id)
        await session.stop_cli(intentional=True)
        cleanup = await worktrees.release(self, session, force=True, deleting=True)
        await self.sandboxing.teardown(session)
        await self.git.forget(session_id)
        for subscriber in list(session.subscribers):
            session.unsubscribe(subscriber)
        self.sessions.pop(session_id, None)
        self.agents.runs.session_gone(session_id)
        self.store.delete_session(session_id)
        self.feed.touch(session_id)
        return {"ok": True, **cleanup}

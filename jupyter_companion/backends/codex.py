"""The Codex backend: ``codex app-server`` (JSON-RPC 2.0 over stdio) behind the event contract.

One :class:`CodexAdapter` drives one ``codex app-server`` process for one session. It performs
the handshake (``initialize`` → ``initialized`` → ``thread/start`` or ``thread/resume``), turns
Codex notifications and server requests into the normalized events of ``API.md``, and turns
user messages, permission decisions and interrupts into Codex requests/responses.

Per-session ``CODEX_HOME``
    Codex keeps threads ("rollouts") under ``CODEX_HOME``, and a thread can only be resumed
    from the home that wrote it. Every session therefore gets ``<state_dir>/codex-home``, seeded
    once from the user's Codex home (``$CODEX_HOME`` or ``~/.codex``) with ``auth.json`` and
    ``config.toml`` only -- never the user's sessions or history. When the launch spec's ``env``
    names a ``CODEX_HOME`` of its own (tests, env profiles; not merely the server's inherited
    one) that folder is used as is.

Permission modes
    ``bypassPermissions`` → ``approvalPolicy: "never"``; ``acceptEdits`` → ``"on-request"`` (the
    model runs sandboxed work freely and asks to escalate); ``default`` and ``plan`` →
    ``"untrusted"`` (ask for anything not known to be safe). ``plan`` also runs under the
    ``read-only`` sandbox (a command the user approves may still be retried outside the sandbox
    by Codex when the sandbox denied it: approval is the user's final say), and each of its
    prompts is preceded by :data:`PLAN_MODE_NOTE` asking for a plan instead of changes; Codex's
    native plan mode (``collaborationMode``) is experimental in the pinned CLI and is not used.
    A mode switch applies from the next turn (``turn/start`` ``approvalPolicy`` + ``sandboxPolicy``).
    ``allowed_tools`` has no Codex equivalent and is ignored.

Sandbox
    Codex confines commands with bubblewrap on Linux. Verified with the pinned CLI (0.169.0) on
    the development/CI machine, both with Debian's ``bubblewrap`` package (``/usr/bin/bwrap``,
    which ``scripts/test`` installs) and without it (Codex then prints a ``configWarning`` and
    uses the bubblewrap bundled in its npm package). The default sandbox is therefore
    ``workspace-write`` (commands may write inside the session's cwd only) and the end-to-end
    tests run with it. Codex will not create its sandbox helper under a temporary ``CODEX_HOME``,
    which breaks the system ``bwrap`` path: see :func:`private_tmpdir_for_home`. Where user
    namespaces are unavailable (some containers) set ``c.CodexBackend.sandbox =
    "danger-full-access"``.

Configuration (traitlets): ``c.CodexBackend.binary``, ``.sandbox``, ``.request_timeout``,
``.user_home``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from traitlets import Enum, Float, Unicode
from traitlets.config import Configurable

from ..hookspecs import hookimpl
from .base import (
    PERMISSION_MODES,
    AdapterSink,
    Availability,
    BackendAdapter,
    BackendError,
    BackendSpec,
    CommandWrapper,
    LaunchSpec,
    agent_environment,
    find_binary,
    no_wrapper,
)
from .codex_protocol import (
    APPROVAL_REQUESTS,
    CLIENT_NOTIFICATIONS,
    CLIENT_REQUESTS,
    DYNAMIC_TOOL_REFUSAL,
    HANDLED_NOTIFICATIONS,
    HANDLED_SERVER_REQUESTS,
    IGNORED_NOTIFICATIONS,
    MAPPED_NOTIFICATIONS,
    METHOD_NOT_FOUND,
    REFUSED_SERVER_REQUESTS,
    SANDBOX_MODES,
    SANDBOX_POLICIES,
    STATIC_MODELS,
    TOOL_ITEMS,
    approval_policy_for,
    approval_result,
    approval_tool,
    display_command,
    merge_usage,
    parse_version,
    sandbox_mode_for,
    tool_result_of,
    tool_use_of,
    usage_of,
)
from .ndjson import LineProcess

__all__ = [
    "APPROVAL_REQUESTS",
    "CLIENT_NOTIFICATIONS",
    "CLIENT_REQUESTS",
    "DYNAMIC_TOOL_REFUSAL",
    "HANDLED_NOTIFICATIONS",
    "HANDLED_SERVER_REQUESTS",
    "IGNORED_NOTIFICATIONS",
    "SANDBOX_MODES",
    "SANDBOX_POLICIES",
    "STATIC_MODELS",
    "TOOL_ITEMS",
    "CodexAdapter",
    "CodexBackend",
    "CodexRPCError",
    "approval_policy_for",
    "approval_result",
    "approval_tool",
    "check_codex",
    "display_command",
    "list_codex_models",
    "make_backend_spec",
    "parse_version",
    "private_tmpdir_for_home",
    "register_backends",
    "sandbox_mode_for",
    "seed_codex_home",
    "tool_result_of",
    "tool_use_of",
    "user_codex_home",
]

log = logging.getLogger("jupyter_companion.backends.codex")

#: Sent before every prompt of a Codex session in ``plan`` mode (the pinned CLI has no stable
#: plan mode of its own).
PLAN_MODE_NOTE = (
    "[Plan mode] Investigate as needed, then answer with a concise step-by-step plan. Do not "
    "modify files or run commands that change anything: the user switches the mode to carry the "
    "plan out."
)

#: How long a successful ``model/list`` answer is reused.
MODEL_CACHE_SECONDS = 600.0
#: How long a failed ``model/list`` is remembered (the static list is answered meanwhile), so
#: repeated ``GET backends`` do not start a Codex process each time.
MODEL_FAILURE_CACHE_SECONDS = 120.0


def user_codex_home(configured: str = "") -> Path:
    """The user's own Codex home (configured, ``$CODEX_HOME`` or ``~/.codex``)."""
    return Path(configured or os.environ.get("CODEX_HOME") or "~/.codex").expanduser()


def seed_codex_home(target: Path, source: Path) -> Path:
    """Create ``target`` and copy ``auth.json`` and ``config.toml`` from ``source`` if missing there.

    Nothing else (sessions, history, logs) is copied. ``auth.json`` is kept private (0600).
    """
    target.mkdir(parents=True, exist_ok=True)
    for name in ("config.toml", "auth.json"):
        src, dst = source / name, target / name
        if src.is_file() and not dst.exists():
            shutil.copyfile(src, dst)
            if name == "auth.json":
                os.chmod(dst, 0o600)
    return target


def private_tmpdir_for_home(env: dict[str, str]) -> dict[str, str]:
    """Move ``TMPDIR`` out of the way when ``CODEX_HOME`` lies inside the temporary folder.

    Codex refuses to create its sandbox helper (``codex-linux-sandbox``) under a temporary
    ``CODEX_HOME``; with a system ``bwrap`` every sandboxed command then fails ("execvp
    codex-linux-sandbox: No such file or directory"). Pointing ``TMPDIR`` at a private folder next
    to the home keeps the sandbox working. Returns ``env`` (changed in place).
    """
    home = Path(env["CODEX_HOME"]).resolve()
    tmp = Path(env.get("TMPDIR") or "/tmp").resolve()
    if tmp == home or tmp in home.parents:
        private = home.parent / "codex-tmp"
        private.mkdir(parents=True, exist_ok=True)
        env["TMPDIR"] = str(private)
    return env


class CodexRPCError(BackendError):
    """Codex answered a request with a JSON-RPC error."""

    def __init__(self, method: str, error: dict[str, Any]):
        self.method = method
        self.code = error.get("code")
        self.error_message = str(error.get("message") or error)
        super().__init__(f"Codex refused {method}: {self.error_message}")


class CodexBackend(Configurable):
    """Configuration of the Codex backend (``c.CodexBackend.*``)."""

    binary = Unicode("", help="The codex executable (a path or a name on PATH). Empty: 'codex' on PATH.").tag(
        config=True
    )
    sandbox = Enum(
        list(SANDBOX_MODES),
        default_value="workspace-write",
        help=(
            "Codex sandbox mode for new threads: read-only, workspace-write or danger-full-access. "
            "The sandbox needs bubblewrap (Codex falls back to a bundled copy); use "
            "danger-full-access where user namespaces are unavailable."
        ),
    ).tag(config=True)
    request_timeout = Float(
        60.0, help="Seconds to wait for Codex to answer a JSON-RPC request before giving up."
    ).tag(config=True)
    user_home = Unicode(
        "",
        help="The user's Codex home to seed per-session homes from (auth.json, config.toml). "
        "Empty: $CODEX_HOME or ~/.codex.",
    ).tag(config=True)

    def resolve_binary(self) -> str | None:
        """Absolute path of the configured/default codex binary, or None."""
        if self.binary and os.path.isabs(self.binary):
            return self.binary if os.access(self.binary, os.X_OK) else None
        return find_binary(self.binary or None, "codex")


class _Rpc:
    """Outgoing JSON-RPC requests of one connection: ids, futures and timeouts."""

    def __init__(self, send: Callable[[dict[str, Any]], Any], timeout: float):
        self._send = send
        self.timeout = timeout
        self._next_id = 1
        self._pending: dict[int, tuple[str, asyncio.Future[Any]]] = {}

    async def request(self, method: str, params: dict[str, Any], timeout: float | None = None) -> Any:
        """Send a request and wait for its result (raises CodexRPCError / BackendError)."""
        request_id = self._next_id
        self._next_id += 1
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending[request_id] = (method, future)
        try:
            await self._send({"id": request_id, "method": method, "params": params})
            return await asyncio.wait_for(future, timeout or self.timeout)
        except asyncio.TimeoutError:
            raise BackendError(f"Codex did not answer {method} within {timeout or self.timeout:g}s") from None
        except ConnectionError as exc:
            raise BackendError(f"Codex is not running ({exc})") from exc
        finally:
            self._pending.pop(request_id, None)

    def resolve(self, message: dict[str, Any]) -> bool:
        """Complete the request a response belongs to; False when it is unknown."""
        entry = self._pending.get(message.get("id"))  # type: ignore[arg-type]
        if entry is None:
            return False
        method, future = entry
        if not future.done():
            if "error" in message:
                error = (
                    message["error"] if isinstance(message["error"], dict) else {"message": message["error"]}
                )
                future.set_exception(CodexRPCError(method, error))
            else:
                future.set_result(message.get("result"))
        return True

    def fail_all(self, reason: str) -> None:
        """Fail every outstanding request (the process is gone)."""
        for _method, future in self._pending.values():
            if not future.done():
                future.set_exception(ConnectionError(reason))


class CodexAdapter(BackendAdapter):
    """Drives one ``codex app-server`` for one session (see the module docstring)."""

    def __init__(
        self,
        spec: LaunchSpec,
        sink: AdapterSink,
        wrap: CommandWrapper = no_wrapper,
        *,
        binary: str = "codex",
        sandbox: str = "workspace-write",
        request_timeout: float = 60.0,
        user_home: str = "",
        client_version: str = "0",
    ):
        super().__init__(spec, sink, wrap)
        if sandbox not in SANDBOX_MODES:
            raise ValueError(f"unknown Codex sandbox mode {sandbox!r}")
        self.binary = binary
        self.sandbox = sandbox
        self.user_home = user_home
        self.client_version = client_version
        self.permission_mode = spec.permission_mode if spec.permission_mode in PERMISSION_MODES else "default"
        self.model: str | None = spec.model
        self.thread_id: str | None = None
        self.turn_id: str | None = None
        self.backend_version: str | None = None
        self.codex_home: str | None = None
        self._proc: LineProcess | None = None
        self._rpc = _Rpc(self._send, request_timeout)
        self._turn_active = False
        self._turn_started_at = 0.0
        self._turn_text: list[str] = []
        self._turn_usage: dict[str, Any] | None = None
        self._queue: list[list[dict[str, Any]]] = []
        self._pending_approvals: dict[str, dict[str, Any]] = {}
        self._items: dict[str, dict[str, Any]] = {}
        self._tool_uses: set[str] = set()
        self._tool_results: set[str] = set()
        self._partial_text: dict[str, list[str]] = {}
        self._plan_count = 0
        self._overrides: dict[str, Any] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._stopping = False

    # ------------------------------------------------------------------ process
    @property
    def pid(self) -> int | None:
        """Process id of the app-server, or None."""
        return self._proc.pid if self._proc else None

    @property
    def running(self) -> bool:
        """True while the app-server runs."""
        return self._proc is not None and self._proc.running

    @property
    def request_timeout(self) -> float:
        """Seconds to wait for a JSON-RPC answer."""
        return self._rpc.timeout

    def _environment(self) -> dict[str, str]:
        """The CLI's environment, with the session's own ``CODEX_HOME``.

        A ``CODEX_HOME`` in the launch env is used as is when it was set for the session (it
        differs from the server's own); the server's inherited one is only the seed source.
        """
        env = dict(self.spec.env)  # the session's whole environment (see Session._launch)
        explicit = self.spec.env.get("CODEX_HOME")
        if not explicit or explicit == os.environ.get("CODEX_HOME"):
            state_dir = self.spec.state_dir or tempfile.mkdtemp(prefix="companion-codex-")
            home = seed_codex_home(Path(state_dir) / "codex-home", user_codex_home(self.user_home))
            env["CODEX_HOME"] = str(home)
        self.codex_home = env["CODEX_HOME"]
        return private_tmpdir_for_home(env)

    async def start(self) -> None:
        """Spawn ``codex app-server``, handshake, and start or resume the thread.

        On failure a ``BackendError`` carries the tail of Codex's stderr; the process is left for
        the caller's :meth:`stop` (so the caller can mark the stop as intentional first).
        """
        argv, env, cwd = self.wrap([self.binary, "app-server"], self._environment(), self.spec.cwd)
        self._proc = LineProcess(
            argv, cwd=cwd, env=env, on_message=self.handle_message, on_exit=self._on_exit
        )
        try:
            await self._proc.start()
        except OSError as exc:
            raise BackendError(f"Could not start Codex ({argv[0]}): {exc}") from exc
        self.sink.set_phase("initializing")
        try:
            await self._handshake()
        except BackendError as exc:
            stderr = self._proc.stderr_text()
            tail = f"\n{stderr[-2000:]}" if stderr else ""
            raise BackendError(f"{exc}{tail}") from exc

    async def _handshake(self) -> None:
        result = await self._rpc.request(
            "initialize",
            {
                "clientInfo": {
                    "name": "jupyter_companion",
                    "title": "Jupyter Companion",
                    "version": self.client_version,
                }
            },
        )
        self.backend_version = parse_version(str((result or {}).get("userAgent", "")))
        await self._send({"method": "initialized"})
        result = await self._open_thread()
        thread = result.get("thread") or {}
        self.thread_id = str(thread.get("id"))
        self.model = result.get("model") or thread.get("model") or self.model
        self.sink.set_cli_session_id(self.thread_id)
        self.sink.emit(
            {
                "type": "session_init",
                "model": self.model,
                "cwd": result.get("cwd") or thread.get("cwd") or self.spec.cwd,
                "tools": [],
                "permission_mode": self.permission_mode,
                "slash_commands": [],
                "skills": [],
                "backend_version": self.backend_version,
                "thread_id": self.thread_id,
                "approval_policy": approval_policy_for(self.permission_mode),
                "sandbox": sandbox_mode_for(self.permission_mode, self.sandbox),
            }
        )
        self.sink.set_phase("ready")

    def _thread_params(self) -> dict[str, Any]:
        params: dict[str, Any] = {
            "cwd": self.spec.cwd,
            "approvalPolicy": approval_policy_for(self.permission_mode),
            "sandbox": sandbox_mode_for(self.permission_mode, self.sandbox),
        }
        if self.model:
            params["model"] = self.model
        if self.spec.system_prompt:
            params["developerInstructions"] = self.spec.system_prompt
        return params

    async def _open_thread(self) -> dict[str, Any]:
        resume_id = self.spec.resume_id
        if resume_id:
            method = "thread/fork" if self.spec.fork else "thread/resume"
            try:
                result = await self._rpc.request(method, {"threadId": resume_id, **self._thread_params()})
                return dict(result or {})
            except CodexRPCError as exc:
                self.sink.emit(
                    {
                        "type": "error",
                        "code": "context_lost",
                        "message": (
                            f"Could not resume the Codex thread {resume_id} ({exc.error_message}); "
                            "started a new thread: the previous conversation context was lost."
                        ),
                    }
                )
        return dict(await self._rpc.request("thread/start", self._thread_params()) or {})

    async def _send(self, message: dict[str, Any]) -> None:
        if self._proc is None:
            raise ConnectionError("Codex was not started")
        await self._proc.send(message)

    def _spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            exc = task.exception()
            log.warning("Codex background send failed: %s", exc)
            if isinstance(exc, BackendError) and not self._stopping:
                self.sink.emit({"type": "error", "message": str(exc)})

    def _on_exit(self, returncode: int | None, stderr_tail: str) -> None:
        self._rpc.fail_all("the Codex process exited")
        for request_id in list(self._pending_approvals):
            self._cancel_approval(request_id)
        self._turn_active = False
        self.sink.on_exit(returncode, stderr_tail)

    async def stop(self) -> None:
        """Stop the app-server (close stdin, then signals); never raises."""
        self._stopping = True
        if self._proc is not None:
            with contextlib.suppress(Exception):
                await self._proc.stop()
        for task in list(self._tasks):
            task.cancel()

    # ------------------------------------------------------------------ commands
    async def send_user_message(self, content: str, images: list[dict[str, Any]]) -> None:
        """Start a turn with the text and images, or queue it behind the running turn."""
        if self.thread_id is None:
            raise BackendError("The Codex thread is not ready yet")
        items: list[dict[str, Any]] = [{"type": "text", "text": content, "text_elements": []}]
        if self.permission_mode == "plan":
            items.insert(0, {"type": "text", "text": PLAN_MODE_NOTE, "text_elements": []})
        for image in images or []:
            data, media_type = image.get("data"), image.get("media_type", "image/png")
            if data:
                items.append({"type": "image", "url": f"data:{media_type};base64,{data}"})
        if self._turn_active:
            self._queue.append(items)
            return
        await self._start_turn(items)

    async def _start_turn(self, items: list[dict[str, Any]]) -> None:
        params: dict[str, Any] = {"threadId": self.thread_id, "input": items, **self._overrides}
        self._overrides = {}
        self._turn_active = True
        self._turn_text = []
        self._turn_usage = None
        self._turn_started_at = time.monotonic()
        try:
            result = await self._rpc.request("turn/start", params)
        except BackendError:
            self._turn_active = False
            raise
        turn = (result or {}).get("turn") or {}
        if turn.get("id") and self._turn_active:
            self.turn_id = str(turn["id"])

    async def respond_permission(
        self,
        request_id: str,
        behavior: str,
        *,
        updated_input: dict[str, Any] | None = None,
        message: str | None = None,
        updated_permissions: list[dict[str, Any]] | None = None,
        original: dict[str, Any] | None = None,
    ) -> None:
        """Answer a pending approval with the response shape its request type needs."""
        pending = self._pending_approvals.pop(str(request_id), None)
        if pending is None:
            raise BackendError(f"No pending Codex request {request_id}")
        result = approval_result(
            pending["method"],
            pending["params"],
            behavior == "allow",
            updated_input,
            bool(updated_permissions),
        )
        try:
            await self._send({"id": pending["id"], "result": result})
        except ConnectionError as exc:
            raise BackendError(f"Codex is not running ({exc})") from exc
        if not self._pending_approvals and self._turn_active:
            self.sink.set_phase("streaming")

    async def interrupt(self) -> None:
        """Interrupt the running turn (``turn/interrupt``); queued messages are dropped."""
        self._queue.clear()
        if not self._turn_active or self.thread_id is None or self.turn_id is None:
            return
        try:
            await self._rpc.request("turn/interrupt", {"threadId": self.thread_id, "turnId": self.turn_id})
        except CodexRPCError as exc:
            log.info("turn/interrupt refused: %s", exc)

    async def set_model(self, model: str) -> None:
        """Use ``model`` from the next turn on (``turn/start`` override)."""
        self.model = model
        self._overrides["model"] = model
        self.sink.update({"model": model})

    async def set_permission_mode(self, mode: str) -> None:
        """Change the approval policy from the next turn on."""
        if mode not in PERMISSION_MODES:
            raise BackendError(f"Unknown permission mode {mode!r}")
        self.permission_mode = mode
        self._overrides["approvalPolicy"] = approval_policy_for(mode)
        self._overrides["sandboxPolicy"] = SANDBOX_POLICIES[sandbox_mode_for(mode, self.sandbox)]
        self.sink.update({"permission_mode": mode})

    # ------------------------------------------------------------------ incoming
    def handle_message(self, message: dict[str, Any]) -> None:
        """Dispatch one JSON-RPC message from Codex (response, server request or notification)."""
        method = message.get("method")
        if method is None:
            if "id" in message and not self._rpc.resolve(message):
                log.debug("response to an unknown request: %.200s", message)
            return
        params = message.get("params") or {}
        if "id" in message:
            self._on_server_request(str(method), message["id"], params)
        else:
            self._on_notification(str(method), params)

    def _on_server_request(self, method: str, rpc_id: Any, params: dict[str, Any]) -> None:
        if method in APPROVAL_REQUESTS:
            self._on_approval(method, rpc_id, params)
            return
        if method == "item/tool/call":
            self._spawn(self._send({"id": rpc_id, "result": DYNAMIC_TOOL_REFUSAL}))
            return
        if method not in REFUSED_SERVER_REQUESTS:
            self.sink.drift(f"codex server request {method}", str(params)[:500])
        error = {"code": METHOD_NOT_FOUND, "message": f"{method} is not supported by this client"}
        self._spawn(self._send({"id": rpc_id, "error": error}))

    def _on_approval(self, method: str, rpc_id: Any, params: dict[str, Any]) -> None:
        request_id = str(rpc_id)
        item_id = params.get("itemId") or params.get("callId")
        item = self._items.get(str(item_id)) if item_id else None
        tool_name, tool_input = approval_tool(method, params, item)
        if item is not None:
            self._ensure_tool_use(item)
        self._pending_approvals[request_id] = {"method": method, "id": rpc_id, "params": params}
        event: dict[str, Any] = {
            "type": "permission_request",
            "request_id": request_id,
            "tool_name": tool_name,
            "input": tool_input,
        }
        reason = params.get("reason") or params.get("message")
        if reason:
            event["description"] = str(reason)
        if item_id:
            event["tool_use_id"] = str(item_id)
        self.sink.emit(event)
        self.sink.set_phase("awaiting_permission")

    def _cancel_approval(self, request_id: str) -> None:
        if self._pending_approvals.pop(request_id, None) is not None:
            self.sink.emit(
                {
                    "type": "permission_resolved",
                    "request_id": request_id,
                    "behavior": "cancelled",
                    "by": "cli",
                }
            )

    def _on_notification(self, method: str, params: dict[str, Any]) -> None:
        handler = _NOTIFICATION_HANDLERS.get(method)
        if handler is not None:
            handler(self, params)
        elif method not in IGNORED_NOTIFICATIONS:
            self.sink.drift(f"codex notification {method}", str(params)[:500])

    def _n_thread_status(self, params: dict[str, Any]) -> None:
        status = params.get("status") or {}
        flags = [str(flag) for flag in status.get("activeFlags") or []]
        if status.get("type") == "active" and not any(flag.startswith("waiting") for flag in flags):
            if self._turn_active and not self._pending_approvals:
                self.sink.set_phase("streaming")

    def _n_turn_started(self, params: dict[str, Any]) -> None:
        turn = params.get("turn") or {}
        if turn.get("id"):
            self.turn_id = str(turn["id"])
        if not self._turn_active:
            self._turn_active = True
            self._turn_started_at = time.monotonic()
            self._turn_text = []
        self.sink.set_phase("streaming")

    def _n_turn_completed(self, params: dict[str, Any]) -> None:
        turn = params.get("turn") or {}
        status = str(turn.get("status") or "completed")
        error = turn.get("error") or None
        for request_id in list(self._pending_approvals):
            self._cancel_approval(request_id)
        self._close_open_items(status)
        duration = turn.get("durationMs")
        if duration is None and self._turn_started_at:
            duration = int((time.monotonic() - self._turn_started_at) * 1000)
        if status == "failed":
            message = (error or {}).get("message") if isinstance(error, dict) else None
            self.sink.emit({"type": "error", "message": message or "The Codex turn failed"})
        result: dict[str, Any] = {
            "type": "result",
            "is_error": status != "completed",
            "status": status,
            "duration_ms": duration,
            "num_turns": 1,
            "usage": self._turn_usage,
        }
        text = "\n\n".join(t for t in self._turn_text if t)
        if status == "failed" and isinstance(error, dict) and error.get("message"):
            text = str(error["message"])
        if text:
            result["text"] = text
        self.sink.emit(result)
        self._turn_active = False
        self.turn_id = None
        self.sink.set_phase("ready")
        if self._queue and not self._stopping:
            self._spawn(self._start_turn(self._queue.pop(0)))

    def _close_open_items(self, status: str) -> None:
        """Store what an interrupted/failed turn left open: partial text, unfinished tools."""
        for item_id, parts in self._partial_text.items():
            text = "".join(parts)
            if text:
                self._turn_text.append(text)
                self._emit_assistant(item_id, [{"type": "text", "text": text}])
        self._partial_text.clear()
        for item_id in sorted(self._tool_uses - self._tool_results):
            self.sink.emit(
                {
                    "type": "tool_result",
                    "tool_use_id": item_id,
                    "content": f"The tool did not finish (turn {status}).",
                    "is_error": True,
                }
            )
        self._tool_uses.clear()
        self._tool_results.clear()
        self._items.clear()

    def _n_agent_delta(self, params: dict[str, Any]) -> None:
        if params.get("itemId") is not None:
            self._partial_text.setdefault(str(params["itemId"]), []).append(str(params.get("delta", "")))
        self.sink.emit(
            {
                "type": "stream_delta",
                "kind": "text",
                "text": str(params.get("delta", "")),
                "message_id": params.get("itemId"),
            }
        )

    def _n_reasoning_delta(self, params: dict[str, Any]) -> None:
        self.sink.emit(
            {
                "type": "stream_delta",
                "kind": "thinking",
                "text": str(params.get("delta", "")),
                "message_id": params.get("itemId"),
            }
        )

    def _n_plan_updated(self, params: dict[str, Any]) -> None:
        self._plan_count += 1
        status_map = {"inProgress": "in_progress", "pending": "pending", "completed": "completed"}
        todos = [
            {
                "content": str(step.get("step", "")),
                "status": status_map.get(str(step.get("status")), "pending"),
            }
            for step in params.get("plan") or []
            if isinstance(step, dict)
        ]
        tool_id = f"plan-{params.get('turnId') or 'turn'}-{self._plan_count}"
        self._emit_assistant(
            tool_id, [{"type": "tool_use", "id": tool_id, "name": "TodoWrite", "input": {"todos": todos}}]
        )
        explanation = params.get("explanation")
        self.sink.emit(
            {
                "type": "tool_result",
                "tool_use_id": tool_id,
                "content": explanation or "Plan updated",
                "is_error": False,
            }
        )

    def _n_token_usage(self, params: dict[str, Any]) -> None:
        token_usage = params.get("tokenUsage") or {}
        last = usage_of(token_usage.get("last"))
        if last is not None:
            self._turn_usage = merge_usage(self._turn_usage, last)
        fields: dict[str, Any] = {"usage": usage_of(token_usage.get("total")) or {}}
        if token_usage.get("modelContextWindow") is not None:
            fields["context_window"] = token_usage["modelContextWindow"]
        if last is not None:
            fields["context_tokens"] = last["input_tokens"] + last["output_tokens"]
        self.sink.update(fields)

    def _n_rate_limits(self, params: dict[str, Any]) -> None:
        self.sink.update({"rate_limits": params.get("rateLimits")})

    def _n_resolved(self, params: dict[str, Any]) -> None:
        request_id = params.get("requestId")
        if request_id is not None and str(request_id) in self._pending_approvals:
            self._cancel_approval(str(request_id))
            if not self._pending_approvals and self._turn_active:
                self.sink.set_phase("streaming")

    def _n_error(self, params: dict[str, Any]) -> None:
        error = params.get("error") or {}
        message = str(error.get("message") if isinstance(error, dict) else error) or "Codex error"
        if params.get("willRetry"):
            log.info("Codex is retrying: %s", message)
            return
        event: dict[str, Any] = {"type": "error", "message": message}
        if isinstance(error, dict) and error.get("codexErrorInfo"):
            event["code"] = (
                error["codexErrorInfo"]
                if isinstance(error["codexErrorInfo"], str)
                else str(error["codexErrorInfo"])
            )
        self.sink.emit(event)

    def _n_rerouted(self, params: dict[str, Any]) -> None:
        if params.get("toModel"):
            self.model = str(params["toModel"])
            self.sink.update({"model": self.model})

    def _n_nothing(self, params: dict[str, Any]) -> None:
        """``thread/started`` (the thread/start result carries the same), plan deltas."""

    # ------------------------------------------------------------------ items
    def _n_item_started(self, params: dict[str, Any]) -> None:
        item = params.get("item") or {}
        if item.get("id") is None:
            return
        self._items[str(item["id"])] = item
        if item.get("type") in TOOL_ITEMS and item.get("type") != "webSearch":
            self._ensure_tool_use(item)

    def _n_item_completed(self, params: dict[str, Any]) -> None:
        item = params.get("item") or {}
        kind = item.get("type")
        item_id = str(item.get("id", ""))
        self._items[item_id] = item
        if kind == "agentMessage":
            self._partial_text.pop(item_id, None)
            text = str(item.get("text") or "")
            self._turn_text.append(text)
            self._emit_assistant(item_id, [{"type": "text", "text": text}])
        elif kind == "reasoning":
            thinking = "\n\n".join(
                str(x) for x in (item.get("summary") or []) + (item.get("content") or []) if x
            )
            if thinking:
                self._emit_assistant(item_id, [{"type": "thinking", "thinking": thinking}])
        elif kind == "plan":
            text = str(item.get("text") or "")
            if text:
                self._emit_assistant(item_id, [{"type": "text", "text": text}])
        elif kind in TOOL_ITEMS:
            self._ensure_tool_use(item)
            if item_id not in self._tool_results:
                self._tool_results.add(item_id)
                content, is_error, extra = tool_result_of(item)
                self.sink.emit(
                    {
                        "type": "tool_result",
                        "tool_use_id": item_id,
                        "content": content,
                        "is_error": is_error,
                        **extra,
                    }
                )
        self._items.pop(item_id, None)

    def _ensure_tool_use(self, item: dict[str, Any]) -> None:
        item_id = str(item.get("id", ""))
        if item_id in self._tool_uses:
            return
        self._tool_uses.add(item_id)
        name, tool_input = tool_use_of(item)
        self._emit_assistant(
            item_id, [{"type": "tool_use", "id": item_id, "name": name, "input": tool_input}]
        )

    def _emit_assistant(self, message_id: str, content: list[dict[str, Any]]) -> None:
        self.sink.emit(
            {"type": "assistant", "message": {"id": message_id, "model": self.model, "content": content}}
        )


_NOTIFICATION_HANDLERS: dict[str, Callable[[CodexAdapter, dict[str, Any]], None]] = {
    "thread/started": CodexAdapter._n_nothing,
    "thread/status/changed": CodexAdapter._n_thread_status,
    "turn/started": CodexAdapter._n_turn_started,
    "turn/completed": CodexAdapter._n_turn_completed,
    "item/started": CodexAdapter._n_item_started,
    "item/completed": CodexAdapter._n_item_completed,
    "item/agentMessage/delta": CodexAdapter._n_agent_delta,
    "item/reasoning/summaryTextDelta": CodexAdapter._n_reasoning_delta,
    "item/reasoning/textDelta": CodexAdapter._n_reasoning_delta,
    "item/plan/delta": CodexAdapter._n_nothing,
    "turn/plan/updated": CodexAdapter._n_plan_updated,
    "thread/tokenUsage/updated": CodexAdapter._n_token_usage,
    "account/rateLimits/updated": CodexAdapter._n_rate_limits,
    "serverRequest/resolved": CodexAdapter._n_resolved,
    "error": CodexAdapter._n_error,
    "model/rerouted": CodexAdapter._n_rerouted,
}
assert set(_NOTIFICATION_HANDLERS) == MAPPED_NOTIFICATIONS


# ---------------------------------------------------------------------- backend registration
class _NullSink:
    def emit(self, event: dict[str, Any]) -> None:
        pass

    def set_phase(self, phase: str) -> None:
        pass

    def set_cli_session_id(self, cli_session_id: str) -> None:
        pass

    def update(self, fields: dict[str, Any]) -> None:
        pass

    def drift(self, what: str, detail: str = "") -> None:
        pass

    def on_exit(self, returncode: int | None, stderr_tail: str) -> None:
        pass


async def check_codex(binary: str | None, timeout: float = 20.0) -> Availability:
    """Whether ``codex`` can run here: found, executable and answering ``--version``."""
    if not binary:
        return Availability(
            False, reason="The codex CLI was not found on PATH (npm install -g @openai/codex)"
        )
    try:
        proc = await asyncio.create_subprocess_exec(
            binary, "--version", stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
        )
        out, err = await asyncio.wait_for(proc.communicate(), timeout)
    except (OSError, asyncio.TimeoutError) as exc:
        return Availability(False, reason=f"{binary} --version failed: {exc or 'timeout'}", binary=binary)
    if proc.returncode != 0:
        detail = (err or out).decode("utf-8", "replace").strip()[-300:]
        return Availability(
            False, reason=f"{binary} --version exited {proc.returncode}: {detail}", binary=binary
        )
    return Availability(True, version=parse_version(out.decode("utf-8", "replace")), binary=binary)


async def list_codex_models(
    binary: str, *, user_home: str = "", timeout: float = 30.0, env: dict[str, str] | None = None
) -> list[dict[str, str]]:
    """Ask a short-lived ``codex app-server`` for its models (``model/list``) as ``[{id, label}]``.

    Runs against a scratch ``CODEX_HOME`` seeded like a session's, so the user's home is never
    written to. Raises ``BackendError`` when the CLI cannot answer.
    """
    with tempfile.TemporaryDirectory(prefix="companion-codex-models-") as scratch:
        spec = LaunchSpec(session_id="model-list", cwd=scratch, state_dir=scratch, env=agent_environment(env))
        adapter = CodexAdapter(spec, _NullSink(), binary=binary, request_timeout=timeout, user_home=user_home)
        argv, run_env, cwd = adapter.wrap([binary, "app-server"], adapter._environment(), scratch)
        adapter._proc = LineProcess(
            argv, cwd=cwd, env=run_env, on_message=adapter.handle_message, on_exit=lambda *_: None
        )
        try:
            await adapter._proc.start()
            await adapter._rpc.request(
                "initialize", {"clientInfo": {"name": "jupyter_companion", "version": "0"}}
            )
            await adapter._send({"method": "initialized"})
            models: list[dict[str, str]] = []
            cursor: str | None = None
            for _page in range(10):
                result = await adapter._rpc.request("model/list", {"cursor": cursor} if cursor else {})
                for entry in (result or {}).get("data") or []:
                    if entry.get("hidden"):
                        continue
                    model_id = str(entry.get("id") or entry.get("model"))
                    models.append({"id": model_id, "label": str(entry.get("displayName") or model_id)})
                cursor = (result or {}).get("nextCursor")
                if not cursor:
                    break
            return models
        except OSError as exc:
            raise BackendError(f"Could not start Codex: {exc}") from exc
        finally:
            await adapter.stop()


def _client_version() -> str:
    from .. import __version__

    return str(__version__)


def make_backend_spec(config: CodexBackend) -> BackendSpec:
    """The ``codex`` :class:`BackendSpec` for a configuration."""

    def create_adapter(spec: LaunchSpec, sink: AdapterSink, wrap: CommandWrapper) -> BackendAdapter:
        binary = config.resolve_binary()
        if binary is None:
            raise BackendError("The codex CLI was not found (set c.CodexBackend.binary or put codex on PATH)")
        return CodexAdapter(
            spec,
            sink,
            wrap,
            binary=binary,
            sandbox=config.sandbox,
            request_timeout=config.request_timeout,
            user_home=config.user_home,
            client_version=_client_version(),
        )

    async def check() -> Availability:
        return await check_codex(config.resolve_binary())

    cache: dict[str, Any] = {}
    lock = asyncio.Lock()

    async def list_models() -> list[dict[str, str]]:
        """``model/list`` of a short-lived app-server; answers (failures too) are reused for a while,
        and concurrent callers share one process."""
        binary = config.resolve_binary()
        if binary is None:
            return list(STATIC_MODELS)
        async with lock:
            if cache.get("binary") == binary and time.monotonic() < cache.get("until", 0.0):
                return list(cache["models"])
            try:
                models = await list_codex_models(
                    binary, user_home=config.user_home, timeout=min(config.request_timeout, 10.0)
                )
            except BackendError as exc:
                log.info("model/list failed, using the static list: %s", exc)
                models = []
            ttl = MODEL_CACHE_SECONDS if models else MODEL_FAILURE_CACHE_SECONDS
            cache.update(binary=binary, until=time.monotonic() + ttl, models=models or list(STATIC_MODELS))
            return list(cache["models"])

    return BackendSpec(
        name="codex",
        label="Codex",
        create_adapter=create_adapter,
        check=check,
        models=list(STATIC_MODELS),
        list_models=list_models,
    )


@hookimpl
def register_backends(register: Any, app: Any) -> None:
    """Register the ``codex`` backend, configured by ``c.CodexBackend`` of the app's config."""
    config = getattr(app, "config", None)
    backend = CodexBackend(config=config) if config is not None else CodexBackend()
    register(make_backend_spec(backend))

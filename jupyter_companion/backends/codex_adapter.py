"""The Codex adapter: one ``codex app-server`` (JSON-RPC 2.0 over stdio) behind the event contract.

One :class:`CodexAdapter` drives one ``codex app-server`` process for one session. It performs
the handshake (``initialize`` → ``initialized`` → ``thread/start``, ``thread/resume`` or
``thread/fork``), runs turns (queued behind a running one), answers approvals and interrupts, and
dispatches what Codex sends: responses to :class:`~.codex_rpc.JsonRpc`, approval requests to
:class:`~.codex_approvals.CodexApprovals`, item and stream notifications to
:class:`~.codex_turns.CodexTurn`. The backend's configuration and registration are in
:mod:`.codex`; the protocol facts and pure mappings in :mod:`.codex_protocol`.

Permission modes
    ``bypassPermissions`` → ``approvalPolicy: "never"``; ``acceptEdits`` → ``"on-request"`` (the
    model runs sandboxed work freely and asks to escalate); ``default`` and ``plan`` →
    ``"untrusted"`` (ask for anything not known to be safe). ``plan`` also runs under the
    ``read-only`` sandbox (a command the user approves may still be retried outside the sandbox
    by Codex when the sandbox denied it: approval is the user's final say), and each of its
    prompts is preceded by :data:`PLAN_MODE_NOTE` asking for a plan instead of changes; Codex's
    native plan mode (``collaborationMode``) is experimental in the pinned CLI and is not used.
    A mode switch applies from the next turn (``turn/start`` ``approvalPolicy`` + ``sandboxPolicy``).
    ``allowed_tools`` has no Codex option: the builtin ``allowed_tools`` plugin answers the
    approvals they cover.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .base import (
    PERMISSION_MODES,
    AdapterSink,
    BackendAdapter,
    BackendError,
    CommandWrapper,
    LaunchSpec,
    no_wrapper,
)
from .codex_approvals import CodexApprovals
from .codex_home import private_tmpdir_for_home, seed_codex_home, user_codex_home
from .codex_protocol import (
    APPROVAL_REQUESTS,
    DYNAMIC_TOOL_REFUSAL,
    IGNORED_NOTIFICATIONS,
    MAPPED_NOTIFICATIONS,
    METHOD_NOT_FOUND,
    REFUSED_SERVER_REQUESTS,
    SANDBOX_MODES,
    SANDBOX_POLICIES,
    approval_policy_for,
    error_code_of,
    error_message_of,
    parse_version,
    retry_notice_of,
    sandbox_mode_for,
)
from .codex_rpc import CodexRPCError, JsonRpc
from .codex_turns import TURN_NOTIFICATIONS, CodexTurn
from .ndjson import LineProcess

log = logging.getLogger("jupyter_companion.backends.codex")

#: Sent before every prompt of a Codex session in ``plan`` mode (the pinned CLI has no stable
#: plan mode of its own).
PLAN_MODE_NOTE = (
    "[Plan mode] Investigate as needed, then answer with a concise step-by-step plan. Do not "
    "modify files or run commands that change anything: the user switches the mode to carry the "
    "plan out."
)


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
        self.backend_version: str | None = None
        self.codex_home: str | None = None
        self._proc: LineProcess | None = None
        self._rpc = JsonRpc(self._send, request_timeout)
        self.turn = CodexTurn(sink, lambda: self.model)
        self.approvals = CodexApprovals()
        self._queue: list[list[dict[str, Any]]] = []
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

    async def request(self, method: str, params: dict[str, Any]) -> Any:
        """Send one JSON-RPC request to the app-server and return its result."""
        return await self._rpc.request(method, params)

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
            argv, cwd=cwd, env=env, on_message=self.handle_message, on_exit=self._on_exit, tap=self.spec.tap
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
        self._cancel_approvals()
        self.turn.active = False
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
        if self.turn.active:
            self._queue.append(items)
            return
        await self._start_turn(items)

    async def _start_turn(self, items: list[dict[str, Any]]) -> None:
        params: dict[str, Any] = {"threadId": self.thread_id, "input": items, **self._overrides}
        self._overrides = {}
        self.turn.begin()
        try:
            result = await self._rpc.request("turn/start", params)
        except BackendError:
            self.turn.active = False
            raise
        turn = (result or {}).get("turn") or {}
        if turn.get("id") and self.turn.active:
            self.turn.turn_id = str(turn["id"])

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
        answer = self.approvals.answer(request_id, behavior == "allow", updated_input, bool(updated_permissions),
                                       message)
        try:
            await self._send(answer)
        except ConnectionError as exc:
            raise BackendError(f"Codex is not running ({exc})") from exc
        if not self.approvals and self.turn.active:
            self.sink.set_phase("streaming")

    async def interrupt(self) -> None:
        """Interrupt the running turn (``turn/interrupt``); queued messages are dropped."""
        self._queue.clear()
        if not self.turn.active or self.thread_id is None or self.turn.turn_id is None:
            return
        try:
            await self._rpc.request("turn/interrupt", {"threadId": self.thread_id, "turnId": self.turn.turn_id})
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
        item_id = params.get("itemId") or params.get("callId")
        item = self.turn.items.get(str(item_id)) if item_id else None
        if item is not None:
            self.turn.ensure_tool_use(item)
        self.sink.emit(self.approvals.open(method, rpc_id, params, item))
        self.sink.set_phase("awaiting_permission")

    def _cancel_approvals(self, request_id: str | None = None) -> None:
        """Withdraw one pending approval (or all): the CLI no longer waits for the answer."""
        for pending in [request_id] if request_id is not None else self.approvals.ids():
            event = self.approvals.cancel(pending)
            if event is not None:
                self.sink.emit(event)

    def _on_notification(self, method: str, params: dict[str, Any]) -> None:
        mapped = TURN_NOTIFICATIONS.get(method)
        handler = _LIFECYCLE_NOTIFICATIONS.get(method)
        if mapped is not None:
            mapped(self.turn, params)
        elif handler is not None:
            handler(self, params)
        elif method not in IGNORED_NOTIFICATIONS:
            self.sink.drift(f"codex notification {method}", str(params)[:500])

    def _n_thread_status(self, params: dict[str, Any]) -> None:
        status = params.get("status") or {}
        flags = [str(flag) for flag in status.get("activeFlags") or []]
        if status.get("type") == "active" and not any(flag.startswith("waiting") for flag in flags):
            if self.turn.active and not self.approvals:
                self.sink.set_phase("streaming")

    def _n_turn_started(self, params: dict[str, Any]) -> None:
        turn = params.get("turn") or {}
        if turn.get("id"):
            self.turn.turn_id = str(turn["id"])
        if not self.turn.active:
            self.turn.begin()
        self.sink.set_phase("streaming")

    def _n_turn_completed(self, params: dict[str, Any]) -> None:
        turn = params.get("turn") or {}
        self._cancel_approvals()
        self.turn.finish(str(turn.get("status") or "completed"), turn.get("error") or None, turn.get("durationMs"))
        self.sink.set_phase("ready")
        if self._queue and not self._stopping:
            self._spawn(self._start_turn(self._queue.pop(0)))

    def _n_rate_limits(self, params: dict[str, Any]) -> None:
        self.sink.update({"rate_limits": params.get("rateLimits")})

    def _n_resolved(self, params: dict[str, Any]) -> None:
        request_id = params.get("requestId")
        if request_id is not None and str(request_id) in self.approvals:
            self._cancel_approvals(str(request_id))
            if not self.approvals and self.turn.active:
                self.sink.set_phase("streaming")

    def _n_error(self, params: dict[str, Any]) -> None:
        raw = params.get("error")
        error = raw if isinstance(raw, dict) else {"message": str(raw or "Codex error")}
        if params.get("willRetry"):
            self.sink.emit(retry_notice_of(error))
            return
        event: dict[str, Any] = {"type": "error", "message": error_message_of(error)}
        code, status = error_code_of(error)
        if code:
            event["code"] = code
        if status is not None:
            event["http_status"] = status
        self.turn.reported_errors.add(str(error.get("message") or ""))
        self.sink.emit(event)

    def _n_rerouted(self, params: dict[str, Any]) -> None:
        if params.get("toModel"):
            self.model = str(params["toModel"])
            self.sink.update({"model": self.model})

    def _n_nothing(self, params: dict[str, Any]) -> None:
        """``thread/started`` (the thread/start result carries the same)."""


#: Notifications of a thread's and a turn's life, by method (the rest: :data:`TURN_NOTIFICATIONS`).
_LIFECYCLE_NOTIFICATIONS: dict[str, Callable[[CodexAdapter, dict[str, Any]], None]] = {
    "thread/started": CodexAdapter._n_nothing,
    "thread/status/changed": CodexAdapter._n_thread_status,
    "turn/started": CodexAdapter._n_turn_started,
    "turn/completed": CodexAdapter._n_turn_completed,
    "account/rateLimits/updated": CodexAdapter._n_rate_limits,
    "serverRequest/resolved": CodexAdapter._n_resolved,
    "error": CodexAdapter._n_error,
    "model/rerouted": CodexAdapter._n_rerouted,
}
assert set(_LIFECYCLE_NOTIFICATIONS) | set(TURN_NOTIFICATIONS) == MAPPED_NOTIFICATIONS
assert not set(_LIFECYCLE_NOTIFICATIONS) & set(TURN_NOTIFICATIONS)

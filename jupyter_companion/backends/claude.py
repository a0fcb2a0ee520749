"""The Claude Code backend: the real ``claude`` CLI over stdio stream-json (NDJSON).

Maps the CLI's lines onto the event vocabulary of API.md (see ``docs/architecture.md``):
``system/init`` -> ``session_init``, ``stream_event`` deltas -> ``stream_delta``, ``assistant``,
``user`` tool results -> ``tool_result``, ``control_request can_use_tool`` ->
``permission_request``, ``result`` -> ``result``. Registered through the ``jupyter_companion``
entry-point group like any third-party backend.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import uuid
from collections.abc import Callable
from typing import Any

from traitlets import Float, List, Unicode
from traitlets.config import Configurable

from ..hookspecs import hookimpl
from . import claude_transcripts
from .base import (
    AdapterSink,
    Availability,
    BackendAdapter,
    BackendError,
    BackendSpec,
    CommandWrapper,
    Credentials,
    LaunchSpec,
    agent_environment,
    find_binary,
    no_wrapper,
)
from .claude_probe import claude_credentials
from .claude_protocol import (
    MODELS,
    QUIET_SYSTEM,
    QUIET_TYPES,
    api_retry_notice,
    build_argv,
    command_infos,
    login_error,
)
from .ndjson import LineProcess


class ClaudeBackend(Configurable):
    """Settings of the Claude Code backend (``c.ClaudeBackend.<name>``)."""

    binary = Unicode(
        "", help="Path or name of the Claude Code CLI binary. Empty: 'claude' on PATH."
    ).tag(config=True)
    extra_args = List(
        Unicode(), default_value=[], help="Extra command-line arguments passed to every claude process."
    ).tag(config=True)
    start_timeout = Float(
        60.0, help="Seconds to wait for the CLI to answer its 'initialize' request."
    ).tag(config=True)
    request_timeout = Float(
        30.0, help="Seconds to wait for the CLI to answer a control request (interrupt, set_model, ...)."
    ).tag(config=True)

    def resolve_binary(self) -> str | None:
        """The absolute path of the CLI, or None when it is not installed."""
        return find_binary(self.binary or None, "claude")

    async def availability(self) -> Availability:
        """Whether the CLI is installed, and its version."""
        binary = self.resolve_binary()
        if binary is None:
            where = f"'{self.binary}'" if self.binary else "'claude' on PATH"
            return Availability(
                False,
                reason=f"Claude Code CLI not found ({where}). Install it with "
                "'npm install -g @anthropic-ai/claude-code' or set c.ClaudeBackend.binary.",
            )
        try:
            proc = await asyncio.create_subprocess_exec(
                binary, "--version", stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
                env=agent_environment({"DISABLE_AUTOUPDATER": "1"}),
            )
            out, err = await asyncio.wait_for(proc.communicate(), 30)
        except (OSError, asyncio.TimeoutError) as exc:
            return Availability(False, reason=f"'{binary} --version' failed: {exc}", binary=binary)
        if proc.returncode != 0:
            return Availability(False, reason=f"'{binary} --version' failed: {err.decode()[:300]}", binary=binary)
        version = out.decode().strip().split(" ")[0] if out else None
        return Availability(True, version=version, binary=binary)


class ClaudeAdapter(BackendAdapter):
    """One ``claude`` process speaking stream-json."""

    def __init__(self, spec: LaunchSpec, sink: AdapterSink, wrap: CommandWrapper, config: ClaudeBackend):
        super().__init__(spec, sink, wrap)
        self.config = config
        self.proc: LineProcess | None = None
        self._requests: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._message_id: str | None = None
        self._tasks: set[asyncio.Future[None]] = set()
        #: total_cost_usd of this CLI process so far (it starts at 0 with every process).
        self._process_cost = 0.0

    @property
    def pid(self) -> int | None:
        """Process id of the CLI."""
        return self.proc.pid if self.proc else None

    @property
    def running(self) -> bool:
        """True while the CLI runs."""
        return self.proc is not None and self.proc.running

    async def start(self) -> None:
        """Spawn the CLI and wait for its answer to ``initialize``."""
        binary = self.config.resolve_binary()
        if binary is None:
            raise BackendError("the Claude Code CLI is not installed (see GET companion/api/backends)")
        spec = self.spec
        env = dict(spec.env)
        env.pop("CLAUDECODE", None)
        if spec.permission_mode == "bypassPermissions" and _is_root() and not env.get("IS_SANDBOX"):
            spec.permission_mode = "acceptEdits"
            self.sink.emit({"type": "notice", "level": "warning", "code": "permission_mode_downgraded",
                            "message": "Claude Code refuses bypassPermissions when running as root; "
                                       "using acceptEdits instead."})
            self.sink.update({"permission_mode": "acceptEdits"})
        argv, env, cwd = self.wrap(build_argv(binary, spec, self.config.extra_args), env, spec.cwd)
        self.proc = LineProcess(argv, cwd=cwd, env=env, on_message=self._on_message, on_exit=self._on_exit,
                                tap=spec.tap)
        self.sink.set_phase("initializing")
        await self.proc.start()
        try:
            reply = await self._request({"subtype": "initialize"}, timeout=self.config.start_timeout)
        except (ConnectionError, asyncio.TimeoutError) as exc:
            stderr = self.proc.stderr_text() if self.proc else ""
            raise BackendError(f"Claude Code did not start: {exc or type(exc).__name__}. {stderr[-1500:]}".strip()) from exc
        commands = command_infos(reply.get("commands"))
        if commands:
            self.sink.update({"slash_commands": [c["name"] for c in commands], "commands": commands})

    # -- outgoing --------------------------------------------------------------------------

    async def _send(self, message: dict[str, Any]) -> None:
        if self.proc is None:
            raise ConnectionError("the CLI is not running")
        await self.proc.send(message)

    async def _request(self, request: dict[str, Any], timeout: float | None = None) -> dict[str, Any]:
        request_id = f"req_{uuid.uuid4().hex[:16]}"
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._requests[request_id] = future
        try:
            await self._send({"type": "control_request", "request_id": request_id, "request": request})
            return await asyncio.wait_for(future, timeout or self.config.request_timeout)
        finally:
            self._requests.pop(request_id, None)

    async def send_user_message(self, content: str, images: list[dict[str, Any]]) -> None:
        """Write a ``user`` line (images first, text last)."""
        body: Any = content
        if images:
            body = [
                {"type": "image", "source": {"type": "base64", "media_type": i["media_type"], "data": i["data"]}}
                for i in images
            ] + [{"type": "text", "text": content}]
        await self._send({
            "type": "user",
            "message": {"role": "user", "content": body},
            "parent_tool_use_id": None,
            "session_id": "",
        })

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
        """Answer ``can_use_tool`` with a ``control_response``."""
        payload: dict[str, Any]
        if behavior == "allow":
            payload = {"behavior": "allow", "updatedInput": updated_input or (original or {}).get("input") or {}}
            if updated_permissions:
                payload["updatedPermissions"] = updated_permissions
        else:
            payload = {"behavior": "deny", "message": message or "Denied by user"}
        await self._send({
            "type": "control_response",
            "response": {"subtype": "success", "request_id": request_id, "response": payload},
        })

    async def _control(self, request: dict[str, Any]) -> dict[str, Any]:
        try:
            return await self._request(request)
        except asyncio.TimeoutError as exc:
            raise BackendError(f"Claude Code did not answer '{request['subtype']}' in time") from exc

    async def interrupt(self) -> None:
        """Ask the CLI to stop the running turn."""
        await self._control({"subtype": "interrupt"})

    async def set_model(self, model: str) -> None:
        """Switch the model."""
        await self._control({"subtype": "set_model", "model": None if model == "default" else model})

    async def set_permission_mode(self, mode: str) -> None:
        """Switch the permission mode."""
        await self._control({"subtype": "set_permission_mode", "mode": mode})

    async def stop(self) -> None:
        """Close stdin and stop the process."""
        if self.proc is not None:
            await self.proc.stop()

    # -- incoming --------------------------------------------------------------------------

    def _on_exit(self, returncode: int | None, stderr: str) -> None:
        for future in self._requests.values():
            if not future.done():
                future.set_exception(ConnectionError(f"the CLI exited (code {returncode})"))
        self.sink.on_exit(returncode, stderr)

    def _on_message(self, msg: dict[str, Any]) -> None:
        kind = msg.get("type")
        handler = _HANDLERS.get(kind) if isinstance(kind, str) else None
        if handler is not None:
            handler(self, msg)
        elif kind not in QUIET_TYPES:
            self.sink.drift(f"message type {kind!r}")

    def _on_system(self, msg: dict[str, Any]) -> None:
        subtype = msg.get("subtype")
        if subtype == "init":
            if msg.get("session_id"):
                self.sink.set_cli_session_id(str(msg["session_id"]))
            self.sink.emit({
                "type": "session_init",
                "model": msg.get("model"),
                "cwd": msg.get("cwd"),
                "tools": msg.get("tools") or [],
                "permission_mode": msg.get("permissionMode"),
                "slash_commands": msg.get("slash_commands") or [],
                "skills": msg.get("skills") or [],
                "backend_version": msg.get("claude_code_version"),
                "mcp_servers": msg.get("mcp_servers") or [],
                "agents": msg.get("agents") or [],
            })
        elif subtype == "status":
            status = msg.get("status")
            if status == "compacting":
                self.sink.set_phase("compacting")
            elif status == "requesting":
                self.sink.set_phase("streaming")
            if msg.get("permissionMode"):
                self.sink.update({"permission_mode": msg["permissionMode"]})
        elif subtype == "api_retry":
            self.sink.emit(api_retry_notice(msg))
        elif subtype not in QUIET_SYSTEM:
            event = {k: v for k, v in msg.items() if k not in ("type", "uuid", "session_id")}
            self.sink.emit({"type": "system", **event})

    def _on_stream_event(self, msg: dict[str, Any]) -> None:
        event = msg.get("event") or {}
        etype = event.get("type")
        if etype == "message_start":
            self._message_id = (event.get("message") or {}).get("id")
        elif etype == "content_block_delta":
            delta = event.get("delta") or {}
            dtype = delta.get("type")
            if dtype == "text_delta":
                kind, text = "text", delta.get("text", "")
            elif dtype == "thinking_delta":
                kind, text = "thinking", delta.get("thinking", "")
            else:
                return
            out: dict[str, Any] = {"type": "stream_delta", "kind": kind, "text": text, "message_id": self._message_id}
            if msg.get("parent_tool_use_id"):
                out["parent_tool_use_id"] = msg["parent_tool_use_id"]
            self.sink.emit(out)

    def _on_assistant(self, msg: dict[str, Any]) -> None:
        message = msg.get("message") or {}
        event: dict[str, Any] = {
            "type": "assistant",
            "message": {
                "id": message.get("id"),
                "model": message.get("model"),
                "content": message.get("content") or [],
                "usage": message.get("usage"),
                "stop_reason": message.get("stop_reason"),
            },
            "parent_tool_use_id": msg.get("parent_tool_use_id"),
        }
        if msg.get("error"):
            event["error"] = msg["error"]
        self.sink.emit(event)
        login = login_error(msg)
        if login is not None:
            self.sink.emit(login)

    def _on_user(self, msg: dict[str, Any]) -> None:
        content = (msg.get("message") or {}).get("content")
        if not isinstance(content, list):
            return
        extra = msg.get("tool_use_result") if isinstance(msg.get("tool_use_result"), dict) else None
        for block in content:
            if isinstance(block, dict) and block.get("type") == "tool_result":
                event: dict[str, Any] = {
                    "type": "tool_result",
                    "tool_use_id": block.get("tool_use_id"),
                    "content": block.get("content"),
                    "is_error": bool(block.get("is_error")),
                    "parent_tool_use_id": msg.get("parent_tool_use_id"),
                }
                if extra is not None and len(content) == 1:
                    event["details"] = {k: v for k, v in extra.items() if isinstance(v, (str, int, float, bool))}
                self.sink.emit(event)

    def _on_result(self, msg: dict[str, Any]) -> None:
        # The CLI's total_cost_usd adds up every turn of this process (verified with 2.1.197); a
        # result's cost_usd is the turn's own: what it adds to the process's previous total.
        total = msg.get("total_cost_usd")
        turn_cost = None
        if isinstance(total, (int, float)) and not isinstance(total, bool):
            turn_cost = round(max(0.0, float(total) - self._process_cost), 10)
            self._process_cost = float(total)
        self.sink.emit({
            "type": "result",
            "subtype": msg.get("subtype"),
            "is_error": bool(msg.get("is_error")),
            "duration_ms": msg.get("duration_ms"),
            "num_turns": msg.get("num_turns"),
            "cost_usd": turn_cost,
            "process_cost_usd": total,
            "usage": msg.get("usage"),
            "model_usage": msg.get("modelUsage"),
            "text": msg.get("result"),
            "stop_reason": msg.get("stop_reason"),
            "permission_denials": msg.get("permission_denials") or [],
            "errors": msg.get("errors"),
        })
        self.sink.set_phase("ready")

    def _on_control_request(self, msg: dict[str, Any]) -> None:
        request = msg.get("request") or {}
        request_id = msg.get("request_id")
        if request.get("subtype") == "can_use_tool" and request_id:
            event: dict[str, Any] = {
                "type": "permission_request",
                "request_id": str(request_id),
                "tool_name": request.get("tool_name"),
                "input": request.get("input") or {},
                "description": request.get("description") or request.get("title"),
                "suggestions": request.get("permission_suggestions") or [],
                "tool_use_id": request.get("tool_use_id"),
            }
            for key in ("display_name", "blocked_path", "decision_reason", "agent_id"):
                if request.get(key) is not None:
                    event[key] = request[key]
            self.sink.set_phase("awaiting_permission")
            self.sink.emit(event)
            return
        self.sink.drift(f"control_request subtype {request.get('subtype')!r}")
        if request_id and self.proc is not None:
            with contextlib.suppress(RuntimeError):
                task = asyncio.ensure_future(self._send({
                    "type": "control_response",
                    "response": {"subtype": "error", "request_id": request_id,
                                 "error": f"unsupported request {request.get('subtype')!r}"},
                }))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)

    def _on_control_cancel(self, msg: dict[str, Any]) -> None:
        request_id = msg.get("request_id")
        if request_id:
            self.sink.emit({"type": "permission_resolved", "request_id": str(request_id), "behavior": "cancelled", "by": "cli"})

    def _on_control_response(self, msg: dict[str, Any]) -> None:
        response = msg.get("response") or {}
        future = self._requests.get(str(response.get("request_id")))
        if future is None or future.done():
            return
        if response.get("subtype") == "error":
            future.set_exception(BackendError(str(response.get("error") or "the CLI refused the request")))
        else:
            future.set_result(response.get("response") or {})

    def _on_tool_progress(self, msg: dict[str, Any]) -> None:
        self.sink.emit({
            "type": "tool_progress",
            "tool_use_id": msg.get("tool_use_id"),
            "tool_name": msg.get("tool_name"),
            "elapsed_time_seconds": msg.get("elapsed_time_seconds"),
        })

    def _on_rate_limit(self, msg: dict[str, Any]) -> None:
        info = msg.get("rate_limit_info")
        if isinstance(info, dict):
            self.sink.update({"rate_limits": info})


_HANDLERS = {
    "system": ClaudeAdapter._on_system,
    "stream_event": ClaudeAdapter._on_stream_event,
    "assistant": ClaudeAdapter._on_assistant,
    "user": ClaudeAdapter._on_user,
    "result": ClaudeAdapter._on_result,
    "control_request": ClaudeAdapter._on_control_request,
    "control_cancel_request": ClaudeAdapter._on_control_cancel,
    "control_response": ClaudeAdapter._on_control_response,
    "tool_progress": ClaudeAdapter._on_tool_progress,
    "rate_limit_event": ClaudeAdapter._on_rate_limit,
}


def _is_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


@hookimpl
def register_backends(register: Any, app: Any) -> None:
    """Register the ``claude`` backend."""
    config = ClaudeBackend(config=getattr(app, "config", None))

    def create_adapter(spec: LaunchSpec, sink: AdapterSink, wrap: CommandWrapper = no_wrapper) -> BackendAdapter:
        return ClaudeAdapter(spec, sink, wrap, config)

    async def list_conversations(limit: int, keep: Callable[[dict[str, Any]], bool]) -> list[dict[str, Any]]:
        """Transcripts in the Claude config folder of the environment the CLIs get."""
        env = {**os.environ, **(getattr(app, "cli_env", None) or {})}
        return await asyncio.to_thread(claude_transcripts.list_conversations, env, limit, keep)

    async def check_credentials(env: dict[str, str]) -> Credentials:
        """What the CLI's ``initialize`` answer says about its credentials."""
        binary = config.resolve_binary()
        if binary is None:
            raise OSError("the Claude Code CLI is not installed")
        return await claude_credentials(binary, env, timeout=config.start_timeout)

    register(
        BackendSpec(
            name="claude",
            label="Claude Code",
            create_adapter=create_adapter,
            check=config.availability,
            models=MODELS,
            list_conversations=list_conversations,
            applies_allowed_tools=True,
            check_credentials=check_credentials,
            protocol="claude-stream-json",
            replay_adapter=lambda spec, sink, wrap: ClaudeAdapter(
                spec, sink, wrap, ClaudeBackend(config=config.config, binary=sys.executable)),
        )
    )

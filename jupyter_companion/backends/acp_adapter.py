"""The ACP adapter: one Agent Client Protocol agent (JSON-RPC 2.0 over stdio) behind the event
contract.

One :class:`AcpAdapter` drives one agent process for one session through the official Python
SDK (``agent-client-protocol``): its ``ClientSideConnection`` sits on a :class:`~.acp_transport.LineTransport`
over our :class:`~.ndjson.LineProcess` (which frames lines of any size, keeps stderr and stops the
whole process group), and the SDK calls :class:`~.acp_client.AcpClient` for what the agent asks.

Life of a session
    ``initialize`` (we offer ``fs`` read/write and terminals) → ``session/new {cwd, mcpServers}``,
    or ``session/load`` to continue the conversation after a relaunch when the agent can load
    (its replay of the history is dropped: the session has it already); when it cannot, or the
    load fails, a new ACP session starts and an ``error`` ``context_lost`` makes the next prompt
    carry a recap of the earlier turns. Each prompt is one ``session/prompt``, whose answer ends
    the turn (``result``); ``interrupt`` sends ``session/cancel``. Permission modes are the agent's
    own modes (``session/set_mode``; see :data:`~.acp_protocol.MODE_ALIASES`), models its ``model``
    config option (``session/set_config_option``). A session's system prompt (ACP has none) goes
    before its first prompt.

Drift
    An update kind or a method this client does not know is reported once per kind through the
    sink's ``drift`` and dropped; a malformed message never stops the session.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections.abc import Awaitable
from typing import Any, cast

from acp import PROTOCOL_VERSION
from acp.client.connection import ClientSideConnection
from acp.exceptions import RequestError
from acp.schema import (
    ClientCapabilities,
    FileSystemCapabilities,
    ImageContentBlock,
    Implementation,
    TextContentBlock,
)

from . import leftovers
from .acp_client import AcpClient, AcpPermissions, permission_event, wire
from .acp_definition import ROOT_UNSAFE_VARIABLES, AgentDefinition
from .acp_protocol import (
    agent_mode_for,
    models_of,
    modes_of,
    our_mode_for,
    select_option,
)
from .acp_terminals import Terminals
from .acp_transport import LineTransport
from .acp_turn import AcpTurn
from .base import (
    PERMISSION_MODES,
    AdapterSink,
    BackendAdapter,
    BackendError,
    CommandWrapper,
    LaunchSpec,
    no_wrapper,
)
from .ndjson import LineProcess

log = logging.getLogger("jupyter_companion.backends.acp")

class AcpAdapter(BackendAdapter):
    """Drives one ACP agent for one session (see the module docstring)."""

    def __init__(
        self,
        spec: LaunchSpec,
        sink: AdapterSink,
        wrap: CommandWrapper = no_wrapper,
        *,
        agent: AgentDefinition,
        request_timeout: float = 60.0,
        client_version: str = "0",
    ):
        super().__init__(spec, sink, wrap)
        self.agent = agent
        self.request_timeout = request_timeout
        self.client_version = client_version
        self.permission_mode = spec.permission_mode if spec.permission_mode in PERMISSION_MODES else "default"
        self.model: str | None = spec.model
        self.acp_session_id: str | None = None
        self.capabilities: dict[str, Any] = {}
        self.agent_info: dict[str, Any] = {}
        self.modes: list[dict[str, str]] = []
        self.agent_mode: str | None = None
        self.config_options: list[dict[str, Any]] = []
        self.slash_commands: list[str] = []
        #: The model the agent said it uses when its session opened.
        self._agent_model: str | None = None
        self._proc: LineProcess | None = None
        self._transport = LineTransport(sink.drift)
        self._conn: ClientSideConnection | None = None
        self.terminals = Terminals(spec.cwd, self._environment, wrap)
        self.permissions = AcpPermissions()
        self.turn = AcpTurn(sink, lambda: self.model, self.terminals.outputs)
        self._queue: list[list[Any]] = []
        self._instructions_pending = False
        self._relaunch_before_prompt = False
        self._tasks: set[asyncio.Task[Any]] = set()
        self._stopping = False

    # ------------------------------------------------------------------ process
    @property
    def pid(self) -> int | None:
        """Process id of the agent, or None."""
        return self._proc.pid if self._proc else None

    @property
    def running(self) -> bool:
        """True while the agent runs."""
        return self._proc is not None and self._proc.running

    @property
    def label(self) -> str:
        """The agent's name as users read it."""
        return self.agent.label or self.agent.name

    def _environment(self) -> dict[str, str]:
        env = {**self.spec.env, **self.agent.env}
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            for name in ROOT_UNSAFE_VARIABLES:
                env.pop(name, None)
        return env

    async def start(self) -> None:
        """Spawn the agent, ``initialize``, and open (or load) its session; BackendError on failure
        (with the tail of the agent's stderr)."""
        await self._launch(self.spec.resume_id, announce=True)

    async def _launch(self, resume_id: str | None, *, announce: bool) -> None:
        """Start a process and connection; ``announce``: show the phases and ``session_init``."""
        argv, env, cwd = self.wrap(list(self.agent.command), self._environment(), self.spec.cwd)
        transport = LineTransport(self.sink.drift)
        # an ACP agent may outlive a server that dies (it need not exit when its input closes)
        pidfile = os.path.join(self.spec.state_dir, leftovers.PIDFILE) if self.spec.state_dir else None
        if pidfile:
            await asyncio.to_thread(leftovers.reap, pidfile)
        proc = LineProcess(argv, cwd=cwd, env=env, on_message=transport.deliver, pidfile=pidfile, tap=self.spec.tap,
                           on_exit=lambda code, tail: self._on_exit(proc, code, tail))
        self._proc, self._transport, transport.proc = proc, transport, proc
        try:
            await proc.start()
        except OSError as exc:
            raise BackendError(f"Could not start {self.label} ({argv[0]}): {exc.strerror or exc}") from exc
        client = AcpClient(self.sink, self.spec.cwd, self.terminals, self._on_update, self._on_permission)
        # AcpClient leaves out what this client does not offer (elicitation, extensions): the SDK
        # answers those with "method not found".
        self._conn = ClientSideConnection(cast(Any, client), transport)
        if announce:
            self.sink.set_phase("initializing")
        try:
            await self._handshake(resume_id, announce)
        except BackendError as exc:
            stderr = proc.stderr_text()
            raise BackendError(f"{exc}\n{stderr[-2000:]}" if stderr else str(exc)) from exc

    async def _relaunch(self) -> None:
        """Replace the agent process by a new one that loads the same session (for agents whose
        ``relaunch_after_cancel`` is set: they answer the prompt after a cancelled one wrongly)."""
        old_proc, old_conn = self._proc, self._conn
        self._proc = self._conn = None  # its exit is not the session's business
        log.info("relaunching %s after a cancelled turn (session %s)", self.label, self.acp_session_id)
        if old_proc is not None:
            await old_proc.stop()
        if old_conn is not None:
            with contextlib.suppress(Exception):
                await old_conn.close()
        await self._launch(self.acp_session_id, announce=False)

    async def _call(self, what: str, request: Awaitable[Any]) -> dict[str, Any]:
        """Await one request to the agent within the timeout; its answer in wire form."""
        try:
            return wire(await asyncio.wait_for(request, self.request_timeout))
        except asyncio.TimeoutError as exc:
            raise BackendError(f"{self.label} did not answer {what} within {self.request_timeout:.0f} s") from exc
        except RequestError as exc:
            raise BackendError(f"{self.label} refused {what}: {exc} {exc.data or ''}".rstrip()) from exc
        except ConnectionError as exc:
            raise BackendError(f"{self.label} exited during {what}") from exc

    async def _handshake(self, resume_id: str | None, announce: bool) -> None:
        assert self._conn is not None
        answer = await self._call("initialize", self._conn.initialize(
            protocol_version=PROTOCOL_VERSION,
            client_capabilities=ClientCapabilities(
                fs=FileSystemCapabilities(read_text_file=True, write_text_file=True), terminal=True),
            client_info=Implementation(name="jupyter-companion", title="Jupyter Companion", version=self.client_version),
        ))
        self.capabilities = answer.get("agentCapabilities") or {}
        self.agent_info = answer.get("agentInfo") or {}
        if self.agent_info.get("version"):
            self.agent.learned["version"] = str(self.agent_info["version"])
        session = await self._open_session(resume_id, answer.get("authMethods") or [])
        self._take_session_state(session)
        await self._apply_launch_choices()
        if not announce:
            return
        self.sink.emit({
            "type": "session_init",
            "model": self.model,
            "cwd": self.spec.cwd,
            "tools": [],
            "permission_mode": self.permission_mode,
            "slash_commands": list(self.slash_commands),  # the agent may have announced them already
            "skills": [],
            "backend_version": self.agent_info.get("version"),
            "agent": self.agent_info.get("title") or self.agent_info.get("name") or self.label,
            "acp_session_id": self.acp_session_id,
            "agent_modes": self.modes,
            "agent_mode": self.agent_mode,
        })
        self.sink.set_phase("ready")

    async def _open_session(self, resume_id: str | None, auth_methods: list[dict[str, Any]]) -> dict[str, Any]:
        assert self._conn is not None
        if resume_id:
            if self.capabilities.get("loadSession") and not self.spec.fork:
                self._transport.replaying = True
                try:
                    loaded = await self._call("session/load", self._conn.load_session(
                        cwd=self.spec.cwd, session_id=resume_id, mcp_servers=list(self.agent.mcp_servers)))
                    self.acp_session_id = resume_id
                    return loaded
                except BackendError as exc:
                    reason = str(exc)
                finally:
                    self._transport.replaying = False
            else:
                reason = f"{self.label} cannot load an earlier session" if not self.spec.fork else "a fork starts anew"
            self.sink.emit({"type": "error", "code": "context_lost",
                            "message": f"Could not continue the {self.label} session {resume_id} ({reason}); started a "
                                       "new one: the next message carries a recap of the earlier conversation."})
        try:
            session = await self._call("session/new", self._conn.new_session(
                cwd=self.spec.cwd, mcp_servers=list(self.agent.mcp_servers)))
        except BackendError as exc:
            cause = exc.__cause__
            if isinstance(cause, RequestError) and cause.code == -32000:
                ways = ", ".join(str(m.get("name") or m.get("id")) for m in auth_methods) or "see the agent's documentation"
                raise BackendError(f"{self.label} needs you to sign in first ({ways}); run it once in a terminal, "
                                   "or give it its API key through an env profile") from exc
            raise
        self.acp_session_id = str(session.get("sessionId"))
        self._instructions_pending = bool(self.spec.system_prompt)
        return session

    def _take_session_state(self, session: dict[str, Any]) -> None:
        assert self.acp_session_id is not None
        self.sink.set_cli_session_id(self.acp_session_id)
        self.config_options = list(session.get("configOptions") or [])
        models, current_model = models_of(session)
        self.agent.learned.update(models=models, models_at=time.monotonic())
        self.modes, self.agent_mode = modes_of(session)
        self.agent.learned["modes"] = self.modes
        self._agent_model = current_model
        self.model = self.model or current_model

    async def _apply_launch_choices(self) -> None:
        """The session's model and permission mode, when the agent started with others."""
        current_model = self._agent_model
        if self.model and current_model and self.model != current_model:
            try:
                await self._set_model(self.model)
            except BackendError as exc:
                self._notice("model_not_set", f"{exc}; the agent uses {current_model}.")
                self.model = current_model
        if not self.modes:
            return
        offered = [m["id"] for m in self.modes]
        wanted = agent_mode_for(self.permission_mode, offered)
        try:
            if wanted is None:
                raise BackendError(f"{self.label} has no mode for {self.permission_mode!r} (its modes: "
                                   f"{', '.join(offered)})")
            if wanted != self.agent_mode:
                await self._set_agent_mode(wanted)
        except BackendError as exc:
            self._notice("mode_not_set", f"{exc}; it runs in its {self.agent_mode!r} mode.")
            self.permission_mode = our_mode_for(self.agent_mode or "", offered, "default") or "default"
            self.sink.update({"permission_mode": self.permission_mode})

    def _notice(self, code: str, message: str) -> None:
        self.sink.emit({"type": "notice", "level": "warning", "code": code, "message": message})

    def _spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _on_exit(self, proc: LineProcess, returncode: int | None, stderr_tail: str) -> None:
        if proc is not self._proc:
            return  # a process replaced on purpose (see _relaunch)
        self._transport.closed()
        self._cancel_permissions()
        self.turn.active = False
        self._spawn(self.terminals.close())
        self.sink.on_exit(returncode, stderr_tail)

    async def stop(self) -> None:
        """Stop the agent (close its input, then signals) and its terminals; never raises."""
        self._stopping = True
        self._cancel_permissions()
        with contextlib.suppress(Exception):
            await self.terminals.close()
        if self._proc is not None:
            with contextlib.suppress(Exception):
                await self._proc.stop()
        if self._conn is not None:
            with contextlib.suppress(Exception):
                await self._conn.close()
        for task in list(self._tasks):
            task.cancel()

    # ------------------------------------------------------------------ commands
    async def send_user_message(self, content: str, images: list[dict[str, Any]]) -> None:
        """Start a prompt turn with the text and images (queued behind a running turn)."""
        if self._conn is None or self.acp_session_id is None:
            raise BackendError(f"The {self.label} session is not ready yet")
        blocks: list[Any] = []
        if self._instructions_pending:
            self._instructions_pending = False
            blocks.append(TextContentBlock(type="text", text=f"[Instructions for this session]\n{self.spec.system_prompt}\n"
                                                              "[End of the instructions]"))
        blocks.append(TextContentBlock(type="text", text=content))
        accepts_images = bool((self.capabilities.get("promptCapabilities") or {}).get("image"))
        for image in images or []:
            if not image.get("data"):
                continue
            if not accepts_images:
                self._notice("images_dropped", f"{self.label} does not accept images; the prompt was sent without them.")
                break
            blocks.append(ImageContentBlock(type="image", data=str(image["data"]),
                                            mime_type=str(image.get("media_type") or "image/png")))
        if self.turn.active:
            self._queue.append(blocks)
            return
        if self._relaunch_before_prompt:
            self._relaunch_before_prompt = False
            await self._relaunch()
        self._start_turn(blocks)

    def _start_turn(self, blocks: list[Any]) -> None:
        self.turn.begin()
        self._spawn(self._run_turn(blocks))

    async def _run_turn(self, blocks: list[Any]) -> None:
        assert self._conn is not None and self.acp_session_id is not None
        self.sink.set_phase("streaming")
        try:
            answer = wire(await self._conn.prompt(session_id=self.acp_session_id, prompt=blocks))
        except ConnectionError:
            return  # the agent exited: the session's exit handling keeps what was streamed
        except RequestError as exc:
            self._cancel_permissions()
            self.sink.emit({"type": "error", "message": f"{self.label}: {exc} {exc.data or ''}".rstrip()})
            self.turn.finish("error", error=f"{exc}")
        else:
            self._cancel_permissions()
            stop_reason = str(answer.get("stopReason") or "end_turn")
            self._relaunch_before_prompt = stop_reason == "cancelled" and self.agent.relaunch_after_cancel
            self.turn.finish(stop_reason, answer.get("usage"))
        self.sink.set_phase("ready")
        if self._queue and not self._stopping and self.running:
            self._start_turn(self._queue.pop(0))

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
        """Answer a pending permission request with the agent's matching option (an "always"
        suggestion picks that option). ACP has no way to change a tool's input or add a message."""
        self.permissions.answer(request_id, behavior == "allow", updated_permissions)
        if not self.permissions and self.turn.active:
            self.sink.set_phase("streaming")

    async def interrupt(self) -> None:
        """``session/cancel`` the running turn; its open permission requests end as cancelled."""
        self._queue.clear()
        if self._conn is None or self.acp_session_id is None or not self.turn.active:
            return
        self._cancel_permissions()
        with contextlib.suppress(ConnectionError):
            await self._conn.cancel(session_id=self.acp_session_id)

    async def set_model(self, model: str) -> None:
        """Switch the agent's model (its ``model`` config option)."""
        await self._set_model(model)
        self.model = model
        self.sink.update({"model": model})

    async def _set_model(self, model: str) -> None:
        assert self._conn is not None and self.acp_session_id is not None
        option = select_option(self.config_options, "model")
        if option is None:
            raise BackendError(f"{self.label} does not let a client choose its model")
        answer = await self._call("the model", self._conn.set_config_option(
            config_id=str(option.get("id")), session_id=self.acp_session_id, value=model))
        if answer.get("configOptions"):
            self.config_options = list(answer["configOptions"])

    async def set_permission_mode(self, mode: str) -> None:
        """Switch to the agent's mode that means ``mode`` (``session/set_mode``)."""
        if mode not in PERMISSION_MODES:
            raise BackendError(f"Unknown permission mode {mode!r}")
        wanted = agent_mode_for(mode, [m["id"] for m in self.modes])
        if wanted is None:
            offered = ", ".join(m["id"] for m in self.modes) or "none"
            raise BackendError(f"{self.label} has no mode for {mode!r} (its modes: {offered})")
        if wanted != self.agent_mode:
            await self._set_agent_mode(wanted)
        self.permission_mode = mode
        self.sink.update({"permission_mode": mode})

    async def _set_agent_mode(self, mode_id: str) -> None:
        assert self._conn is not None and self.acp_session_id is not None
        await self._call("the mode", self._conn.set_session_mode(session_id=self.acp_session_id, mode_id=mode_id))
        self.agent_mode = mode_id

    # ------------------------------------------------------------------ from the agent
    def _on_update(self, update: dict[str, Any]) -> None:
        kind = update.get("sessionUpdate")
        if kind == "agent_message_chunk":
            self.turn.chunk("text", update)
        elif kind == "agent_thought_chunk":
            self.turn.chunk("thinking", update)
        elif kind == "tool_call":
            self.turn.tool_call(update)
        elif kind == "tool_call_update":
            self.turn.tool_call_update(update)
        elif kind == "plan":
            self.turn.plan(update)
        elif kind == "available_commands_update":
            self.slash_commands = [str(c.get("name")) for c in update.get("availableCommands") or [] if isinstance(c, dict)]
            self.sink.update({"slash_commands": self.slash_commands})
        elif kind == "current_mode_update":
            self._mode_changed(str(update.get("currentModeId") or ""))
        elif kind == "config_option_update":
            self.config_options = list(update.get("configOptions") or self.config_options)
            _, current = models_of({"configOptions": self.config_options})
            if current and current != self.model:
                self.model = current
                self.sink.update({"model": current})
        elif kind == "usage_update":
            self.turn.usage_update(update)
        # user_message_chunk (the agent echoing a prompt) and session_info_update: nothing to show

    def _mode_changed(self, agent_mode: str) -> None:
        self.agent_mode = agent_mode
        mapped = our_mode_for(agent_mode, [m["id"] for m in self.modes], self.permission_mode)
        fields: dict[str, Any] = {"agent_mode": agent_mode}
        if mapped:
            self.permission_mode = mapped
            fields["permission_mode"] = mapped
        self.sink.update(fields)

    async def _on_permission(self, tool_call: dict[str, Any], options: list[dict[str, Any]]) -> dict[str, Any]:
        tool_id = self.turn.ensure_tool(tool_call)
        request_id, outcome = self.permissions.open(options)
        self.sink.emit(permission_event(request_id, tool_id, self.turn.tool_of(tool_id), options))
        self.sink.set_phase("awaiting_permission")
        return await outcome

    def _cancel_permissions(self) -> None:
        """Withdraw every pending permission request (the turn ended or the agent stopped)."""
        for request_id in self.permissions.ids():
            if self.permissions.cancel(request_id):
                self.sink.emit({"type": "permission_resolved", "request_id": request_id, "behavior": "cancelled",
                                "by": "cli"})

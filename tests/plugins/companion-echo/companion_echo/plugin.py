"""An in-process ``echo`` backend written only against ``jupyter_companion.hookspecs``.

Every prompt is answered with ``echo: <prompt>``; a prompt starting with ``ask `` asks for a
permission first. It also contributes a system prompt and auto-approves ``Read`` requests, to
exercise the observer and decision hooks.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from jupyter_companion.backends.base import (
    AdapterSink,
    Availability,
    BackendAdapter,
    BackendSpec,
    CommandWrapper,
    LaunchSpec,
    no_wrapper,
)
from jupyter_companion.hookspecs import hookimpl

SEEN_EVENTS: list[str] = []


class EchoAdapter(BackendAdapter):
    """Answers in-process; no CLI."""

    def __init__(self, spec: LaunchSpec, sink: AdapterSink, wrap: CommandWrapper = no_wrapper):
        super().__init__(spec, sink, wrap)
        self._running = False
        self._pending: dict[str, asyncio.Future[str]] = {}

    @property
    def pid(self) -> int | None:
        return None

    @property
    def running(self) -> bool:
        return self._running

    async def start(self) -> None:
        self._running = True
        self.sink.set_cli_session_id(self.spec.resume_id or uuid.uuid4().hex)

    async def send_user_message(self, content: str, images: list[dict[str, Any]]) -> None:
        self._turn_task = asyncio.ensure_future(self._turn(content))

    async def _turn(self, content: str) -> None:
        sink = self.sink
        sink.emit({"type": "session_init", "model": "echo-1", "cwd": self.spec.cwd, "tools": ["Read"],
                   "permission_mode": self.spec.permission_mode, "slash_commands": [], "skills": [],
                   "system_prompt": self.spec.system_prompt})
        if content.startswith("ask "):
            request_id = uuid.uuid4().hex
            future: asyncio.Future[str] = asyncio.get_running_loop().create_future()
            self._pending[request_id] = future
            sink.emit({"type": "permission_request", "request_id": request_id, "tool_name": content.split()[1],
                       "input": {"file_path": "x"}})
            behavior = await future
            content = f"{content} -> {behavior}"
        text = f"echo: {content}"
        sink.emit({"type": "stream_delta", "kind": "text", "text": text})
        sink.emit({"type": "assistant", "message": {"id": uuid.uuid4().hex, "model": "echo-1",
                                                    "content": [{"type": "text", "text": text}]}})
        sink.emit({"type": "result", "is_error": False, "text": text, "cost_usd": 0.0})
        sink.set_phase("ready")

    async def respond_permission(self, request_id: str, behavior: str, **kwargs: Any) -> None:
        future = self._pending.pop(request_id, None)
        if future is not None and not future.done():
            future.set_result(behavior)

    async def interrupt(self) -> None:
        return None

    async def set_model(self, model: str) -> None:
        return None

    async def set_permission_mode(self, mode: str) -> None:
        self.spec.permission_mode = mode

    async def stop(self) -> None:
        if self._running:
            self._running = False
            self.sink.on_exit(0, "")


async def _available() -> Availability:
    return Availability(True, version="1.0")


@hookimpl
def register_backends(register: Any, app: Any) -> None:
    """Add the echo backend."""
    register(BackendSpec(name="echo", label="Echo (test plugin)", create_adapter=EchoAdapter,
                         check=_available, models=[{"id": "echo-1", "label": "Echo 1"}]))


@hookimpl
def system_prompt(session: Any) -> str:
    """Contribute context to every new session."""
    return "You are being tested by companion-echo."


@hookimpl
def permission_request(session: Any, request: dict[str, Any]) -> dict[str, Any] | None:
    """Auto-approve Read; leave everything else to the user."""
    if request.get("tool_name") == "Read":
        return {"behavior": "allow"}
    return None


@hookimpl
def session_event(session: Any, event: dict[str, Any]) -> None:
    """Record event types (observer hook)."""
    SEEN_EVENTS.append(event["type"])


@hookimpl
def register_settings(app: Any) -> dict[str, Any]:
    """Declare a secret and a plain setting."""
    return {
        "echo_api_key": {"type": "string", "secret": True, "default": "", "description": "A secret of the echo plugin."},
        "echo_prefix": {"type": "string", "default": "echo", "description": "What replies start with."},
    }


@hookimpl
def register_routes(app: Any) -> list[tuple[str, Any]]:
    """Add ``GET companion/api/echo/ping``, authenticated like every core route."""
    from jupyter_server.auth.decorator import authorized
    from tornado import web

    from jupyter_companion.handlers.base import CompanionAPIHandler

    class PingHandler(CompanionAPIHandler):
        @web.authenticated
        @authorized
        async def get(self) -> None:
            self.send_json({"pong": True, "sessions": len(self.orch.sessions),
                            "has_key": bool(self.orch.settings.value("echo_api_key"))})

    return [(r"/companion/api/echo/ping", PingHandler)]


@hookimpl
def register_triggers(register: Any, app: Any) -> None:
    """A trigger of the kind an integration adds: the test calls ``app.echo_trigger(agent_id, input)``."""
    app.echo_trigger = register("echo_event", "Echo event")


#: What ``session_archived`` saw (options of each archive), for the tests.
ARCHIVED: list[dict[str, Any]] = []


@hookimpl
async def prepare_session(session: Any, request: dict[str, Any], progress: Any) -> None:
    """Read this plugin's own create-request field ``echo_ticket`` (``refuse`` refuses)."""
    from jupyter_companion.errors import ApiError

    ticket = request.get("echo_ticket")
    if ticket is None:
        return
    progress("echo_ticket", "Checking the echo ticket", "in_progress", str(ticket))
    await asyncio.sleep(0)
    if ticket == "refuse":
        raise ApiError(400, "the echo plugin refuses this ticket")
    session.info["echo_ticket"] = {"id": str(ticket), "url": f"https://tickets.example/{ticket}"}
    progress("echo_ticket", "Checking the echo ticket", "done", None)


@hookimpl
async def validate_settings(changes: dict[str, Any], app: Any) -> None:
    """Refuse an echo prefix that shouts."""
    from jupyter_companion.errors import ApiError

    prefix = changes.get("echo_prefix")
    if isinstance(prefix, str) and prefix.isupper():
        raise ApiError(400, "the echo prefix may not shout")


@hookimpl
def session_archived(session: Any, options: dict[str, Any]) -> None:
    """Record the archive's options."""
    ARCHIVED.append(dict(options))


@hookimpl
def register_ui(app: Any) -> list[Any]:
    """One usable contribution and three that the core must drop."""
    return [
        {"kind": "session_field", "field": "echo_ticket", "text": "ticket {id}", "href": "{url}"},
        {"kind": "page", "id": "Not An Id", "label": "Bad id"},
        {"kind": "create_field", "name": "x", "label": "X", "search": {"url": "https://elsewhere.example/api"}},
        {"kind": "dashboard"},
    ]

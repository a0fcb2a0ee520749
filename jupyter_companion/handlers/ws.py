"""WebSockets: ``companion/ws/sessions/{id}?after=N`` (replay, live events, commands) and
``companion/ws/sessions`` (the sessions feed)."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import TYPE_CHECKING, Any

from jupyter_server.auth.decorator import ws_authenticated
from jupyter_server.base.handlers import JupyterHandler
from jupyter_server.base.websocket import WebSocketMixin
from jupyter_server.utils import ensure_async
from tornado import web
from tornado.websocket import WebSocketClosedError, WebSocketHandler

from ..backends.base import BackendError
from ..errors import ApiError
from ..events import CommandError, has_lone_surrogate, parse_command
from ..sessions.permissions import NotPending
from ..sessions.retry import retry_last_prompt
from ..sessions.session import Session, Subscriber
from .base import AUTH_RESOURCE, EXECUTE
from .frames import FrameBatcher

if TYPE_CHECKING:
    from ..sessions.orchestrator import Orchestrator

log = logging.getLogger("jupyter_companion.ws")

#: Largest command frame accepted (a prompt with images).
MAX_FRAME_BYTES = 64 * 1024 * 1024
#: Commands that make the CLI run code: they need the ``execute`` action, not just ``write``.
EXECUTE_COMMANDS = frozenset({"user_message", "permission_response", "set_permission_mode", "retry"})


class CompanionSocket(WebSocketMixin, WebSocketHandler, JupyterHandler):
    """What every companion WebSocket shares: Jupyter auth, batched frames, size limits."""

    auth_resource = AUTH_RESOURCE

    _can_write = False
    _can_execute = False
    _frames: FrameBatcher | None = None

    def set_default_headers(self) -> None:
        """No HTML security headers on a WebSocket upgrade."""

    def get_compression_options(self) -> None:
        """No per-message compression: frames are encoded by :class:`FrameBatcher`."""
        return None

    @property
    def max_message_size(self) -> int:
        """Frames above this size close the socket (tornado's own guard)."""
        return MAX_FRAME_BYTES

    @property
    def orch(self) -> Orchestrator:
        """The orchestrator of this server."""
        return self.settings["companion_orchestrator"]

    async def _allowed(self, action: str) -> bool:
        return bool(await ensure_async(self.authorizer.is_authorized(self, self.current_user, action, AUTH_RESOURCE)))

    async def authorize_upgrade(self) -> None:
        """Refuse (403) a user without read access; note whether they may also write and execute."""
        if not await self._allowed("read"):
            raise web.HTTPError(403)
        self._can_write = await self._allowed("write")
        self._can_execute = await self._allowed(EXECUTE)
        await self.orch.ensure_active()

    def start_socket(self) -> None:
        """Start Jupyter's pings, and send every frame at once: without ``TCP_NODELAY`` a small frame
        (a streamed delta) can wait for the client's delayed ACK, tens of milliseconds."""
        WebSocketMixin.open(self)
        self.set_nodelay(True)

    def _send_text(self, text: str) -> None:
        if self._frames is None:
            self._frames = FrameBatcher(self)
        self._frames.send(text)


class SessionWebSocket(CompanionSocket):
    """One client watching and driving one session."""

    session: Session | None = None
    subscriber: Subscriber | None = None

    @ws_authenticated
    async def get(self, *args: Any, **kwargs: Any) -> None:
        """Authorize, find the session, then upgrade."""
        await self.authorize_upgrade()
        session_id = kwargs.get("session_id") or (args[0] if args else "")
        session = self.orch.sessions.get(session_id)
        if session is None:
            self.set_status(404)
            self.finish(json.dumps({"error": f"no session with id {session_id[:80]!r}"}))
            return
        raw_after = self.get_argument("after", "0")
        try:
            self._after = max(0, int(raw_after))
        except ValueError:
            self.set_status(400)
            self.finish(json.dumps({"error": "'after' must be an integer"}))
            return
        self.session = session
        await super().get(*args, **kwargs)

    async def open(self, *args: Any, **kwargs: Any) -> None:
        """Replay what the client missed, then stay subscribed."""
        self.start_socket()
        assert self.session is not None
        try:
            # only a client that may run code brings back a CLI restored after a restart
            self.subscriber = await self.session.subscribe(self._send_text, after=self._after,
                                                           relaunch=self._can_execute)
        except Exception:
            log.exception("subscribe failed")
            self.close(1011, "subscribe failed")

    def on_close(self) -> None:
        """Unsubscribe."""
        if self.session is not None and self.subscriber is not None:
            self.session.unsubscribe(self.subscriber)

    def _reply_error(self, message: str, client_msg_id: str | None = None) -> None:
        frame: dict[str, Any] = {"type": "error", "seq": None, "message": message}
        if self.session is not None:
            frame["session_id"] = self.session.id
        if client_msg_id:
            frame["client_msg_id"] = client_msg_id
        try:
            self._send_text(json.dumps(frame))
        except WebSocketClosedError:
            pass

    async def on_message(self, message: str | bytes) -> None:
        """Validate and run one command; a bad one gets an error frame, the socket stays open."""
        try:
            frame = json.loads(message)
            if has_lone_surrogate(frame):
                raise CommandError("a string holds an unpaired surrogate (\\ud800-\\udfff)")
            command = parse_command(frame)
        except (ValueError, UnicodeDecodeError, RecursionError) as exc:
            text = str(exc) if isinstance(exc, CommandError) else "the frame is not valid JSON"
            self._reply_error(text)
            return
        session = self.session
        if session is None:
            return
        client_msg_id = command.get("client_msg_id")
        refusal = self._refusal(command["type"])
        if refusal:
            self._reply_error(refusal, client_msg_id)
            return
        if await session.is_duplicate(client_msg_id):
            self._ack(client_msg_id, duplicate=True)
            return
        try:
            queued = await self._run(session, command)
        except NotPending:
            self._reply_error(f"no pending permission request {command.get('request_id')!r}", client_msg_id)
            return
        except ApiError as exc:
            self._reply_error(exc.message, client_msg_id)
            return
        except (BackendError, ConnectionError, asyncio.TimeoutError) as exc:
            self._reply_error(str(exc) or type(exc).__name__, client_msg_id)
            return
        except Exception:
            log.exception("command %s failed", command.get("type"))
            self._reply_error("the command failed; see the server log", client_msg_id)
            return
        session.remember(client_msg_id)
        self._ack(client_msg_id, queued=queued)

    def _refusal(self, kind: str) -> str | None:
        """Why this user may not send a command of this kind (None when they may)."""
        if not self._can_write:
            return ("not authorized to drive this session: watch-only access follows it (needs 'write' on "
                    f"'{AUTH_RESOURCE}'; under JupyterHub the scope custom:jupyter_server:write:*)")
        if kind in EXECUTE_COMMANDS and not self._can_execute:
            return f"not authorized to {kind.replace('_', ' ')} here: it runs code (needs '{EXECUTE}' on '{AUTH_RESOURCE}')"
        return None

    def _ack(self, client_msg_id: str | None, duplicate: bool = False, queued: bool = False) -> None:
        """Acknowledge a command that carried a ``client_msg_id`` (on this socket only); ``queued``:
        a prompt waits for the running turn to end."""
        if not client_msg_id:
            return
        frame: dict[str, Any] = {"type": "ack", "seq": None, "client_msg_id": client_msg_id, "duplicate": duplicate}
        if queued:
            frame["queued"] = True
        if self.session is not None:
            frame["session_id"] = self.session.id
        try:
            self._send_text(json.dumps(frame))
        except WebSocketClosedError:
            pass

    async def _run(self, session: Session, command: dict[str, Any]) -> bool:
        """Carry out one command; True when it left a prompt waiting for the running turn."""
        kind = command["type"]
        if kind == "user_message":
            if session.archived:
                raise BackendError("this session is archived; unarchive it first")
            outcome = await session.send_user_message(command["content"], command["images"], command.get("client_msg_id"))
            return outcome == "queued"
        elif kind == "permission_response":
            await session.respond_permission(
                command["request_id"],
                command["behavior"],
                updated_input=command["updated_input"],
                message=command["message"],
                updated_permissions=command["updated_permissions"],
            )
        elif kind == "interrupt":
            await session.interrupt()
        elif kind == "retry":
            return bool((await retry_last_prompt(session, command.get("client_msg_id")))["queued"])
        elif kind == "cancel_queued":
            if not session.prompts.cancel(command["queued_id"]):
                raise ApiError(404, f"no queued message {command['queued_id']!r} (it may have been sent already)")
        elif kind == "set_model":
            await session.set_model(command["model"])
        elif kind == "set_permission_mode":
            await session.set_permission_mode(command["mode"])
        return False


class SessionsFeedWebSocket(CompanionSocket):
    """``companion/ws/sessions``: a snapshot of every session, then each change (read-only)."""

    _subscribed = False

    @ws_authenticated
    async def get(self, *args: Any, **kwargs: Any) -> None:
        """Authorize, then upgrade."""
        await self.authorize_upgrade()
        await super().get(*args, **kwargs)

    async def open(self, *args: Any, **kwargs: Any) -> None:
        """Send the snapshot and follow changes."""
        self.start_socket()
        try:
            self.orch.feed.subscribe(self._send_text)
            self._subscribed = True
        except WebSocketClosedError:
            pass

    def on_close(self) -> None:
        """Stop following."""
        if self._subscribed:
            self.orch.feed.unsubscribe(self._send_text)

    async def on_message(self, message: str | bytes) -> None:
        """The feed takes no commands; say so without closing the socket."""
        frame = {"type": "error", "seq": None,
                 "message": "the sessions feed is read-only; drive a session on companion/ws/sessions/{id}"}
        try:
            self._send_text(json.dumps(frame))
        except WebSocketClosedError:
            pass


def ws_handlers() -> list[tuple[str, type]]:
    """Route table (patterns relative to ``base_url``)."""
    return [
        (r"/companion/ws/sessions", SessionsFeedWebSocket),
        (r"/companion/ws/sessions/(?P<session_id>[A-Za-z0-9_-]{1,64})", SessionWebSocket),
    ]

"""REST routes of API.md under ``companion/api/``."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from jupyter_server.auth.decorator import authorized
from tornado import web

from .. import __version__
from ..backends.base import BackendError
from ..errors import ApiError
from ..events import parse_client_msg_id, parse_permission_response, parse_user_message
from ..export import content_disposition
from ..sessions.permissions import NotPending
from ..sessions.retry import retry_last_prompt
from .base import EXECUTE, CompanionAPIHandler

_MAX_INT64 = 2**63 - 1
_ID = r"(?P<session_id>[A-Za-z0-9_-]{1,64})"


def _int_arg(handler: CompanionAPIHandler, name: str, default: int | None, minimum: int = 0) -> int | None:
    """The query argument ``name`` as an integer; absent → ``default``; present but not an integer
    (an empty value included) or below ``minimum`` → 400."""
    raw = handler.get_argument(name, None)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise ApiError(400, f"'{name}' must be an integer") from exc
    if value < minimum:
        raise ApiError(400, f"'{name}' must be >= {minimum}")
    return min(value, _MAX_INT64)  # SQLite integers are 64-bit: a larger value means "no bound"


class StatusHandler(CompanionAPIHandler):
    """``GET companion/api/status``."""

    @web.authenticated
    @authorized
    async def get(self) -> None:
        """Version, backends, sandboxes, plugins and the protocol drift seen so far."""
        backends, sandboxes = await asyncio.gather(self.orch.backend_status(), self.orch.sandboxing.report())
        self.send_json({
            "version": __version__,
            "backends": backends,
            "sandboxes": sandboxes,
            "plugins": self.orch.plugins.report(),
            "protocol_drift": self.orch.status.drift(),
            "access": await self.access(),
        })


class OpenApiHandler(CompanionAPIHandler):
    """``GET companion/api/openapi.json``: the OpenAPI 3.1 description of every REST route."""

    @web.authenticated
    @authorized
    async def get(self) -> None:
        """The document, with ``servers`` set to this server's base URL."""
        from ..openapi import document

        self.send_json({**document(), "servers": [{"url": self.base_url}]})


class BackendsHandler(CompanionAPIHandler):
    """``GET companion/api/backends``."""

    @web.authenticated
    @authorized
    async def get(self) -> None:
        """Backends with availability and models."""
        self.send_json({"backends": await self.orch.backend_status(with_models=True)})


class ConversationsHandler(CompanionAPIHandler):
    """``GET companion/api/backends/{name}/conversations?cwd=&limit=``."""

    @web.authenticated
    @authorized
    async def get(self, backend: str) -> None:
        """Earlier conversations a new session can continue (``resume_session``)."""
        limit = _int_arg(self, "limit", 30, minimum=1) or 30
        self.send_json(await self.orch.conversations(backend, self.get_argument("cwd", None), limit))


class PluginsHandler(CompanionAPIHandler):
    """``GET companion/api/plugins``."""

    @web.authenticated
    @authorized
    async def get(self) -> None:
        """Every plugin, loaded or failed."""
        self.send_json({"plugins": self.orch.plugins.report()})


class UiHandler(CompanionAPIHandler):
    """``GET companion/api/ui``."""

    @web.authenticated
    @authorized
    async def get(self) -> None:
        """What plugins declared for the panel (``register_ui``), each checked."""
        from ..ui_contributions import collect

        self.send_json({"contributions": collect(self.orch.plugins, self.settings.get("companion_app"))})


class SessionsHandler(CompanionAPIHandler):
    """``GET/POST companion/api/sessions``."""

    @web.authenticated
    @authorized
    async def get(self) -> None:
        """List sessions (``?archived=true|false|all``)."""
        archived = self.get_argument("archived", "false")
        if archived not in ("true", "false", "all"):
            raise ApiError(400, "'archived' must be true, false or all")
        self.send_json({"sessions": [s.to_json() for s in self.orch.list(archived)]})

    @web.authenticated
    @authorized(EXECUTE)
    async def post(self) -> None:
        """Create a session (runs a CLI: ``execute``); streams NDJSON progress when the client accepts it."""
        body = self.json_body()
        if "application/x-ndjson" not in (self.request.headers.get("Accept") or ""):
            session = await self.orch.create(body)
            self.send_json(session.to_json(), status=201)
            return
        self.set_header("Content-Type", "application/x-ndjson")
        self.set_header("Cache-Control", "no-cache")
        self.set_header("X-Accel-Buffering", "no")
        started = False

        def progress(step: str, label: str, status: str, detail: str | None = None) -> None:
            nonlocal started
            if not started:  # the status is sent with the first line: 201 once creation is under way
                started = True
                self.set_status(201)
            line: dict[str, Any] = {"type": "progress", "step": step, "label": label, "status": status}
            if detail:
                line["detail"] = detail
            self.write(json.dumps(line) + "\n")
            self.flush()

        try:
            session = await self.orch.create(body, progress)
        except ApiError as exc:
            if not started:
                self.set_status(exc.status)
            self.finish(json.dumps({"type": "error", "error": exc.message, "status": exc.status}) + "\n")
            return
        if not started:
            self.set_status(201)
        self.finish(json.dumps({"type": "done", "session": session.to_json()}) + "\n")


class SessionHandler(CompanionAPIHandler):
    """``GET/PATCH/DELETE companion/api/sessions/{id}``."""

    @web.authenticated
    @authorized
    async def get(self, session_id: str) -> None:
        """One session object."""
        self.send_json(self.orch.get(session_id).to_json())

    @web.authenticated
    @authorized
    async def patch(self, session_id: str) -> None:
        """Rename."""
        body = self.json_body()
        if not isinstance(body, dict) or "name" not in body:
            raise ApiError(400, "only 'name' can be changed")
        self.send_json(self.orch.rename(session_id, body["name"]).to_json())

    @web.authenticated
    @authorized
    async def delete(self, session_id: str) -> None:
        """Stop, clean up and forget the session."""
        self.send_json(await self.orch.delete(session_id))


class SessionActionHandler(CompanionAPIHandler):
    """``POST companion/api/sessions/{id}/{kill|relaunch|archive|unarchive|interrupt}``."""

    @web.authenticated
    @authorized
    async def post(self, session_id: str, action: str) -> None:
        """Run a lifecycle action."""
        orch = self.orch
        if action == "relaunch":
            await self.require(EXECUTE)  # starts the CLI
        if action == "kill":
            result = await orch.kill(session_id)
        elif action == "relaunch":
            result = await orch.relaunch(session_id)
        elif action == "archive":
            body = self.json_body(required=False)
            force = body.get("force") if isinstance(body, dict) else None
            if not isinstance(body, dict) or not isinstance(force, (bool, type(None))):
                # never read "false", 0 or [] as a request to discard uncommitted work
                raise ApiError(400, "the body must be an object with an optional boolean 'force'")
            result = await orch.archive(session_id, force=bool(force), options=body)
        elif action == "unarchive":
            result = await orch.unarchive(session_id)
        else:  # interrupt
            session = orch.get(session_id)
            try:
                await session.interrupt()
            except BackendError as exc:
                raise ApiError(409, str(exc)) from exc
            result = {"ok": True}
        self.send_json(result)


class MessagesHandler(CompanionAPIHandler):
    """``POST companion/api/sessions/{id}/messages``."""

    @web.authenticated
    @authorized(EXECUTE)
    async def post(self, session_id: str) -> None:
        """Send a prompt (launching the CLI first when needed)."""
        session = self.orch.get(session_id)
        message = self.command_body(parse_user_message)
        if session.archived:
            raise ApiError(409, "this session is archived; unarchive it first")
        outcome = await session.send_user_message(message["content"], message["images"], message["client_msg_id"])
        self.send_json({"ok": True, "client_msg_id": message["client_msg_id"], "duplicate": outcome == "duplicate",
                        "queued": outcome == "queued"}, status=202)


class QueuedMessageHandler(CompanionAPIHandler):
    """``DELETE companion/api/sessions/{id}/queued/{queued_id}``: withdraw a prompt that waits for
    the running turn to end (``queued_messages[].id``)."""

    @web.authenticated
    @authorized
    async def delete(self, session_id: str, queued_id: str) -> None:
        """Withdraw it: ``{ok: true}``; 404 when it is not waiting (sent already, or unknown)."""
        session = self.orch.get(session_id)
        if not session.prompts.cancel(queued_id):
            raise ApiError(404, f"no queued message {queued_id!r} (it may have been sent already)")
        self.send_json({"ok": True})


class RetryHandler(CompanionAPIHandler):
    """``POST companion/api/sessions/{id}/retry``: send the last prompt again (needs ``execute``)."""

    @web.authenticated
    @authorized(EXECUTE)
    async def post(self, session_id: str) -> None:
        """Re-send the session's latest user message (``{client_msg_id?}``)."""
        session = self.orch.get(session_id)
        client_msg_id = self.command_body(parse_client_msg_id, required=False)
        answer = await retry_last_prompt(session, client_msg_id)
        self.send_json({"ok": True, "client_msg_id": client_msg_id, **answer}, status=202)


class PermissionHandler(CompanionAPIHandler):
    """``POST companion/api/sessions/{id}/permissions/{request_id}``."""

    @web.authenticated
    @authorized(EXECUTE)
    async def post(self, session_id: str, request_id: str) -> None:
        """Allow or deny a pending tool permission."""
        session = self.orch.get(session_id)
        decision = self.command_body(parse_permission_response)
        if await session.is_duplicate(decision["client_msg_id"]):
            self.send_json({"ok": True, "duplicate": True})
            return
        try:
            await session.respond_permission(
                request_id,
                decision["behavior"],
                updated_input=decision["updated_input"],
                message=decision["message"],
                updated_permissions=decision["updated_permissions"],
            )
        except NotPending as exc:
            raise ApiError(404, f"no pending permission request {request_id[:80]!r}") from exc
        except (BackendError, ConnectionError) as exc:
            raise ApiError(409, str(exc)) from exc
        session.remember(decision["client_msg_id"])
        self.send_json({"ok": True})


class EventsHandler(CompanionAPIHandler):
    """``GET companion/api/sessions/{id}/events?after=N&limit=M``."""

    @web.authenticated
    @authorized
    async def get(self, session_id: str) -> None:
        """Stored events in seq order."""
        session = self.orch.get(session_id)
        after = _int_arg(self, "after", 0) or 0
        limit = _int_arg(self, "limit", None, minimum=1)
        events = await session.read_events(after, limit)
        self.send_json({"events": events, "last_seq": session.delivered_seq})


class ExportHandler(CompanionAPIHandler):
    """``GET/POST companion/api/sessions/{id}/export``: the conversation as a notebook or Markdown."""

    @web.authenticated
    @authorized
    async def get(self, session_id: str) -> None:
        """Download the export (``?format=ipynb|markdown``, default ipynb)."""
        text, media_type, name = await self.orch.export(session_id, self.get_argument("format", "ipynb"))
        self.set_header("Content-Disposition", content_disposition(name))
        self.finish(text, set_content_type=media_type)  # APIHandler would say application/json

    @web.authenticated
    @authorized
    async def post(self, session_id: str) -> None:
        """Save the export as a new file in the session's folder (``{format}``); answers its path."""
        body = self.json_body(required=False)
        if not isinstance(body, dict):
            raise ApiError(400, "the request body must be a JSON object")
        self.send_json(await self.orch.save_export(session_id, body.get("format", "ipynb")), status=201)


class SettingsHandler(CompanionAPIHandler):
    """``GET/PATCH companion/api/settings``."""

    @web.authenticated
    @authorized
    async def get(self) -> None:
        """Every declared setting (secrets masked) and the schema that declares them."""
        self.send_json({"settings": self.orch.settings.read(), "schema": self.orch.settings.schema})

    @web.authenticated
    @authorized
    async def patch(self) -> None:
        """Change settings (``null`` resets one to its default); plugins may refuse a change
        (``validate_settings``: an API key their service does not accept)."""
        settings = self.orch.settings
        changes = settings.check(self.json_body())
        await self.orch.plugins.call_async("validate_settings", changes=changes,
                                           app=self.settings.get("companion_app"))
        self.send_json({"settings": settings.apply(changes)})


class EnvProfilesHandler(CompanionAPIHandler):
    """``GET companion/api/env-profiles``."""

    @web.authenticated
    @authorized
    async def get(self) -> None:
        """Profiles with variable names and masked values."""
        self.send_json({"profiles": self.orch.settings.list_profiles()})


class EnvProfileHandler(CompanionAPIHandler):
    """``PUT/DELETE companion/api/env-profiles/{name}``."""

    @web.authenticated
    @authorized
    async def put(self, name: str) -> None:
        """Create or replace a profile ``{env: {NAME: value}}``."""
        self.send_json(self.orch.settings.put_profile(name, self.json_body()))

    @web.authenticated
    @authorized
    async def delete(self, name: str) -> None:
        """Remove a profile."""
        self.orch.settings.delete_profile(name)
        self.send_json({"ok": True})


class NotFoundHandler(CompanionAPIHandler):
    """Any other path under ``companion/api/`` or ``companion/ws/``: an authenticated JSON 404
    (instead of Jupyter's HTML page), e.g. for a session id with characters ids never have."""

    async def _not_found(self, *args: Any) -> None:
        raise ApiError(404, "no such companion route (or an invalid id in the path)")

    get = web.authenticated(authorized(_not_found))
    post = web.authenticated(authorized(_not_found))
    put = web.authenticated(authorized(_not_found))
    patch = web.authenticated(authorized(_not_found))
    delete = web.authenticated(authorized(_not_found))


def fallback_handlers() -> list[tuple[str, type]]:
    """The catch-all routes; register them after every other companion route. A path ending in
    ``/`` is left to Jupyter, which redirects it to the path without the slash."""
    return [(r"/companion/(?:api|ws)(?:/.*[^/])?", NotFoundHandler)]


def rest_handlers() -> list[tuple[str, type]]:
    """Route table (patterns relative to ``base_url``)."""
    api = r"/companion/api"
    return [
        (rf"{api}/status", StatusHandler),
        (rf"{api}/openapi\.json", OpenApiHandler),
        (rf"{api}/backends", BackendsHandler),
        (rf"{api}/backends/(?P<backend>[A-Za-z0-9_.-]{{1,64}})/conversations", ConversationsHandler),
        (rf"{api}/plugins", PluginsHandler),
        (rf"{api}/ui", UiHandler),
        (rf"{api}/sessions", SessionsHandler),
        (rf"{api}/sessions/{_ID}", SessionHandler),
        (rf"{api}/sessions/{_ID}/(?P<action>kill|relaunch|archive|unarchive|interrupt)", SessionActionHandler),
        (rf"{api}/sessions/{_ID}/retry", RetryHandler),
        (rf"{api}/sessions/{_ID}/messages", MessagesHandler),
        (rf"{api}/sessions/{_ID}/queued/(?P<queued_id>[A-Za-z0-9_-]{{1,64}})", QueuedMessageHandler),
        (rf"{api}/sessions/{_ID}/permissions/(?P<request_id>[^/]{{1,200}})", PermissionHandler),
        (rf"{api}/sessions/{_ID}/events", EventsHandler),
        (rf"{api}/sessions/{_ID}/export", ExportHandler),
        (rf"{api}/settings", SettingsHandler),
        (rf"{api}/env-profiles", EnvProfilesHandler),
        (rf"{api}/env-profiles/(?P<name>[^/]{{1,64}})", EnvProfileHandler),
    ]

"""Routes under ``companion/api/linear/``: connection, issues (search, create, one), teams,
states, and Linear's webhook (authenticated by its signature, not by Jupyter)."""

from __future__ import annotations

import asyncio
import re
import weakref
from typing import Any

from jupyter_server.auth.decorator import authorized
from tornado import web

from jupyter_companion.errors import ApiError
from jupyter_companion.handlers.base import CompanionAPIHandler

from .sessions import service_for
from .webhook import LinearTrigger

_LINEAR_ID = re.compile(r"[A-Za-z0-9-]{1,64}")
_MAX_TITLE = 255
_MAX_DESCRIPTION = 100_000
#: The trigger of each server's companion app (registered before the routes are made).
TRIGGERS: weakref.WeakKeyDictionary[Any, LinearTrigger] = weakref.WeakKeyDictionary()


def _linear_id(value: Any, what: str) -> str:
    if not isinstance(value, str) or not _LINEAR_ID.fullmatch(value):
        raise ApiError(400, f"'{what}' must be a Linear id or key (letters, digits, -)")
    return value


class LinearHandler(CompanionAPIHandler):
    """Base of the Linear routes: the service of this server."""

    @property
    def linear(self) -> Any:
        """The plugin's Linear service."""
        return service_for(self.orch)

    def root_dir(self) -> str:
        """The server's root folder (folders in requests are relative to it)."""
        return str(self.orch.folders.root)


class ConnectionHandler(LinearHandler):
    """``GET linear/connection``: whose key is set, or why none works."""

    @web.authenticated
    @authorized
    async def get(self) -> None:
        """``{connected, viewer?, error?}``."""
        if not self.linear.configured():
            self.send_json({"connected": False, "error": "no API key: set linear_api_key"})
            return
        try:
            viewer = await self.linear.viewer()
        except ApiError as exc:
            self.send_json({"connected": False, "error": exc.message})
            return
        self.send_json({"connected": True, "viewer": viewer})


class IssuesHandler(LinearHandler):
    """``GET linear/issues?query=&cwd=&limit=`` (search) and ``POST linear/issues`` (create)."""

    @web.authenticated
    @authorized
    async def get(self) -> None:
        """Issues matching ``query`` (open first; the team mapped to ``cwd`` first)."""
        query = self.get_argument("query", "").strip()
        try:
            limit = int(self.get_argument("limit", "20"))
        except ValueError as exc:
            raise ApiError(400, "'limit' must be a number from 1 to 50") from exc
        if not 1 <= limit <= 50:
            raise ApiError(400, "'limit' must be a number from 1 to 50")
        if len(query) > 200:
            raise ApiError(400, "'query' must be at most 200 characters")
        if not query:
            self.send_json({"issues": []})
            return
        team = await self.linear.mapped_team(self.get_argument("cwd", None), self.root_dir())
        issues = await self.linear.search(query, limit, team["id"] if team else None)
        self.send_json({"issues": issues, "team": team})

    @web.authenticated
    @authorized
    async def post(self) -> None:
        """Create ``{title, team_id, description?}`` → 201 issue."""
        body = self.json_body()
        if not isinstance(body, dict):
            raise ApiError(400, "the request body must be a JSON object")
        title = body.get("title")
        if not isinstance(title, str) or not title.strip() or len(title) > _MAX_TITLE:
            raise ApiError(400, f"'title' must be a non-empty string of at most {_MAX_TITLE} characters")
        description = body.get("description")
        if description is not None and (not isinstance(description, str) or len(description) > _MAX_DESCRIPTION):
            raise ApiError(400, "'description' must be a string")
        team_id = _linear_id(body.get("team_id"), "team_id")
        self.send_json(await self.linear.create(title.strip(), team_id, description), status=201)


class IssueHandler(LinearHandler):
    """``GET linear/issues/{id}``: one issue with its last comments, labels and assignee."""

    @web.authenticated
    @authorized
    async def get(self, issue_id: str) -> None:
        """The issue (404 when Linear has none such)."""
        self.send_json(await self.linear.issue(_linear_id(issue_id, "id")))


class TeamsHandler(LinearHandler):
    """``GET linear/teams?cwd=``: the teams, the one mapped to ``cwd`` marked ``selected``."""

    @web.authenticated
    @authorized
    async def get(self) -> None:
        """``{teams: [{id, key, name, selected?}]}``."""
        teams = await self.linear.teams()
        mapped = await self.linear.mapped_team(self.get_argument("cwd", None), self.root_dir())
        self.send_json({"teams": [{**t, "selected": bool(mapped and t["id"] == mapped["id"])} for t in teams]})


class StatesHandler(LinearHandler):
    """``GET linear/states?team_id=``: a team's workflow states in board order."""

    @web.authenticated
    @authorized
    async def get(self) -> None:
        """``{states: [{id, name, type, position}]}``."""
        team_id = _linear_id(self.get_argument("team_id", ""), "team_id")
        self.send_json({"states": await self.linear.states(team_id)})


class WebhookHandler(LinearHandler):
    """``POST linear/webhook``: Linear's deliveries, authenticated by ``Linear-Signature``."""

    companion_public = True

    def check_xsrf_cookie(self) -> None:
        """A delivery comes from Linear: its signature stands in for the XSRF token."""

    async def prepare(self, *args: Any, **kwargs: Any) -> None:
        """No Jupyter auth here (the signature is checked); make sure the agents are loaded."""
        await self.orch.ensure_active()

    async def post(self) -> None:
        """200 at once for an authentic delivery (runs start after the answer); 403 otherwise."""
        app = self.settings.get("companion_app")
        trigger = TRIGGERS.get(app) if app is not None else None
        body = self.request.body or b""
        payload = trigger.accept(body, self.request.headers.get("Linear-Signature"),
                                 self.request.headers.get("Linear-Delivery")) if trigger else None
        if payload is None:
            raise ApiError(403, "forbidden")
        self.send_json({"ok": True})
        if payload and trigger is not None:
            asyncio.get_running_loop().call_soon(_start_runs, trigger, payload)


def _start_runs(trigger: LinearTrigger, payload: dict[str, Any]) -> None:
    try:
        trigger.handle(payload)
    except ApiError:  # an agent deleted or disabled in between: nothing to start
        pass


def routes() -> list[tuple[str, type]]:
    """The plugin's route table."""
    base = r"/companion/api/linear"
    return [
        (rf"{base}/connection", ConnectionHandler),
        (rf"{base}/issues", IssuesHandler),
        (rf"{base}/issues/(?P<issue_id>[^/]{{1,64}})", IssueHandler),
        (rf"{base}/teams", TeamsHandler),
        (rf"{base}/states", StatesHandler),
        (rf"{base}/webhook", WebhookHandler),
    ]

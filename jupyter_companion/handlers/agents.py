"""Agents, runs and saved prompts routes of API.md, and the agents' webhook.

Every ``companion/api`` route here is behind Jupyter's auth; what starts a CLI (creating or
changing an agent, a run, an import) needs ``execute``. The webhook ``companion/hooks/agents/{id}``
is the one route outside Jupyter's auth: the agent's secret (or an HMAC of the body with it) is
its credential, and any refusal is a bare 403.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from jupyter_server.auth.decorator import authorized
from tornado import web

from ..errors import ApiError
from .base import EXECUTE, CompanionAPIHandler
from .rest import _int_arg

if TYPE_CHECKING:
    from ..agents.service import AgentsService

#: Largest webhook body.
MAX_WEBHOOK_BYTES = 64 * 1024
#: Run statuses a filter may name.
RUN_STATUSES = ("running", "awaiting_permission", "success", "error", "skipped")


class AgentsAPIHandler(CompanionAPIHandler):
    """Base of the agents routes."""

    @property
    def agents(self) -> AgentsService:
        """The agents service of this server."""
        return self.orch.agents

    def with_url(self, agent: dict[str, Any]) -> dict[str, Any]:
        """An agent whose ``webhook_url`` is absolute (this server's base URL)."""
        if agent.get("webhook_url"):
            base = f"{self.request.protocol}://{self.request.host}{self.base_url.rstrip('/')}/"
            agent = {**agent, "webhook_url": base + agent["webhook_url"]}
        return agent


class AgentsHandler(AgentsAPIHandler):
    """``GET/POST companion/api/agents``."""

    @web.authenticated
    @authorized
    async def get(self) -> None:
        """Every agent (never a secret)."""
        self.send_json({"agents": [self.with_url(self.agents.public(a)) for a in self.agents.agents.values()]})

    @web.authenticated
    @authorized(EXECUTE)
    async def post(self) -> None:
        """A new agent, with its webhook secret shown this once."""
        self.send_json(self.with_url(self.agents.create(self.json_body())), status=201)


class AgentHandler(AgentsAPIHandler):
    """``GET/PUT/DELETE companion/api/agents/{id}``."""

    @web.authenticated
    @authorized
    async def get(self, agent_id: str) -> None:
        """One agent."""
        self.send_json(self.with_url(self.agents.public(self.agents.get(agent_id))))

    @web.authenticated
    @authorized(EXECUTE)
    async def put(self, agent_id: str) -> None:
        """Change an agent (fields left out keep their value)."""
        self.send_json(self.with_url(self.agents.update(agent_id, self.json_body())))

    @web.authenticated
    @authorized
    async def delete(self, agent_id: str) -> None:
        """Remove an agent (its runs stay)."""
        self.agents.delete(agent_id)
        self.send_json({"ok": True})


class AgentActionHandler(AgentsAPIHandler):
    """``POST companion/api/agents/{id}/run|regenerate-secret``."""

    @web.authenticated
    @authorized(EXECUTE)
    async def post(self, agent_id: str, action: str) -> None:
        """Run now with ``{input?}``, or make a new webhook secret."""
        if action == "run":
            body = self.json_body(required=False)
            if not isinstance(body, dict):
                raise ApiError(400, "the request body must be a JSON object")
            self.send_json(self.agents.trigger(agent_id, "manual", body.get("input")), status=201)
        elif action == "regenerate-secret":
            answer = self.agents.regenerate_secret(agent_id)
            self.send_json(self.with_url(answer))
        else:
            raise ApiError(404, f"unknown agent action {action[:40]!r}")



class AgentExportHandler(AgentsAPIHandler):
    """``GET companion/api/agents/{id}/export``."""

    @web.authenticated
    @authorized
    async def get(self, agent_id: str) -> None:
        """The agent as portable JSON (no secret)."""
        self.send_json(self.agents.export(agent_id))


class AgentImportHandler(AgentsAPIHandler):
    """``POST companion/api/agents/import``: an exported agent, imported disabled."""

    @web.authenticated
    @authorized(EXECUTE)
    async def post(self) -> None:
        """Create an agent from exported JSON (disabled until someone enables it)."""
        self.send_json(self.with_url(self.agents.create(self.json_body(), imported=True)), status=201)


class RunsHandler(AgentsAPIHandler):
    """``GET companion/api/runs?agent_id=&status=&trigger=&limit=&offset=``."""

    @web.authenticated
    @authorized
    async def get(self) -> None:
        """Runs newest first, with how many match."""
        filters = {key: self.get_argument(key, "") for key in ("agent_id", "status", "trigger")}
        if filters["status"] and filters["status"] not in RUN_STATUSES:
            raise ApiError(400, f"'status' must be one of {', '.join(RUN_STATUSES)}")
        limit = min(_int_arg(self, "limit", 50, minimum=1) or 50, 500)
        offset = _int_arg(self, "offset", 0) or 0
        runs, total = await asyncio.to_thread(self.orch.store.runs, filters, limit, offset)
        self.send_json({"runs": [self._live(r) for r in runs], "total": total})

    def _live(self, run: dict[str, Any]) -> dict[str, Any]:
        """The newest state of a run still going (the store may be a write behind)."""
        return dict(self.agents.runs.live.get(run["id"], run))


class RunHandler(AgentsAPIHandler):
    """``GET companion/api/runs/{id}``."""

    @web.authenticated
    @authorized
    async def get(self, run_id: str) -> None:
        """One run."""
        run = self.agents.runs.live.get(run_id) or await asyncio.to_thread(self.orch.store.run, run_id)
        if run is None:
            raise ApiError(404, f"no run {run_id[:40]!r}")
        self.send_json(dict(run))


class PromptsHandler(AgentsAPIHandler):
    """``GET/POST companion/api/prompts``."""

    @web.authenticated
    @authorized
    async def get(self) -> None:
        """Every saved prompt, by name."""
        self.send_json({"prompts": sorted(self.agents.prompts.values(), key=lambda p: p["name"].lower())})

    @web.authenticated
    @authorized
    async def post(self) -> None:
        """Save a prompt ``{name, text}``."""
        self.send_json(self.agents.put_prompt(self.json_body()), status=201)


class PromptHandler(AgentsAPIHandler):
    """``PUT/DELETE companion/api/prompts/{id}``."""

    @web.authenticated
    @authorized
    async def put(self, prompt_id: str) -> None:
        """Replace a saved prompt."""
        self.send_json(self.agents.put_prompt(self.json_body(), prompt_id))

    @web.authenticated
    @authorized
    async def delete(self, prompt_id: str) -> None:
        """Remove a saved prompt."""
        self.agents.delete_prompt(prompt_id)
        self.send_json({"ok": True})


class WebhookHandler(CompanionAPIHandler):
    """``POST companion/hooks/agents/{id}``: outside Jupyter's auth (see the module docstring)."""

    def check_xsrf_cookie(self) -> None:
        """A webhook comes from another service: its secret stands in for the XSRF token."""

    async def prepare(self, *args: Any, **kwargs: Any) -> None:
        """No Jupyter auth here; only make sure the agents are loaded."""
        await self.orch.ensure_active()

    async def post(self, agent_id: str) -> None:
        """Start a run: 202 ``{run_id}``; anything wrong: 403 with no detail."""
        body = self.request.body or b""
        run = None
        if len(body) <= MAX_WEBHOOK_BYTES:
            run = self.orch.agents.webhook(agent_id, body, self.request.headers.get("X-Companion-Secret"),
                                           self.request.headers.get("X-Companion-Signature"))
        if run is None:
            raise ApiError(403, "forbidden")
        self.send_json({"run_id": run["id"], "status": run["status"]}, status=202)


def agents_handlers() -> list[tuple[str, type]]:
    """Route table (patterns relative to ``base_url``)."""
    api = r"/companion/api"
    agent = r"(?P<agent_id>[0-9a-f]{12})"
    return [
        (rf"{api}/agents", AgentsHandler),
        (rf"{api}/agents/import", AgentImportHandler),
        (rf"{api}/agents/{agent}", AgentHandler),
        (rf"{api}/agents/{agent}/(?P<action>run|regenerate-secret)", AgentActionHandler),
        (rf"{api}/agents/{agent}/export", AgentExportHandler),
        (rf"{api}/runs", RunsHandler),
        (rf"{api}/runs/(?P<run_id>[0-9a-f]{{32}})", RunHandler),
        (rf"{api}/prompts", PromptsHandler),
        (rf"{api}/prompts/(?P<prompt_id>[0-9a-f]{{12}})", PromptHandler),
        (r"/companion/hooks/agents/(?P<agent_id>.*)", WebhookHandler),  # anything below: a bare 403
    ]

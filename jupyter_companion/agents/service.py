"""Agents, their triggers and saved prompts: what the REST routes, the webhook and the scheduler use.

Agents and prompts live in memory (loaded once from the store) and every change is written
through. An agent's webhook secret is kept beside it in the store (the database file is 0600),
shown once when it is made (creation, ``regenerate-secret``) and never again. Triggers, builtin
(``manual``, ``schedule``, ``webhook``) or a plugin's, all start runs through :meth:`trigger`.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import hmac
import re
import secrets
import time
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..errors import ApiError
from ..events import now_iso
from . import schedule
from .definitions import agent_record
from .runs import LIVE, RunTracker
from .scheduler import Scheduler, iso, utcnow

if TYPE_CHECKING:
    from ..sessions.orchestrator import Orchestrator

#: Webhook calls one agent accepts per minute.
WEBHOOK_RATE_PER_MINUTE = 30
#: What a trigger's name looks like (the builtins' and those plugins add).
TRIGGER_NAME = re.compile(r"[a-z][a-z0-9_-]{0,39}")
BUILTIN_TRIGGERS = {"manual": "By hand", "schedule": "Schedule", "webhook": "Webhook"}
PROMPT_NAME = re.compile(r"[^\x00-\x1f/]{1,80}")
#: Fields an export leaves out (its secret, what runs wrote).
NOT_EXPORTED = ("id", "created_at", "updated_at", "last_fire", "schedule_since", "consecutive_failures",
                "disabled_reason", "last_run_at")


class AgentsService:
    """The agents, saved prompts and runs of one server."""

    def __init__(self, orch: Orchestrator):
        self.orch = orch
        self.agents: dict[str, dict[str, Any]] = {}
        self._secrets: dict[str, str] = {}
        self.prompts: dict[str, dict[str, Any]] = {}
        self.runs = RunTracker(orch, self._change)
        self.scheduler = Scheduler(lambda: list(self.agents.values()), self._scheduled)
        self._webhook_calls: dict[str, list[float]] = {}
        #: Trigger names (builtins and plugins') → what people read.
        self.triggers: dict[str, str] = dict(BUILTIN_TRIGGERS)

    async def activate(self) -> None:
        """Load agents and prompts, close the runs a dead server left, start the scheduler."""
        store = self.orch.store
        for record, secret in await asyncio.to_thread(store.load_agents):
            self.agents[record["id"]] = record
            self._secrets[record["id"]] = secret
        self.prompts = {p["id"]: p for p in await asyncio.to_thread(store.load_prompts)}
        stale = [run for status in LIVE for run in await asyncio.to_thread(store.runs_with_status, status)]
        self.runs.recover(stale)
        self.scheduler.start()

    async def stop(self) -> None:
        """Stop the scheduler."""
        await self.scheduler.stop()

    # -- agents ----------------------------------------------------------------------------

    def get(self, agent_id: str) -> dict[str, Any]:
        """An agent by id (404 when unknown)."""
        agent = self.agents.get(agent_id)
        if agent is None:
            raise ApiError(404, f"no agent {agent_id[:40]!r}")
        return agent

    def public(self, agent: dict[str, Any]) -> dict[str, Any]:
        """An agent as the API shows it: its next runs and schedule in words, never its secret."""
        shown = dict(agent)
        when = (agent.get("triggers") or {}).get("schedule")
        shown["next_run_at"] = None
        if when:
            shown["schedule_text"] = schedule.describe(when["cron"])
            if agent.get("enabled"):
                fires = schedule.upcoming(when["cron"], when.get("timezone"), utcnow(), 3)
                shown["next_run_at"], shown["next_runs"] = iso(fires[0]), [iso(f) for f in fires]
        if (agent.get("triggers") or {}).get("webhook", {}).get("enabled"):
            shown["webhook_url"] = self.webhook_path(agent["id"])
        return shown

    @staticmethod
    def webhook_path(agent_id: str) -> str:
        """The webhook's path below the server's base URL."""
        return f"companion/hooks/agents/{agent_id}"

    def _save(self, agent: dict[str, Any]) -> None:
        agent["updated_at"] = now_iso()
        self.orch.store.save_agent(agent, self._secrets[agent["id"]])
        self.scheduler.poke()

    def create(self, body: Any, imported: bool = False) -> dict[str, Any]:
        """A new agent from a request body; shown with its ``webhook_secret`` (this once)."""
        record = agent_record(self.orch, body)
        if imported:
            record["enabled"] = False
        agent_id = uuid.uuid4().hex[:12]
        created = now_iso()
        agent = {"id": agent_id, **record, "created_at": created, "consecutive_failures": 0,
                 "schedule_since": created}
        self.agents[agent_id] = agent
        self._secrets[agent_id] = secrets.token_urlsafe(32)
        self._save(agent)
        return {**self.public(agent), "webhook_secret": self._secrets[agent_id]}

    def update(self, agent_id: str, body: Any) -> dict[str, Any]:
        """Change an agent (fields left out keep their value)."""
        agent = self.get(agent_id)
        record = agent_record(self.orch, body, existing=agent)
        if record["triggers"].get("schedule") != (agent.get("triggers") or {}).get("schedule") or (
                record["enabled"] and not agent.get("enabled")):
            agent["schedule_since"], agent["last_fire"] = now_iso(), None  # no catching up on the old one
        if record["enabled"] and not agent.get("enabled"):
            agent.update(consecutive_failures=0, disabled_reason=None)
        agent.update(record)
        self._save(agent)
        return self.public(agent)

    def delete(self, agent_id: str) -> None:
        """Remove an agent (its runs stay in the history)."""
        self.get(agent_id)
        del self.agents[agent_id]
        self._secrets.pop(agent_id, None)
        self.orch.store.delete_agent(agent_id)
        self.scheduler.poke()

    def regenerate_secret(self, agent_id: str) -> dict[str, str]:
        """A new webhook secret (the old one stops working); shown this once."""
        agent = self.get(agent_id)
        self._secrets[agent_id] = secrets.token_urlsafe(32)
        self._save(agent)
        return {"webhook_secret": self._secrets[agent_id], "webhook_url": self.webhook_path(agent_id)}

    def export(self, agent_id: str) -> dict[str, Any]:
        """An agent as portable JSON: no id, no secret, nothing its runs wrote."""
        return {k: v for k, v in self.get(agent_id).items() if k not in NOT_EXPORTED}

    def _change(self, change: dict[str, Any]) -> None:
        """Apply what a run learned (failure counts, a disabling) to its agent."""
        agent = self.agents.get(change["id"])
        if agent is not None:
            agent.update({k: v for k, v in change.items() if k != "id"})
            self._save(agent)

    # -- triggers --------------------------------------------------------------------------

    def register_trigger(self, name: str, label: str) -> Callable[[str, str | None], dict[str, Any]]:
        """A plugin's trigger (``register_triggers``): the function that starts its runs."""
        if not isinstance(name, str) or not TRIGGER_NAME.fullmatch(name):
            raise ValueError("a trigger name is 1-40 of a-z 0-9 _ - starting with a letter")
        if name in self.triggers:
            raise ValueError(f"the trigger {name!r} is registered already")
        self.triggers[name] = str(label or name)

        def start(agent_id: str, run_input: str | None = None) -> dict[str, Any]:
            return self.trigger(agent_id, name, run_input)

        return start

    def trigger(self, agent_id: str, trigger: str, run_input: str | None = None) -> dict[str, Any]:
        """Start a run of an agent for a registered trigger (``manual``, ``schedule``, ``webhook``
        or a plugin's); a disabled agent runs only by hand."""
        if trigger not in self.triggers:
            raise ApiError(400, f"unknown trigger {trigger[:40]!r}")
        if run_input is not None and (not isinstance(run_input, str) or len(run_input) > 100_000):
            raise ApiError(400, "'input' must be a string of at most 100000 characters")
        agent = self.get(agent_id)
        if trigger != "manual" and not agent.get("enabled"):
            raise ApiError(409, f"the agent {agent['name']!r} is disabled")
        agent["last_run_at"] = now_iso()
        self._save(agent)
        return self.runs.start(agent, trigger, run_input)

    def _scheduled(self, agent: dict[str, Any], due: dt.datetime) -> None:
        agent["last_fire"] = iso(due)
        self.trigger(agent["id"], "schedule")

    def webhook(self, agent_id: str, body: bytes, secret: str | None, signature: str | None) -> dict[str, Any] | None:
        """A webhook call: the run it starts, or None for anything wrong (the caller says 403 and
        nothing more: unknown agent, webhook off, bad secret or signature, too many calls)."""
        agent = self.agents.get(agent_id)
        expected = self._secrets.get(agent_id)
        if agent is None or expected is None or not (agent.get("triggers") or {}).get("webhook", {}).get("enabled"):
            return None
        if not agent.get("enabled") or not _authentic(expected, body, secret, signature):
            return None
        now = time.monotonic()
        calls = [t for t in self._webhook_calls.get(agent_id, []) if now - t < 60.0]
        if len(calls) >= WEBHOOK_RATE_PER_MINUTE:
            return None
        self._webhook_calls[agent_id] = [*calls, now]
        return self.trigger(agent_id, "webhook", webhook_input(body))

    # -- saved prompts ---------------------------------------------------------------------

    def put_prompt(self, body: Any, prompt_id: str | None = None) -> dict[str, Any]:
        """Create (no id) or replace a saved prompt ``{name, text}``; names are unique."""
        if not isinstance(body, dict):
            raise ApiError(400, "the request body must be a JSON object")
        if prompt_id is not None and prompt_id not in self.prompts:
            raise ApiError(404, f"no prompt {prompt_id[:40]!r}")
        name, text = body.get("name"), body.get("text")
        if not isinstance(name, str) or not PROMPT_NAME.fullmatch(name) or not name.strip():
            raise ApiError(400, "'name' must be 1-80 characters without '/' or control characters")
        if not isinstance(text, str) or not text.strip() or len(text) > 100_000:
            raise ApiError(400, "'text' must be a non-empty string of at most 100000 characters")
        name = name.strip()
        if any(p["name"] == name and p["id"] != prompt_id for p in self.prompts.values()):
            raise ApiError(409, f"a prompt named {name!r} exists already")
        prompt = {"id": prompt_id or uuid.uuid4().hex[:12], "name": name, "text": text,
                  "updated_at": now_iso()}
        self.prompts[prompt["id"]] = prompt
        self.orch.store.save_prompt(prompt)
        return prompt

    def delete_prompt(self, prompt_id: str) -> None:
        """Remove a saved prompt."""
        if self.prompts.pop(prompt_id, None) is None:
            raise ApiError(404, f"no prompt {prompt_id[:40]!r}")
        self.orch.store.delete_prompt(prompt_id)


def _authentic(secret: str, body: bytes, given: str | None, signature: str | None) -> bool:
    """The call carries the secret (``X-Companion-Secret``) or an HMAC-SHA256 of its body with it
    (``X-Companion-Signature: sha256=<hex>``); both compared in constant time."""
    if given is not None:
        return hmac.compare_digest(given.encode("utf-8", "replace"), secret.encode())
    if signature is not None and signature.startswith("sha256="):
        digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        return hmac.compare_digest(signature[7:].strip().lower().encode("ascii", "replace"), digest.encode())
    return False


def webhook_input(body: bytes) -> str | None:
    """A webhook body's input: ``{input}`` of a JSON object, else the body as text."""
    import json

    text = body.decode("utf-8", "replace").strip()
    if not text:
        return None
    try:
        data = json.loads(text)
    except ValueError:
        return text
    if isinstance(data, dict):
        value = data.get("input")
        return value if isinstance(value, str) else (None if value is None else json.dumps(value))
    return text

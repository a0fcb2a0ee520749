"""Linear's webhook as an agent trigger.

Linear signs each delivery with ``Linear-Signature``: the hex HMAC-SHA256 of the raw body with the
webhook's signing secret (setting ``linear_webhook_secret``); the body's ``webhookTimestamp``
(epoch ms) must be within a minute. An ``Issue`` delivery (``create``, or an ``update`` that adds a
label or changes the assignee) starts a run of every agent it names: a label ``agent:<agent
name>`` (prefix: ``linear_agent_label_prefix``) or an assignee that ``linear_agent_assignees`` maps
to an agent. The run's input is the issue; its result is posted back as a comment.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import weakref
from collections import deque
from typing import Any

#: Largest delivery accepted (bytes).
MAX_BODY = 1024 * 1024
#: How old a delivery may be (ms), as Linear recommends.
MAX_AGE_MS = 60_000
#: Where the run → issue links are kept (the core's settings table, outside declared settings).
RUNS_KEY = "linear_runs"
MAX_REMEMBERED_RUNS = 500


def signature_ok(body: bytes, signature: str | None, secret: str | None) -> bool:
    """Whether ``signature`` is the hex HMAC-SHA256 of ``body`` with ``secret`` (constant time)."""
    if not secret or not signature:
        return False
    expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, signature.strip().lower())


def fresh(payload: dict[str, Any], now_ms: float | None = None) -> bool:
    """Whether the delivery's ``webhookTimestamp`` is recent."""
    stamp = payload.get("webhookTimestamp")
    now_ms = time.time() * 1000 if now_ms is None else now_ms
    return isinstance(stamp, (int, float)) and abs(now_ms - stamp) <= MAX_AGE_MS


def run_input(issue: dict[str, Any]) -> str:
    """What the agent is given: the issue."""
    return (f"Linear issue {issue.get('identifier')}: {issue.get('title')}\n"
            f"URL: {issue.get('url')}\n\n{issue.get('description') or '(no description)'}")


def _named_agents(data: dict[str, Any], updated_from: dict[str, Any] | None, settings: Any) -> set[str]:
    """The agent names an Issue delivery asks for."""
    prefix = str(settings.value("linear_agent_label_prefix") or "agent:").casefold()
    labels = {str(label.get("id")): str(label.get("name") or "") for label in data.get("labels") or []
              if isinstance(label, dict)}
    label_ids = [str(i) for i in data.get("labelIds") or labels]
    if updated_from is not None:  # an update: only what it added
        before = {str(i) for i in updated_from.get("labelIds") or []} if "labelIds" in updated_from else set(label_ids)
        label_ids = [i for i in label_ids if i not in before]
    names = {labels.get(i, "")[len(prefix):].strip().casefold() for i in label_ids
             if labels.get(i, "").casefold().startswith(prefix)}
    assignees = settings.value("linear_agent_assignees") or {}
    assignee: dict[str, Any] = data["assignee"] if isinstance(data.get("assignee"), dict) else {}
    if isinstance(assignees, dict) and (updated_from is None or "assigneeId" in updated_from):
        for key in (assignee.get("email"), assignee.get("name"), assignee.get("id"), data.get("assigneeId")):
            if key and str(key) in assignees:
                names.add(str(assignees[str(key)]).casefold())
    names.discard("")
    return names


class LinearTrigger:
    """Turns verified deliveries into agent runs and remembers which issue each run answers."""

    def __init__(self, app: Any, start: Any):
        self._app = weakref.ref(app)  # kept by the server, not by this trigger
        self.start = start
        self._deliveries: deque[str] = deque(maxlen=200)

    @property
    def orch(self) -> Any:
        """The server's orchestrator (made after the triggers are registered)."""
        app = self._app()
        if app is None:
            raise RuntimeError("the server of this trigger is gone")
        return app.orchestrator

    def accept(self, body: bytes, signature: str | None, delivery: str | None) -> dict[str, Any] | None:
        """The delivery's payload when it is authentic, fresh and new; otherwise None."""
        settings = self.orch.settings
        if len(body) > MAX_BODY or not signature_ok(body, signature, settings.value("linear_webhook_secret")):
            return None
        try:
            payload = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            return None
        if not isinstance(payload, dict) or not fresh(payload):
            return None
        if delivery:
            if delivery in self._deliveries:
                return {}  # Linear retried a delivery already handled
            self._deliveries.append(delivery)
        return payload

    def handle(self, payload: dict[str, Any]) -> list[dict[str, Any]]:
        """Start the runs an Issue delivery asks for; answers the runs started."""
        data = payload.get("data")
        if payload.get("type") != "Issue" or payload.get("action") not in ("create", "update") or not isinstance(data, dict):
            return []
        updated_from = payload.get("updatedFrom") if payload.get("action") == "update" else None
        if updated_from is not None and not isinstance(updated_from, dict):
            return []
        wanted = _named_agents(data, updated_from, self.orch.settings)
        issue = {**data, "url": data.get("url") or payload.get("url")}
        runs = []
        for agent in list(self.orch.agents.agents.values()):
            if str(agent.get("name", "")).casefold() not in wanted or not agent.get("enabled"):
                continue
            run = self.start(agent["id"], run_input(issue))
            if run.get("status") != "skipped" and data.get("id"):
                self._remember(run["id"], str(data["id"]))
            runs.append(run)
        return runs

    def _remember(self, run_id: str, issue_id: str) -> None:
        settings = self.orch.settings
        links = dict(settings.stored(RUNS_KEY) or {})
        links[run_id] = issue_id
        settings.put_stored(RUNS_KEY, dict(list(links.items())[-MAX_REMEMBERED_RUNS:]))


def issue_of_run(settings: Any, run_id: str | None, forget: bool = False) -> str | None:
    """The issue a run started from Linear answers (forgotten once its result is posted)."""
    links = settings.stored(RUNS_KEY) or {}
    issue_id = links.get(run_id) if run_id else None
    if issue_id and forget:
        settings.put_stored(RUNS_KEY, {k: v for k, v in links.items() if k != run_id})
    return issue_id

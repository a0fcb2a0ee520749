"""Runs: one execution of an agent, from its trigger to the end of its session's turn.

A run creates a session from the agent's fields (named after the agent, tagged with ``agent_id``
and ``run_id``), sends the prompt with the input in place of ``{{input}}``, and ends with the
turn: ``success`` on a non-error ``result``, ``error`` otherwise (with the message). While the
session waits on a permission the run is ``awaiting_permission``; agents never bypass
permissions on their own. A run whose previous run still goes is ``skipped`` under the agent's
``overlap: skip``. Five launch failures in a row disable the agent, with the reason.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..backends.base import BackendError
from ..errors import ApiError
from ..events import now_iso
from .definitions import SESSION_FIELDS, fill

if TYPE_CHECKING:
    from ..sessions.orchestrator import Orchestrator
    from ..sessions.session import Session

log = logging.getLogger("jupyter_companion.agents")

#: Statuses of a run that has not ended.
LIVE = ("running", "awaiting_permission")
#: Launch failures in a row that disable an agent.
MAX_LAUNCH_FAILURES = 5
#: Error codes of a session that end its run (the CLI will not answer any more).
FATAL_CODES = ("relaunch_exhausted", "relaunch_failed", "delivery_failed")


class RunTracker:
    """Starts runs and follows their sessions to the end (fed by the ``session_event`` hook)."""

    def __init__(self, orch: Orchestrator, on_agent_change: Callable[[dict[str, Any]], None]):
        self.orch = orch
        self.on_agent_change = on_agent_change
        #: Runs not yet ended, by id.
        self.live: dict[str, dict[str, Any]] = {}

    def _save(self, run: dict[str, Any]) -> None:
        self.orch.store.save_run(dict(run))

    def recover(self, stale: list[dict[str, Any]]) -> None:
        """Runs a dead server left going: they end as errors that say so."""
        for run in stale:
            run.update(status="error", ended_at=now_iso(),
                       error="the server stopped while this run was going; its session keeps what was done")
            self._save(run)

    def start(self, agent: dict[str, Any], trigger: str, run_input: str | None) -> dict[str, Any]:
        """Record a run and launch it in the background; the run as it starts (or ``skipped``)."""
        run: dict[str, Any] = {
            "id": uuid.uuid4().hex, "agent_id": agent["id"], "agent_name": agent["name"], "trigger": trigger,
            "status": "running", "input": run_input, "session_id": None, "started_at": now_iso(),
            "ended_at": None, "error": None, "cost_usd": None,
        }
        going = [r for r in self.live.values() if r["agent_id"] == agent["id"]]
        if going and agent.get("overlap", "skip") == "skip":
            run.update(status="skipped", ended_at=run["started_at"],
                       error=f"the previous run ({going[0]['id'][:8]}) is still going (overlap: skip)")
            self._save(run)
            return run
        self.live[run["id"]] = run
        self._save(run)
        self.orch.track(asyncio.ensure_future(self._launch(agent, run)))
        return dict(run)

    async def _launch(self, agent: dict[str, Any], run: dict[str, Any]) -> None:
        body = {key: agent.get(key) for key in SESSION_FIELDS}
        body["name"] = f"{agent['name']} · {run['trigger']} run"
        try:
            session = await self.orch.create(body)
            session.info.update(agent_id=agent["id"], run_id=run["id"])
            session.emit({"type": "session_update", "agent_id": agent["id"], "run_id": run["id"]})
            run["session_id"] = session.id
            self._save(run)
            await session.send_user_message(fill(agent["prompt"], run["input"]), [], None)
        except (ApiError, BackendError, OSError) as exc:
            message = exc.message if isinstance(exc, ApiError) else str(exc)
            self._end(run, "error", f"the run could not start: {message}")
            self._launch_failed(agent, message)
            return
        except Exception as exc:  # a bug must still end the run
            log.exception("agent run %s failed to start", run["id"])
            self._end(run, "error", f"the run could not start: {exc}")
            return
        if agent.get("consecutive_failures"):
            self.on_agent_change({"id": agent["id"], "consecutive_failures": 0})

    def _launch_failed(self, agent: dict[str, Any], message: str) -> None:
        failures = int(agent.get("consecutive_failures") or 0) + 1
        change: dict[str, Any] = {"id": agent["id"], "consecutive_failures": failures}
        if failures >= MAX_LAUNCH_FAILURES:
            change.update(enabled=False, disabled_reason=f"{failures} runs in a row could not start; the last: {message}")
        self.on_agent_change(change)

    def _end(self, run: dict[str, Any], status: str, error: str | None = None, cost: Any = None) -> None:
        run.update(status=status, ended_at=now_iso(), error=error)
        if cost is not None:
            run["cost_usd"] = cost
        self.live.pop(run["id"], None)
        self._save(run)

    def observe(self, session: Session, event: dict[str, Any]) -> None:
        """Follow a run's session: its phases, its turn's ``result``, a fatal error."""
        run = self.live.get(str(session.info.get("run_id") or ""))
        if run is None:
            return
        kind = event.get("type")
        if kind == "result":
            failed = bool(event.get("is_error"))
            error = (str(event.get("text") or "the turn ended in an error")[:2000]) if failed else None
            self._end(run, "error" if failed else "success", error, event.get("cost_usd"))
        elif kind == "phase" and event.get("phase") in ("awaiting_permission", "streaming"):
            status = "awaiting_permission" if event["phase"] == "awaiting_permission" else "running"
            if run["status"] != status:
                run["status"] = status
                self._save(run)
        elif kind == "error" and event.get("code") in FATAL_CODES:
            self._end(run, "error", str(event.get("message") or event["code"])[:2000])

    def session_gone(self, session_id: str) -> None:
        """A run's session was deleted or archived before its turn ended."""
        for run in [r for r in self.live.values() if r.get("session_id") == session_id]:
            self._end(run, "error", "its session was archived or deleted before the turn ended")

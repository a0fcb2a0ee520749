"""The schedule trigger: fires agents on the server's event loop.

One task sleeps until the earliest next fire of all enabled scheduled agents (at most
:data:`MAX_SLEEP` seconds, so a changed clock or a new agent is noticed), then starts the runs
that are due. Each agent remembers its ``last_fire``; a fire missed while the server was down
runs once or is skipped per the agent's ``missed`` policy (:func:`~.schedule.missed_fire`). The
clock is injectable for tests.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections.abc import Callable
from typing import Any

from . import schedule

log = logging.getLogger("jupyter_companion.agents")

#: The longest the scheduler sleeps before looking again.
MAX_SLEEP = 30.0
#: How late a fire may be noticed and still count as on time.
ON_TIME = dt.timedelta(seconds=90)


def utcnow() -> dt.datetime:
    """The current time, aware, in UTC."""
    return dt.datetime.now(dt.timezone.utc)


def parse_time(text: Any) -> dt.datetime | None:
    """An ISO time written by :func:`iso` (None when missing or unreadable)."""
    if not isinstance(text, str):
        return None
    try:
        parsed = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.timezone.utc)


def iso(when: dt.datetime) -> str:
    """A UTC time as API.md writes times."""
    return when.astimezone(dt.timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class Scheduler:
    """Fires the schedule triggers of the agents ``agents()`` returns through ``fire(agent)``."""

    def __init__(
        self,
        agents: Callable[[], list[dict[str, Any]]],
        fire: Callable[[dict[str, Any], dt.datetime], None],
        clock: Callable[[], dt.datetime] = utcnow,
    ):
        self.agents = agents
        self.fire = fire
        self.clock = clock
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    @staticmethod
    def next_run(agent: dict[str, Any], now: dt.datetime) -> dt.datetime | None:
        """When the agent's schedule fires next (None: no schedule, or disabled)."""
        when = (agent.get("triggers") or {}).get("schedule")
        if not when or not agent.get("enabled"):
            return None
        return schedule.next_fire(when["cron"], when.get("timezone"), now)

    def tick(self) -> float:
        """Start what is due; seconds until the next fire (at most :data:`MAX_SLEEP`).

        A fire noticed within :data:`ON_TIME` of its time runs; one noticed later was missed (the
        server was down or asleep): the latest missed slot runs once, or not, per the agent's
        ``missed`` policy, and the ones before it never run."""
        now = self.clock()
        sleep = MAX_SLEEP
        for agent in self.agents():
            when = (agent.get("triggers") or {}).get("schedule")
            if not when or not agent.get("enabled"):
                continue
            cron, timezone = when["cron"], when.get("timezone")
            last = parse_time(agent.get("last_fire")) or parse_time(agent.get("schedule_since")) or now
            if schedule.next_fire(cron, timezone, last) <= now:
                latest = schedule.previous_fire(cron, timezone, now)
                if now - latest <= ON_TIME or schedule.missed_fire(cron, timezone, latest, now,
                                                                   when.get("missed", "run_once")):
                    try:
                        self.fire(agent, latest)
                    except Exception:  # one agent's failure must not hold up the others
                        log.exception("the scheduled run of agent %s could not start", agent.get("id"))
                        agent["last_fire"] = iso(latest)
                else:
                    agent["last_fire"] = iso(latest)  # skipped: counted from now on
            due = schedule.next_fire(cron, timezone, now)
            sleep = min(sleep, max((due - now).total_seconds(), 0.05))
        return sleep

    def poke(self) -> None:
        """Look again now (an agent changed)."""
        self._wake.set()

    def start(self) -> None:
        """Run the loop (its first tick deals with the fires missed while the server was down)."""
        if self._task is None:
            self._task = asyncio.ensure_future(self._loop())

    async def stop(self) -> None:
        """Stop the loop."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
            self._task = None

    async def _loop(self) -> None:
        while True:
            try:
                sleep = self.tick()
            except Exception:  # one broken agent must not stop every schedule
                log.exception("the agent scheduler failed; trying again")
                sleep = MAX_SLEEP
            self._wake.clear()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._wake.wait(), sleep)

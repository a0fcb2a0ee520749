"""Schedule semantics with a made-up clock: time zones and daylight saving, fires missed while the
server was down, overlap, and the words a schedule is shown with."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from jupyter_companion.agents import schedule
from jupyter_companion.agents.scheduler import Scheduler, iso

UTC = dt.timezone.utc


def at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=UTC) if "+" not in text else dt.datetime.fromisoformat(text)


def test_fires_follow_the_agents_time_zone_across_daylight_saving() -> None:
    # Europe/Berlin springs forward on 2026-03-29 (02:00 -> 03:00) and falls back on 2026-10-25
    fires = schedule.upcoming("0 7 * * *", "Europe/Berlin", at("2026-03-27T12:00:00"), 3)
    assert [iso(f) for f in fires] == ["2026-03-28T06:00:00.000Z", "2026-03-29T05:00:00.000Z",
                                       "2026-03-30T05:00:00.000Z"]  # always 07:00 local
    autumn = schedule.upcoming("30 2 * * *", "Europe/Berlin", at("2026-10-24T12:00:00"), 2)
    assert [iso(f) for f in autumn] == ["2026-10-25T00:30:00.000Z", "2026-10-26T01:30:00.000Z"]  # once, not twice
    quarter = schedule.upcoming("*/30 * * * *", "Europe/Berlin", at("2026-10-24T23:50:00"), 4)
    assert [iso(f) for f in quarter] == ["2026-10-25T00:00:00.000Z", "2026-10-25T00:30:00.000Z",
                                         "2026-10-25T01:00:00.000Z", "2026-10-25T01:30:00.000Z"]  # through both
    spring = schedule.next_fire("30 2 * * *", "Europe/Berlin", at("2026-03-28T12:00:00"))
    assert iso(spring) == "2026-03-29T01:00:00.000Z"  # 02:30 does not exist that night: 03:00 local
    assert schedule.next_fire("0 7 * * 1-5", None, at("2026-12-05T08:00:00")) == at("2026-12-07T07:00:00")


def test_bad_expressions_and_zones_are_refused() -> None:
    for cron in ("61 * * * *", "* * *", "@reboot", "0 7 * * 1-5 2026", ""):
        with pytest.raises(schedule.ScheduleError, match="cron expression"):
            schedule.check(cron, None)
    for name in ("Mars/Olympus", "../../etc/passwd"):
        with pytest.raises(schedule.ScheduleError, match="time zone"):
            schedule.check("0 7 * * *", name)


def test_a_missed_fire_runs_once_while_it_is_less_than_a_period_late() -> None:
    due = at("2026-12-02T07:00:00")
    assert schedule.missed_fire("0 7 * * *", None, due, at("2026-12-02T09:00:00"), "run_once") is True
    assert schedule.missed_fire("0 7 * * *", None, due, at("2026-12-03T06:59:00"), "run_once") is True
    assert schedule.missed_fire("0 7 * * *", None, due, at("2026-12-03T07:00:00"), "run_once") is False
    assert schedule.missed_fire("0 7 * * *", None, due, at("2026-12-02T07:05:00"), "skip") is False


def test_words_for_a_schedule() -> None:
    assert schedule.describe("0 7 * * 1-5") == "At 07:00, Monday through Friday"
    assert schedule.describe("*/15 * * * *") == "Every 15 minutes"


class Clock:
    def __init__(self, now: str):
        self.now = at(now)

    def __call__(self) -> dt.datetime:
        return self.now


def _scheduler(agents: list[dict[str, Any]], clock: Clock) -> tuple[Scheduler, list[tuple[str, str]]]:
    fired: list[tuple[str, str]] = []

    def fire(agent: dict[str, Any], due: dt.datetime) -> None:
        agent["last_fire"] = iso(due)
        fired.append((agent["id"], iso(due)))

    return Scheduler(lambda: agents, fire, clock), fired


def _agent(agent_id: str, cron: str, **fields: Any) -> dict[str, Any]:
    return {"id": agent_id, "enabled": True, "triggers": {"schedule": {"cron": cron, "timezone": None,
                                                                       "missed": fields.pop("missed", "run_once")}},
            **fields}


def test_ticks_fire_what_is_due_and_sleep_until_the_next() -> None:
    clock = Clock("2026-12-02T06:59:30")
    agents = [_agent("a", "0 7 * * *", schedule_since="2026-12-02T06:00:00Z"),
              _agent("b", "* * * * *", schedule_since="2026-12-02T06:59:00Z"), _agent("off", "* * * * *", enabled=False)]
    scheduler, fired = _scheduler(agents, clock)
    assert scheduler.tick() == pytest.approx(30.0) and fired == []
    clock.now = at("2026-12-02T07:00:01")
    scheduler.tick()
    assert fired == [("a", "2026-12-02T07:00:00.000Z"), ("b", "2026-12-02T07:00:00.000Z")]
    assert scheduler.tick() == pytest.approx(30.0)  # never longer than MAX_SLEEP; b is due in 59 s
    assert len(fired) == 2


def test_catching_up_after_a_restart_runs_a_missed_fire_once_or_skips_it() -> None:
    clock = Clock("2026-12-05T08:00:00")  # down since before the 3rd's fire
    agents = [
        _agent("daily", "0 7 * * *", last_fire="2026-12-02T07:00:00.000Z"),
        _agent("skipper", "0 7 * * *", last_fire="2026-12-02T07:00:00.000Z", missed="skip"),
        _agent("stale", "0 7 * * 1", last_fire="2026-11-23T07:00:00.000Z"),  # Monday 30th missed by 5 days
        _agent("fresh", "0 9 * * *", last_fire="2026-12-04T09:00:00.000Z"),  # nothing missed
    ]
    scheduler, fired = _scheduler(agents, clock)
    scheduler.tick()  # the first tick after a start
    assert fired == [("daily", "2026-12-05T07:00:00.000Z"), ("stale", "2026-11-30T07:00:00.000Z")]
    assert agents[1]["last_fire"] == "2026-12-05T07:00:00.000Z"  # skipped, counted from now on
    scheduler.tick()
    assert len(fired) == 2  # no second fire for the same slot


def test_one_agent_that_cannot_start_does_not_hold_up_the_others() -> None:
    clock = Clock("2026-12-02T07:00:10")
    agents = [_agent("broken", "0 7 * * *", schedule_since="2026-12-02T06:00:00Z"),
              _agent("fine", "0 7 * * *", schedule_since="2026-12-02T06:00:00Z")]
    fired: list[str] = []

    def fire(agent: dict[str, Any], due: dt.datetime) -> None:
        if agent["id"] == "broken":
            raise RuntimeError("no backend")
        agent["last_fire"] = iso(due)
        fired.append(agent["id"])

    Scheduler(lambda: agents, fire, clock).tick()
    assert fired == ["fine"] and agents[0]["last_fire"] == "2026-12-02T07:00:00.000Z"  # not retried every tick

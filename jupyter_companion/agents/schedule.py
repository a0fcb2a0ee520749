"""When an agent's schedule fires: cron expressions in a time zone (``croniter``), read for people
(``cron-descriptor``).

Everything here is pure and takes the current time as an argument, so the semantics (daylight
saving changes, fires missed while the server was down) are tested with a made-up clock.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo

from cron_descriptor import ExpressionDescriptor, Options
from croniter import croniter

#: What happens to fires missed while the server was down.
MISSED_POLICIES = ("run_once", "skip")


class ScheduleError(ValueError):
    """An invalid cron expression or time zone (the message names which)."""


def zone(name: str | None) -> dt.tzinfo:
    """The time zone of a name (None or empty: UTC); ScheduleError when unknown."""
    if not name:
        return dt.timezone.utc
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
        raise ScheduleError(f"unknown time zone {name[:60]!r} (an IANA name such as Europe/Berlin)") from exc


def check(cron: str, timezone: str | None) -> None:
    """ScheduleError when the expression or the time zone is not valid."""
    zone(timezone)
    if not isinstance(cron, str) or len(cron) > 200 or len(cron.split()) != 5 or not croniter.is_valid(cron):
        raise ScheduleError("not a cron expression of five fields (minute hour day month weekday), e.g. '0 7 * * 1-5'")


def _fixed_time(cron: str) -> bool:
    """Whether the expression fires at set wall-clock times (its minute and hour have no ``*``)."""
    minute, hour = cron.split()[:2]
    return "*" not in minute and "*" not in hour


def next_fire(cron: str, timezone: str | None, after: dt.datetime) -> dt.datetime:
    """The first fire strictly after ``after`` (aware), in UTC.

    When clocks go back, the repeated hour's wall-clock times come twice; a schedule of set times
    ("30 2 * * *") fires at the first of them only, as cron does (a "*" or step schedule fires
    through both). Times skipped when clocks go forward fire at the first moment after the gap."""
    tz = zone(timezone)
    fire: dt.datetime = croniter(cron, after.astimezone(tz)).get_next(dt.datetime)
    while _fixed_time(cron) and fire.astimezone(tz).fold == 1:
        fire = croniter(cron, fire.astimezone(tz)).get_next(dt.datetime)
    return fire.astimezone(dt.timezone.utc)


def upcoming(cron: str, timezone: str | None, after: dt.datetime, count: int = 5) -> list[dt.datetime]:
    """The next ``count`` fires after ``after``, in UTC."""
    fires = []
    for _ in range(count):
        after = next_fire(cron, timezone, after)
        fires.append(after)
    return fires


def previous_fire(cron: str, timezone: str | None, before: dt.datetime) -> dt.datetime:
    """The last fire at or before ``before``, in UTC."""
    local = before.astimezone(zone(timezone))
    fire: dt.datetime = croniter(cron, local + dt.timedelta(seconds=1)).get_prev(dt.datetime)
    return fire.astimezone(dt.timezone.utc)


def missed_fire(cron: str, timezone: str | None, due: dt.datetime, now: dt.datetime, policy: str) -> bool:
    """Whether a fire that was ``due`` (and missed: the server was down) runs now, once.

    ``run_once`` runs it when it is late by less than one period (the gap between the fire and the
    next one), so a server down for a week runs a daily agent once, not seven times, and never a
    stale one; ``skip`` never runs it."""
    if policy != "run_once" or due > now:
        return False
    period = next_fire(cron, timezone, due) - due
    return now - due < period


def describe(cron: str) -> str:
    """The schedule in words ("At 07:00, Monday through Friday"), by ``cron-descriptor``."""
    options = Options()
    options.use_24hour_time_format = True
    try:
        return str(ExpressionDescriptor(cron, options).get_description())
    except Exception:  # the library's own errors for shapes it does not read
        return f"cron {cron}"

"""The Supervisor: what happens to a session's CLI when nobody asked.

- A CLI that exits unexpectedly is relaunched with resume after 3, 6, 12 s (budget 3), then
  the session gets an ``error`` event saying it keeps crashing.
- Intentional stops (kill, archive, delete, idle, hang) are never relaunched.
- A CLI silent for ``hang_timeout`` seconds during a turn (not while a permission is pending)
  is treated as hung and stopped; the next prompt relaunches it with resume.
- A CLI idle for ``idle_timeout`` seconds with nobody subscribed is stopped.
- A session restored after a server restart is relaunched on its next subscribe or prompt.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .. import metrics
from ..backends.base import BackendError

if TYPE_CHECKING:
    from .orchestrator import Orchestrator
    from .session import Session

log = logging.getLogger("jupyter_companion.supervisor")


@dataclass
class SupervisorPolicy:
    """Timings of the supervisor (all in seconds)."""

    relaunch_delays: tuple[float, ...] = (3.0, 6.0, 12.0)
    idle_timeout: float = 24 * 3600.0
    hang_timeout: float = 90.0
    check_interval: float = 10.0


def exit_in_words(returncode: int | None) -> str:
    """How a process ended, for people: ``killed by SIGKILL``, ``exit code 3``."""
    if returncode is None:
        return "its end was not reported"
    if returncode < 0:
        try:
            return f"killed by {signal.Signals(-returncode).name}"
        except ValueError:
            return f"killed by signal {-returncode}"
    return f"exit code {returncode}"


class Supervisor:
    """Relaunch, idle and hang policy for every session of an orchestrator."""

    def __init__(self, orchestrator: Orchestrator, policy: SupervisorPolicy):
        self.orch = orchestrator
        self.policy = policy
        self._watchdog: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Start the periodic idle/hang watchdog."""
        if self._watchdog is None:
            self._watchdog = asyncio.ensure_future(self._watch())

    async def stop(self) -> None:
        """Stop the watchdog."""
        if self._watchdog is not None:
            self._watchdog.cancel()
            with contextlib.suppress(BaseException):
                await self._watchdog
            self._watchdog = None

    # -- exits -----------------------------------------------------------------------------

    def on_exit(self, session: Session, returncode: int | None, stderr_tail: str, *, answering: bool = False) -> None:
        """A CLI ended; relaunch it unless the stop was intentional. ``answering``: it died in the
        middle of a turn (what it had streamed is kept; the user can send the prompt again)."""
        if session.intentional_stop or session.archived or self.orch.stopping:
            return
        tail = stderr_tail.strip()[-1500:]
        detail = f" Its last output: {tail}" if tail else ""
        how = exit_in_words(returncode)
        if answering:
            message = (f"The agent stopped in the middle of its answer ({how}). What it had written is kept "
                       f"above; it is being restarted, and Retry sends your last message again.{detail}")
        else:
            message = f"The agent stopped unexpectedly ({how}); it is being restarted.{detail}"
        event: dict[str, Any] = {"type": "error", "code": "cli_exited", "message": message, "exit_code": returncode}
        if answering:
            event["retry"] = True
        session.emit(event)
        self.schedule_relaunch(session)

    def schedule_relaunch(self, session: Session) -> None:
        """Relaunch after the next backoff delay, or give up when the budget is spent."""
        attempt = session.relaunch_attempts
        if attempt >= len(self.policy.relaunch_delays):
            if not session.crash_exhausted:
                session.crash_exhausted = True
                session.emit({"type": "error", "code": "relaunch_exhausted",
                              "message": "The session keeps crashing; it was not relaunched again. "
                                         "Relaunch it manually or send a message to try once more."})
            return
        session.relaunch_attempts = attempt + 1
        metrics.restarted(str(session.info.get("backend")))
        delay = self.policy.relaunch_delays[attempt]
        if session.relaunch_task is not None:
            session.relaunch_task.cancel()
        session.relaunch_task = asyncio.ensure_future(self._relaunch_later(session, delay))

    async def _relaunch_later(self, session: Session, delay: float) -> None:
        await asyncio.sleep(delay)
        session.relaunch_task = None
        if session.running or session.intentional_stop or session.archived or self.orch.stopping:
            return
        try:
            await session.ensure_running()
            session.emit({"type": "notice", "level": "info", "code": "relaunched",
                          "message": f"The agent CLI was relaunched (attempt {session.relaunch_attempts})."})
        except BackendError as exc:
            session.emit({"type": "error", "code": "relaunch_failed", "message": f"Relaunch failed: {exc}"})
            self.schedule_relaunch(session)

    # -- subscribers -----------------------------------------------------------------------

    def on_subscribe(self, session: Session) -> None:
        """A client is watching: bring back a session restored after a restart."""
        if session.needs_relaunch and not session.running and not session.archived:
            self.orch.track(asyncio.ensure_future(self._relaunch_now(session)))

    async def _relaunch_now(self, session: Session) -> None:
        try:
            await session.ensure_running()
        except BackendError as exc:
            session.emit({"type": "error", "code": "relaunch_failed", "message": f"Relaunch failed: {exc}"})

    def _hang_error(self, session: Session) -> dict[str, Any]:
        """The error that says why a turn's CLI was stopped by the hang watchdog."""
        waited = f"{self.policy.hang_timeout:g} s"
        if session.model_trouble:
            return {"type": "error", "code": "model_unreachable", "retry": True,
                    "message": f"The agent CLI could not reach its model ({session.model_trouble}) and had "
                               f"made no progress for {waited}, so it was stopped. Check the network and the "
                               "backend's credentials, then Retry."}
        return {"type": "error", "code": "cli_hung", "retry": True,
                "message": f"The agent CLI sent nothing for {waited} during a turn and was stopped. "
                           "Retry sends your last message again."}

    # -- the watchdog ----------------------------------------------------------------------

    async def _watch(self) -> None:
        while True:
            await asyncio.sleep(self.policy.check_interval)
            try:
                await self.check_once()
            except Exception:
                log.exception("supervisor check failed")

    async def check_once(self) -> None:
        """One pass of hang and idle detection over every running session."""
        now = time.monotonic()
        for session in list(self.orch.sessions.values()):
            if not session.running:
                continue
            if session.phase == "streaming" and now - session.last_output_at > self.policy.hang_timeout:
                session.emit(self._hang_error(session))
                await session.stop_cli(intentional=True)
                session.needs_relaunch = True
            elif (
                not session.subscribers
                and session.phase == "ready"
                and now - max(session.last_output_at, session.last_watched_at) > self.policy.idle_timeout
            ):
                session.emit({"type": "notice", "level": "info", "code": "idle_stopped",
                              "message": "The agent CLI was stopped after a long idle time; it restarts on the next message."})
                await session.stop_cli(intentional=True)
                session.needs_relaunch = True

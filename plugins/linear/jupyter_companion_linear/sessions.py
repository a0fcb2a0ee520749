"""Sessions linked to a Linear issue: the link made at creation, the issue in the system prompt,
*started* when the session starts, a comment when a turn ends (setting), a move on archive.

Work that calls Linear after the request that caused it runs as a task; when it fails the
session gets a ``notice`` saying what Linear answered, and nothing else is affected.
"""

from __future__ import annotations

import asyncio
import logging
import re
import weakref
from collections.abc import Awaitable
from typing import Any

from jupyter_companion.errors import ApiError

from .service import LinearService, context_text, link_of

log = logging.getLogger("jupyter_companion_linear")

#: An issue reference in a create request: an identifier (``ENG-12``) or Linear's id (a UUID).
ISSUE_REF = re.compile(r"[A-Za-z][A-Za-z0-9]{0,9}-\d{1,9}|[0-9a-fA-F-]{36}")
#: What ``linear_transition`` of an archive request may say.
TRANSITIONS = ("configured", "backlog", "none")

_services: weakref.WeakKeyDictionary[Any, LinearService] = weakref.WeakKeyDictionary()
_contexts: dict[str, str] = {}
_tasks: set[asyncio.Future[Any]] = set()


def service_for(orchestrator: Any) -> LinearService:
    """The one service of a server (its settings are the orchestrator's)."""
    service = _services.get(orchestrator)
    if service is None:
        service = _services[orchestrator] = LinearService(orchestrator.settings)
    return service


def spawn(work: Awaitable[Any], session: Any, what: str) -> None:
    """Run Linear work after the request; a failure becomes a notice on the session."""

    async def run() -> None:
        try:
            await work
        except ApiError as exc:
            session.emit({"type": "notice", "level": "warning", "code": "linear_failed",
                          "message": f"Linear: could not {what}: {exc.message}"})
        except Exception:  # never let a Linear hiccup escape into the server's loop
            log.exception("linear: %s failed", what)

    task = asyncio.ensure_future(run())
    _tasks.add(task)
    task.add_done_callback(_tasks.discard)


async def drain() -> None:
    """Wait for the Linear work under way (tests; server stop)."""
    while _tasks:
        await asyncio.gather(*list(_tasks), return_exceptions=True)


async def link(session: Any, request: dict[str, Any], progress: Any) -> None:
    """Link a new session to the issue its create request names (``linear_issue``)."""
    ref = request.get("linear_issue")
    if ref is None or ref == "":
        return
    if not isinstance(ref, str) or not ISSUE_REF.fullmatch(ref.strip()):
        raise ApiError(400, "'linear_issue' must be an issue identifier such as ENG-12 (or Linear's id)")
    service = service_for(session.orch)
    progress("linking_linear_issue", "Reading the Linear issue", "in_progress", ref)
    try:
        issue = await service.issue(ref.strip())
    except ApiError as exc:
        progress("linking_linear_issue", "Reading the Linear issue", "error", exc.message)
        raise ApiError(400 if exc.status == 404 else exc.status, exc.message) from exc
    session.info["linear_issue"] = link_of(issue)
    _contexts[session.id] = context_text(issue)
    progress("linking_linear_issue", "Reading the Linear issue", "done", f"{issue['identifier']}: {issue['title']}")


def system_prompt(session: Any) -> str | None:
    """The linked issue's text, for the new session's system prompt (asked once, at creation)."""
    return _contexts.pop(session.id, None)


async def _move(session: Any, *, type_: str | None = None, name: str | None = None, unless: tuple[str, ...] = ()) -> None:
    link = session.info.get("linear_issue") or {}
    if not link.get("team_id") or link.get("state_type") in unless:
        return
    service = service_for(session.orch)
    state = await service.state_for(link["team_id"], type_=type_, name=name)
    if state is None:
        raise ApiError(404, f"the team has no {f'state named {name!r}' if name else f'{type_} state'}")
    if state["name"] == link.get("state"):
        return
    moved = await service.move(link, state)
    session.update({"linear_issue": {**link, "state": moved["state"], "state_type": moved["state_type"]}})


def started(session: Any) -> None:
    """The session started: its issue moves to the team's first *started* state (an issue
    already started, done or canceled stays where it is)."""
    if session.info.get("linear_issue"):
        spawn(_move(session, type_="started", unless=("started", "completed", "canceled")), session,
              "move the issue to started")


def turn_ended(session: Any, event: dict[str, Any]) -> None:
    """A turn ended: with ``linear_comment_on_turn`` set, its summary goes to the issue."""
    link = session.info.get("linear_issue")
    if not link or event.get("is_error") or not event.get("text"):
        return
    if session.orch.settings.value("linear_comment_on_turn"):
        body = f"**{session.info.get('name') or 'Agent session'}** finished a turn:\n\n{event['text']}"
        spawn(service_for(session.orch).comment(link["id"], body), session, "comment on the issue")


def archive_default(settings: Any) -> str:
    """What happens to the issue on archive when the panel does not ask."""
    return "configured" if settings.value("linear_archive_state") else "none"


def archived(session: Any, options: dict[str, Any]) -> None:
    """The session was archived: move the issue as chosen (``linear_transition``)."""
    if not session.info.get("linear_issue"):
        return
    settings = session.orch.settings
    choice = options.get("linear_transition") or archive_default(settings)
    if choice not in TRANSITIONS:
        session.emit({"type": "notice", "level": "warning", "code": "linear_failed",
                      "message": f"Linear: unknown linear_transition {str(choice)[:40]!r}; the issue was not moved"})
    elif choice == "backlog":
        spawn(_move(session, type_="backlog"), session, "move the issue to the backlog")
    elif choice == "configured" and settings.value("linear_archive_state"):
        spawn(_move(session, name=settings.value("linear_archive_state")), session, "move the issue on archive")

"""The plugin module of ``jupyter-companion-linear`` (entry point ``linear`` of the
``jupyter_companion`` group), written only against :mod:`jupyter_companion.hookspecs`."""

from __future__ import annotations

from typing import Any

from jupyter_companion.errors import ApiError
from jupyter_companion.hookspecs import hookimpl

from . import sessions
from .client import DEFAULT_URL
from .handlers import TRIGGERS, routes
from .sessions import service_for
from .webhook import LinearTrigger, issue_of_run

SETTINGS: dict[str, dict[str, Any]] = {
    "linear_api_key": {"title": "API key", "type": "string", "secret": True, "default": "",
                       "description": "Personal API key (Linear: Settings → Security & access); checked when saved."},
    "linear_api_url": {"title": "GraphQL endpoint", "type": "string", "default": DEFAULT_URL, "pattern": r"^https?://[^\s]{1,500}$",
                       "description": "Linear's GraphQL endpoint (change it for a proxy)."},
    "linear_comment_on_turn": {"title": "Comment each turn's summary on the issue", "type": "boolean", "default": False,
                               "description": "Comment on a session's issue with each turn's summary."},
    "linear_archive_state": {"title": "State on archive", "type": "string", "default": "", "pattern": r"^[^\x00-\x1f]{0,100}$",
                             "description": "State an issue moves to when its session is archived (e.g. 'In Review'; "
                                            "empty: it stays)."},
    "linear_repo_teams": {"title": "Folder → team", "type": "object", "default": {},
                          "description": "Folder → team key (e.g. {\"project\": \"ENG\"}): the issue picker of a "
                                         "session in that folder searches that team first."},
    "linear_webhook_secret": {"title": "Webhook signing secret", "type": "string", "secret": True, "default": "",
                              "description": "Signing secret of Linear's webhook pointing at companion/api/linear/webhook."},
    "linear_agent_label_prefix": {"title": "Agent label prefix", "type": "string", "default": "agent:", "pattern": r"^[^\x00-\x1f]{1,40}$",
                                  "description": "A label '<prefix><agent name>' on an issue starts that agent."},
    "linear_agent_assignees": {"title": "Assignee → agent", "type": "object", "default": {},
                               "description": "Linear user (email or name) → agent name: assigning an issue to "
                                              "them starts that agent."},
}


@hookimpl
def register_settings(app: Any) -> dict[str, Any]:
    """Declare the Linear settings (the API key and the webhook secret are secrets)."""
    return SETTINGS


@hookimpl
async def validate_settings(changes: dict[str, Any], app: Any) -> None:
    """A new API key (or URL) is checked with a viewer query before it is stored."""
    if not {"linear_api_key", "linear_api_url"} & changes.keys():
        return
    settings = app.orchestrator.settings
    key = changes.get("linear_api_key", settings.value("linear_api_key"))
    if not key:
        return
    url = changes.get("linear_api_url") or settings.value("linear_api_url") or DEFAULT_URL
    try:
        await service_for(app.orchestrator).viewer(api_key=key, url=url)
    except ApiError as exc:
        raise ApiError(400, f"Linear did not accept this key: {exc.message}") from exc


@hookimpl
def register_routes(app: Any) -> list[tuple[str, Any]]:
    """The ``companion/api/linear/`` routes."""
    return routes()


@hookimpl
def register_triggers(register: Any, app: Any) -> None:
    """The ``linear`` trigger: Linear's webhook starts agent runs."""
    TRIGGERS[app] = LinearTrigger(app, register("linear", "Linear"))


@hookimpl
async def prepare_session(session: Any, request: dict[str, Any], progress: Any) -> None:
    """Link a new session to the issue named by ``linear_issue``."""
    await sessions.link(session, request, progress)


@hookimpl
def system_prompt(session: Any) -> str | None:
    """The linked issue's title, description and recent comments."""
    return sessions.system_prompt(session)


@hookimpl
def session_created(session: Any) -> None:
    """The linked issue moves to *started*."""
    sessions.started(session)


@hookimpl
def session_event(session: Any, event: dict[str, Any]) -> None:
    """A turn's end: the summary comment (setting) and the answer of a run started from Linear."""
    if event.get("type") != "result":
        return
    sessions.turn_ended(session, event)
    issue_id = issue_of_run(session.orch.settings, session.info.get("run_id"), forget=True)
    if issue_id:
        verdict = "could not finish" if event.get("is_error") else "finished"
        body = f"**{session.info.get('name') or 'Agent'}** {verdict}:\n\n{event.get('text') or '(no text)'}"
        sessions.spawn(service_for(session.orch).comment(issue_id, body), session, "post the run's result")


session_event.event_types = ("result",)  # type: ignore[attr-defined]  # the only events it reads


@hookimpl
def session_archived(session: Any, options: dict[str, Any]) -> None:
    """Move the linked issue as the archive request chose."""
    sessions.archived(session, options)


@hookimpl
def register_ui(app: Any) -> list[dict[str, Any]]:
    """The issue picker, the session badge, the archive question and the Integrations page."""
    settings = app.orchestrator.settings
    archive_state = settings.value("linear_archive_state")
    options = [{"value": "none", "label": "Leave it where it is"},
               {"value": "backlog", "label": "Back to the backlog"}]
    if archive_state:
        options.insert(0, {"value": "configured", "label": f"Move it to {archive_state}"})
    return [
        {"kind": "create_field", "name": "linear_issue", "label": "Linear issue",
         "placeholder": "Search Linear issues…",
         "search": {"url": "linear/issues", "param": "query", "list": "issues", "value": "identifier",
                    "text": "{identifier} {title}", "detail": "{state}"},
         "create": {"url": "linear/issues", "label": "New Linear issue", "value": "identifier",
                    "fields": [{"name": "title", "label": "Title", "required": True},
                               {"name": "team_id", "label": "Team", "required": True, "options_url": "linear/teams",
                                "list": "teams", "option_value": "id", "option_text": "{key} {name}"},
                               {"name": "description", "label": "Description", "multiline": True}]}},
        {"kind": "session_field", "field": "linear_issue", "text": "{identifier} · {state}",
         "title": "{title}", "href": "{url}"},
        {"kind": "archive_choice", "field": "linear_issue", "name": "linear_transition",
         "label": "The session's Linear issue", "options": options,
         "default": sessions.archive_default(settings)},
        {"kind": "page", "id": "linear", "label": "Linear",
         "description": "Link sessions to Linear issues and let Linear start agents.",
         "settings": list(SETTINGS),
         "status": {"url": "linear/connection",
                    "fields": [{"key": "connected", "label": "Connected", "format": "state"},
                               {"key": "viewer.name", "label": "As"},
                               {"key": "viewer.organization", "label": "Workspace"},
                               {"key": "error", "label": "Problem"}]}},
    ]

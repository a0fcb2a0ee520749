"""Linear's issues as this extension uses them: search, fetch, create, teams, states, moves and
comments, on the key and URL of the settings of the moment."""

from __future__ import annotations

import os
from typing import Any

from jupyter_companion.errors import ApiError

from . import queries
from .client import DEFAULT_URL, LinearClient, LinearError, fingerprint

#: Most comments quoted to an agent, and most characters of each.
MAX_COMMENTS = 5
MAX_COMMENT_CHARS = 2000
#: Longest comment posted to Linear (characters).
MAX_POSTED = 8000


def _issue(node: dict[str, Any]) -> dict[str, Any]:
    """A Linear issue node as this API shows it."""
    state = node.get("state") or {}
    team = node.get("team") or {}
    assignee = node.get("assignee") or None
    return {
        "id": node.get("id"), "identifier": node.get("identifier"), "title": node.get("title"),
        "url": node.get("url"), "description": node.get("description") or "",
        "priority": node.get("priority"),
        "state": state.get("name"), "state_type": state.get("type"),
        "team": {"id": team.get("id"), "key": team.get("key"), "name": team.get("name")},
        "assignee": {"name": assignee.get("name"), "email": assignee.get("email")} if assignee else None,
        "labels": [label.get("name") for label in (node.get("labels") or {}).get("nodes") or []],
    }


def link_of(issue: dict[str, Any]) -> dict[str, Any]:
    """What a session object shows of its issue (API.md: ``{id, identifier, title, url, state}``)."""
    return {key: issue.get(key) for key in ("id", "identifier", "title", "url", "state", "state_type")} | {
        "team_id": (issue.get("team") or {}).get("id")}


def context_text(issue: dict[str, Any]) -> str:
    """The issue as the agent reads it in its system prompt."""
    lines = [f"This session works on the Linear issue {issue['identifier']}: {issue['title']}",
             f"URL: {issue['url']}", f"State: {issue['state']}"]
    if issue.get("assignee"):
        lines.append(f"Assignee: {issue['assignee']['name']}")
    if issue.get("labels"):
        lines.append("Labels: " + ", ".join(issue["labels"]))
    lines += ["", "Description:", issue.get("description") or "(none)"]
    comments = issue.get("comments") or []
    if comments:
        lines += ["", "Recent comments:"]
        lines += [f"- {c['author']} ({c['created_at']}): {c['body'][:MAX_COMMENT_CHARS]}" for c in comments]
    return "\n".join(lines)


class LinearService:
    """The plugin's access to Linear through the settings ``linear_api_key`` and ``linear_api_url``."""

    def __init__(self, settings: Any):
        self.settings = settings
        self._client: LinearClient | None = None

    # -- the client ------------------------------------------------------------------------

    def configured(self) -> bool:
        """Whether an API key is set."""
        return bool(self.settings.value("linear_api_key"))

    def client(self, api_key: str | None = None, url: str | None = None) -> LinearClient:
        """The client of the stored key (or of the given one, to verify it before it is stored)."""
        key = api_key if api_key is not None else self.settings.value("linear_api_key")
        if not key:
            raise ApiError(400, "Linear is not connected: set the linear_api_key setting "
                                "(a personal API key from Linear's Settings → Security & access)")
        address = url or self.settings.value("linear_api_url") or DEFAULT_URL
        if api_key is not None:
            return LinearClient(key, address, cache_ttl=0.001)
        if self._client is None or self._client.fingerprint != fingerprint(key, address):
            self._client = LinearClient(key, address)  # the old one's pool closes when it is collected
        return self._client

    async def call(self, document: str, variables: dict[str, Any] | None = None, cached: bool = False,
                   client: LinearClient | None = None) -> dict[str, Any]:
        """Run a document, Linear's failures as :class:`ApiError` with Linear's message."""
        try:
            return await (client or self.client()).execute(document, variables, cached=cached)
        except LinearError as exc:
            raise ApiError(exc.status, exc.message) from exc

    # -- reads -----------------------------------------------------------------------------

    async def viewer(self, api_key: str | None = None, url: str | None = None) -> dict[str, Any]:
        """Who the key belongs to (verifies a key before it is stored)."""
        client = self.client(api_key, url) if api_key is not None else None
        try:
            data = await self.call(queries.VIEWER, cached=client is None, client=client)
        finally:
            if client is not None:
                await client.close()
        viewer = data.get("viewer") or {}
        organization = viewer.get("organization") or {}
        return {"name": viewer.get("name"), "email": viewer.get("email"),
                "organization": organization.get("name"), "url_key": organization.get("urlKey")}

    async def teams(self) -> list[dict[str, Any]]:
        """The workspace's teams."""
        data = await self.call(queries.TEAMS, cached=True)
        return [{"id": t["id"], "key": t["key"], "name": t["name"]} for t in data["teams"]["nodes"]]

    async def states(self, team_id: str) -> list[dict[str, Any]]:
        """A team's workflow states, in board order."""
        data = await self.call(queries.TEAM_STATES, {"teamId": team_id}, cached=True)
        nodes = (data.get("team") or {}).get("states", {}).get("nodes") or []
        return sorted(({"id": s["id"], "name": s["name"], "type": s["type"], "position": s["position"]} for s in nodes),
                      key=lambda s: s["position"])

    async def search(self, term: str, limit: int, team_id: str | None) -> list[dict[str, Any]]:
        """Issues matching ``term`` (the mapped team's first), open ones before done ones."""
        data = await self.call(queries.SEARCH_ISSUES, {"term": term, "first": limit, "teamId": team_id}, cached=True)
        issues = [_issue(node) for node in data["searchIssues"]["nodes"]]
        closed = ("completed", "canceled")
        return sorted(issues, key=lambda i: (i["state_type"] in closed, i["team"]["id"] != team_id))

    async def issue(self, issue_id: str) -> dict[str, Any]:
        """One issue with its last comments (404 when Linear has none such)."""
        try:
            data = await self.call(queries.ISSUE, {"id": issue_id}, cached=True)
        except ApiError as exc:
            if exc.status == 404:
                raise ApiError(404, f"Linear has no issue {issue_id!r}") from exc
            raise
        node = data.get("issue")
        if not node:
            raise ApiError(404, f"Linear has no issue {issue_id!r}")
        issue = _issue(node)
        issue["comments"] = [
            {"author": (c.get("user") or {}).get("name") or "someone", "created_at": c.get("createdAt"),
             "body": c.get("body") or ""}
            for c in ((node.get("comments") or {}).get("nodes") or [])[-MAX_COMMENTS:]
        ]
        return issue

    # -- writes ----------------------------------------------------------------------------

    async def create(self, title: str, team_id: str, description: str | None) -> dict[str, Any]:
        """A new issue in a team."""
        fields = {"title": title, "teamId": team_id}
        if description:
            fields["description"] = description
        data = await self.call(queries.ISSUE_CREATE, {"input": fields})
        payload = data.get("issueCreate") or {}
        if not payload.get("success") or not payload.get("issue"):
            raise ApiError(502, "Linear did not create the issue")
        return _issue(payload["issue"])

    async def move(self, issue: dict[str, Any], state: dict[str, Any]) -> dict[str, Any]:
        """Put an issue in a workflow state; answers the issue as it is now."""
        data = await self.call(queries.ISSUE_UPDATE, {"id": issue["id"], "input": {"stateId": state["id"]}})
        payload = data.get("issueUpdate") or {}
        if not payload.get("success") or not payload.get("issue"):
            raise ApiError(502, f"Linear did not move {issue.get('identifier')}")
        return _issue(payload["issue"])

    async def state_for(self, team_id: str, *, type_: str | None = None, name: str | None = None) -> dict[str, Any] | None:
        """The team's first state of a type (``started``, ``backlog``) or of a name (any case)."""
        for state in await self.states(team_id):
            if (type_ and state["type"] == type_) or (name and state["name"].casefold() == name.casefold()):
                return state
        return None

    async def comment(self, issue_id: str, body: str) -> None:
        """Add a comment (Markdown) to an issue."""
        if len(body) > MAX_POSTED:
            body = body[: MAX_POSTED - 20] + "\n\n… (shortened)"
        data = await self.call(queries.COMMENT_CREATE, {"input": {"issueId": issue_id, "body": body}})
        if not (data.get("commentCreate") or {}).get("success"):
            raise ApiError(502, "Linear did not add the comment")

    # -- repository → team -----------------------------------------------------------------

    async def mapped_team(self, cwd: str | None, root_dir: str) -> dict[str, Any] | None:
        """The team ``linear_repo_teams`` maps the folder ``cwd`` to (the longest matching
        folder wins; keys are folders relative to the server's root or absolute)."""
        team_key = mapped_team_key(self.settings.value("linear_repo_teams"), cwd, root_dir)
        if team_key is None:
            return None
        return next((t for t in await self.teams() if team_key in (t["key"], t["id"], t["name"])), None)


def mapped_team_key(mapping: Any, cwd: str | None, root_dir: str) -> str | None:
    """The team key a ``linear_repo_teams`` mapping gives the folder ``cwd`` (the longest
    matching folder wins), or None."""
    if not cwd or not isinstance(mapping, dict) or not mapping:
        return None
    folder = os.path.realpath(os.path.join(root_dir, cwd))
    best: tuple[int, str] | None = None
    for key, team_key in mapping.items():
        base = os.path.realpath(os.path.join(root_dir, str(key)))
        if (folder == base or folder.startswith(base + os.sep)) and (best is None or len(base) > best[0]):
            best = (len(base), str(team_key))
    return best[1] if best else None

"""A stand-in for Linear's GraphQL API on 127.0.0.1, for tests (Linear cannot be reached here).

It executes real GraphQL with ``graphql-core`` against the part of Linear's public schema the
plugin uses -- the same type, field and argument names (``searchIssues``, ``issueCreate``,
``issueUpdate``, ``commentCreate``, ``Team.states``, ``WorkflowState.type`` ...) -- and answers the
way Linear does: a personal key in ``Authorization`` (no ``Bearer``), ``AUTHENTICATION_ERROR``
for a wrong key, ``RATELIMITED`` with ``X-RateLimit-Requests-*`` headers when the budget is spent,
``Entity not found`` for an unknown issue. It also signs webhook deliveries as Linear does.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import threading
import time
import uuid
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from graphql import GraphQLError, build_schema, graphql_sync

SDL = """
scalar DateTime
type Organization { id: ID! name: String! urlKey: String! }
type User { id: ID! name: String! displayName: String! email: String! organization: Organization! }
type WorkflowState { id: ID! name: String! type: String! position: Float! color: String! team: Team! }
type WorkflowStateConnection { nodes: [WorkflowState!]! }
type Team { id: ID! key: String! name: String! states(first: Int): WorkflowStateConnection! }
type TeamConnection { nodes: [Team!]! }
type IssueLabel { id: ID! name: String! color: String! }
type IssueLabelConnection { nodes: [IssueLabel!]! }
type Comment { id: ID! body: String! createdAt: DateTime! user: User }
type CommentConnection { nodes: [Comment!]! }
type Issue {
  id: ID! identifier: String! title: String! description: String url: String! priority: Float!
  state: WorkflowState! team: Team! assignee: User createdAt: DateTime!
  labels(first: Int): IssueLabelConnection! comments(first: Int, last: Int): CommentConnection!
}
type IssueSearchResult {
  id: ID! identifier: String! title: String! description: String url: String! priority: Float!
  state: WorkflowState! team: Team! assignee: User labels(first: Int): IssueLabelConnection!
}
type IssueSearchPayload { nodes: [IssueSearchResult!]! totalCount: Float! }
type IssuePayload { success: Boolean! issue: Issue lastSyncId: Float! }
type CommentPayload { success: Boolean! comment: Comment! lastSyncId: Float! }
input IssueCreateInput {
  title: String teamId: String! description: String priority: Int stateId: String assigneeId: String
  projectId: String labelIds: [String!]
}
input IssueUpdateInput { title: String description: String stateId: String assigneeId: String priority: Int labelIds: [String!] }
input CommentCreateInput { issueId: String body: String }
type Query {
  viewer: User!
  teams(first: Int): TeamConnection!
  team(id: String!): Team!
  issue(id: String!): Issue!
  searchIssues(term: String!, first: Int, teamId: String, includeComments: Boolean): IssueSearchPayload!
}
type Mutation {
  issueCreate(input: IssueCreateInput!): IssuePayload!
  issueUpdate(id: String!, input: IssueUpdateInput!): IssuePayload!
  commentCreate(input: CommentCreateInput!): CommentPayload!
}
"""
SCHEMA = build_schema(SDL)
#: The signing secret the tests give the plugin (setting linear_webhook_secret).
WEBHOOK_SECRET = "lin_wh_standin_secret_42"

STATE_KINDS = (("Backlog", "backlog"), ("Todo", "unstarted"), ("In Progress", "started"),
               ("In Review", "started"), ("Done", "completed"), ("Canceled", "canceled"))


def _not_found(what: str) -> GraphQLError:
    return GraphQLError(f"Entity not found: {what}", extensions={
        "type": "invalid input", "code": "INVALID_INPUT", "statusCode": 400, "userError": True,
        "userPresentableMessage": f"Could not find referenced {what}."})


class LinearStandIn:
    """The workspace ``Acme`` with teams ENG and OPS; use as a context manager."""

    def __init__(self, api_key: str = "lin_api_standin_0123456789") -> None:
        self.api_key = api_key
        self.requests: list[dict[str, Any]] = []
        self.rate_limited: int = 0  # answer this many next requests with RATELIMITED
        self.rate_reset_in: float = 30.0
        self._lock = threading.Lock()
        org = {"id": "org-1", "name": "Acme", "urlKey": "acme"}
        self.viewer = {"id": "user-1", "name": "Ada Lovelace", "displayName": "ada", "email": "ada@acme.test",
                       "organization": org}
        self.bot = {"id": "user-2", "name": "Fixer Bot", "displayName": "fixer", "email": "fixer@acme.test",
                    "organization": org}
        self.teams: dict[str, dict[str, Any]] = {}
        for key, name in (("ENG", "Engineering"), ("OPS", "Operations")):
            team = {"id": f"team-{key.lower()}", "key": key, "name": name, "count": 0}
            team["states"] = [{"id": f"{team['id']}-s{i}", "name": state, "type": kind, "position": float(i),
                               "color": "#888", "team": team} for i, (state, kind) in enumerate(STATE_KINDS)]
            self.teams[team["id"]] = team
        self.labels = {"bug": {"id": "label-bug", "name": "Bug", "color": "#f00"},
                       "agent": {"id": "label-agent-fixer", "name": "agent:Fixer", "color": "#0f0"}}
        self.issues: dict[str, dict[str, Any]] = {}
        eng, ops = self.teams["team-eng"], self.teams["team-ops"]
        self.add_issue(eng, "Login button does nothing on Safari",
                       "Clicking *Log in* on Safari 17 does nothing. Console shows `TypeError: crypto.randomUUID`.",
                       state="Todo", labels=[self.labels["bug"]],
                       comments=["Reproduced on macOS 14.", "Probably the polyfill; see utils/ids.ts."])
        self.add_issue(eng, "Dark mode for settings page", "Use the theme tokens.", state="Backlog")
        self.add_issue(ops, "Rotate the login service certificates", "Before Friday.", state="Todo")
        self.add_issue(eng, "Old login flow removed", "Done already.", state="Done")

    # -- data ------------------------------------------------------------------------------

    def state(self, team: dict[str, Any], name: str) -> dict[str, Any]:
        """A team's state by name."""
        return next(s for s in team["states"] if s["name"] == name)

    def add_issue(self, team: dict[str, Any], title: str, description: str | None, state: str = "Todo",
                  labels: list[dict[str, Any]] | None = None, comments: list[str] | None = None,
                  assignee: dict[str, Any] | None = None) -> dict[str, Any]:
        """A new issue (as Linear numbers them: per team)."""
        team["count"] += 1
        identifier = f"{team['key']}-{team['count']}"
        issue = {
            "id": str(uuid.uuid4()), "identifier": identifier, "title": title, "description": description,
            "url": f"https://linear.app/acme/issue/{identifier.lower()}", "priority": 0.0,
            "state": self.state(team, state), "team": team, "assignee": assignee, "createdAt": "2026-11-30T10:00:00.000Z",
            "labels": list(labels or []), "comments": [],
        }
        for body in comments or []:
            self._comment(issue, body, self.viewer)
        self.issues[issue["id"]] = issue
        return issue

    def _comment(self, issue: dict[str, Any], body: str, user: dict[str, Any]) -> dict[str, Any]:
        comment = {"id": str(uuid.uuid4()), "body": body, "createdAt": time.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
                   "user": user}
        issue["comments"].append(comment)
        return comment

    def find(self, ref: str) -> dict[str, Any] | None:
        """An issue by id or identifier (as ``issue(id:)`` accepts both)."""
        return self.issues.get(ref) or next((i for i in self.issues.values() if i["identifier"] == ref.upper()), None)

    def by_identifier(self, identifier: str) -> dict[str, Any]:
        """An issue that must exist."""
        issue = self.find(identifier)
        assert issue is not None, identifier
        return issue

    def operations(self) -> list[str]:
        """The operation names received, oldest first."""
        return [r.get("operationName") or "" for r in self.requests]

    # -- resolvers -------------------------------------------------------------------------

    def _issue_view(self, issue: dict[str, Any]) -> dict[str, Any]:
        view = dict(issue)
        view["labels"] = lambda info, first=50: {"nodes": issue["labels"][:first]}
        view["comments"] = lambda info, first=None, last=None: {
            "nodes": issue["comments"][-last:] if last else issue["comments"][: first or 50]}
        return view

    def _team_view(self, team: dict[str, Any]) -> dict[str, Any]:
        return {**team, "states": lambda info, first=50: {"nodes": team["states"][:first]}}

    def _root(self) -> dict[str, Any]:
        def issue(info: Any, id: str) -> dict[str, Any]:
            found = self.find(id)
            if found is None:
                raise _not_found("Issue")
            return self._issue_view(found)

        def team(info: Any, id: str) -> dict[str, Any]:
            found = self.teams.get(id) or next((t for t in self.teams.values() if t["key"] == id), None)
            if found is None:
                raise _not_found("Team")
            return self._team_view(found)

        def search(info: Any, term: str, first: int | None = None, teamId: str | None = None,
                   includeComments: bool | None = None) -> dict[str, Any]:
            words = term.casefold().split()
            hits = [i for i in self.issues.values()
                    if all(w in f"{i['identifier']} {i['title']} {i['description'] or ''}".casefold() for w in words)]
            hits.sort(key=lambda i: (i["team"]["id"] != teamId, i["identifier"]))
            return {"nodes": [self._issue_view(i) for i in hits[: first or 50]], "totalCount": float(len(hits))}

        def issue_create(info: Any, input: dict[str, Any]) -> dict[str, Any]:
            team = self.teams.get(input["teamId"])
            if team is None:
                raise _not_found("Team")
            created = self.add_issue(team, input.get("title") or "", input.get("description"), state="Backlog")
            return {"success": True, "issue": self._issue_view(created), "lastSyncId": 1.0}

        def issue_update(info: Any, id: str, input: dict[str, Any]) -> dict[str, Any]:
            found = self.find(id)
            if found is None:
                raise _not_found("Issue")
            if "stateId" in input:
                state = next((s for s in found["team"]["states"] if s["id"] == input["stateId"]), None)
                if state is None:
                    raise _not_found("WorkflowState")
                found["state"] = state
            return {"success": True, "issue": self._issue_view(found), "lastSyncId": 2.0}

        def comment_create(info: Any, input: dict[str, Any]) -> dict[str, Any]:
            found = self.find(input.get("issueId") or "")
            if found is None:
                raise _not_found("Issue")
            return {"success": True, "comment": self._comment(found, input.get("body") or "", self.viewer),
                    "lastSyncId": 3.0}

        return {
            "viewer": self.viewer,
            "teams": lambda info, first=50: {"nodes": [self._team_view(t) for t in self.teams.values()][:first]},
            "team": team, "issue": issue, "searchIssues": search,
            "issueCreate": issue_create, "issueUpdate": issue_update, "commentCreate": comment_create,
        }

    # -- HTTP ------------------------------------------------------------------------------

    def answer(self, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, str], dict[str, Any]]:
        """Status, headers and JSON body for one POST."""
        try:
            request = json.loads(body)
        except ValueError:
            return 400, {}, {"errors": [{"message": "POST body sent invalid JSON."}]}
        with self._lock:
            self.requests.append({"operationName": _operation(request.get("query", "")),
                                  "variables": request.get("variables") or {}})
            limited = self.rate_limited > 0
            if limited:
                self.rate_limited -= 1
        reset_ms = int((time.time() + self.rate_reset_in) * 1000)
        budget = {"X-RateLimit-Requests-Limit": "1500", "X-RateLimit-Requests-Remaining": "0" if limited else "1499",
                  "X-RateLimit-Requests-Reset": str(reset_ms)}
        if headers.get("authorization") != self.api_key:
            return 400, budget, {"errors": [{"message": "Authentication required, not authenticated", "extensions": {
                "type": "authentication error", "code": "AUTHENTICATION_ERROR", "statusCode": 401, "userError": True,
                "userPresentableMessage": "You need to authenticate to access this operation."}}]}
        if limited:
            return 400, budget, {"errors": [{"message": "Rate limit exceeded", "extensions": {
                "type": "ratelimited", "code": "RATELIMITED", "statusCode": 429, "userError": True,
                "userPresentableMessage": "Rate limit exceeded. Please try again later."}}]}
        with self._lock:
            result = graphql_sync(SCHEMA, request.get("query", ""), root_value=self._root(),
                                  variable_values=request.get("variables"))
        out: dict[str, Any] = {}
        if result.errors:
            out["errors"] = [e.formatted for e in result.errors]
        if result.data is not None:
            out["data"] = result.data
        status = 400 if result.data is None else 200  # a document that does not validate: 400
        return status, budget, out

    def __enter__(self) -> LinearStandIn:
        standin = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - the http.server protocol
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                status, headers, payload = standin.answer({k.lower(): v for k, v in self.headers.items()}, body)
                data = json.dumps(payload).encode()
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/graphql"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._server.shutdown()
        self._server.server_close()

    # -- webhooks --------------------------------------------------------------------------

    def issue_delivery(self, issue: dict[str, Any], action: str = "create",
                       updated_from: dict[str, Any] | None = None) -> dict[str, Any]:
        """An ``Issue`` webhook payload as Linear sends it."""
        data = {
            "id": issue["id"], "identifier": issue["identifier"], "title": issue["title"],
            "description": issue["description"], "url": issue["url"], "priority": 0, "teamId": issue["team"]["id"],
            "stateId": issue["state"]["id"], "state": {k: issue["state"][k] for k in ("id", "name", "type", "color")},
            "labelIds": [label["id"] for label in issue["labels"]],
            "labels": [{k: label[k] for k in ("id", "name", "color")} for label in issue["labels"]],
            "assigneeId": (issue["assignee"] or {}).get("id"),
            "assignee": {k: issue["assignee"][k] for k in ("id", "name", "email")} if issue["assignee"] else None,
        }
        payload: dict[str, Any] = {"action": action, "type": "Issue", "data": data, "url": issue["url"],
                                   "createdAt": "2026-12-02T10:00:00.000Z", "organizationId": "org-1",
                                   "webhookTimestamp": int(time.time() * 1000), "webhookId": "webhook-1"}
        if updated_from is not None:
            payload["updatedFrom"] = updated_from
        return payload


def signed(payload: dict[str, Any], secret: str) -> tuple[bytes, dict[str, str]]:
    """A delivery's body and headers, signed as Linear signs them."""
    body = json.dumps(payload).encode()
    return body, {"Content-Type": "application/json; charset=utf-8", "Linear-Event": payload.get("type", "Issue"),
                  "Linear-Delivery": str(uuid.uuid4()),
                  "Linear-Signature": hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()}


async def until(predicate: Callable[[], Any], timeout: float = 60.0) -> Any:
    """Poll ``predicate()`` (a value or a coroutine) until it is truthy; its value."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return value
        await asyncio.sleep(0.1)
    raise AssertionError("condition not reached in time")


def _operation(document: str) -> str:
    words = document.replace("(", " ").replace("{", " ").split()
    return words[1] if len(words) > 1 and words[0] in ("query", "mutation") else ""

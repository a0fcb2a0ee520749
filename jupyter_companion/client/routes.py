"""The REST routes of API.md, written once for the sync and the async client.

:class:`Routes` builds every call and hands it to ``_call``; the sync client returns the decoded
JSON, the async client returns an awaitable of it. Methods that need more than one request or a
stream (create with progress, follow a turn) live in each client.
"""

from __future__ import annotations

import urllib.parse
import uuid
from abc import ABC, abstractmethod
from typing import Any, Generic, TypeVar

from .discovery import ServerInfo, discover

R = TypeVar("R")

API_PREFIX = "companion/api/"
WS_PREFIX = "companion/ws/sessions/"


def quote(part: str) -> str:
    """Quote one path segment (a session or request id)."""
    return urllib.parse.quote(str(part), safe="")


def new_client_msg_id() -> str:
    """A fresh idempotency key for a command."""
    return uuid.uuid4().hex


def session_body(
    backend: str = "claude",
    *,
    cwd: str | None = None,
    model: str | None = None,
    permission_mode: str | None = None,
    name: str | None = None,
    branch: str | None = None,
    create_branch: bool | None = None,
    worktree: bool | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """The JSON body of ``POST sessions``; ``None`` values are left out."""
    body: dict[str, Any] = {"backend": backend}
    fields = {
        "cwd": cwd,
        "model": model,
        "permission_mode": permission_mode,
        "name": name,
        "branch": branch,
        "create_branch": create_branch,
        "worktree": worktree,
        **extra,
    }
    body.update({k: v for k, v in fields.items() if v is not None})
    return body


def resolve_session_ref(sessions: list[dict[str, Any]], ref: str) -> str:
    """The id of the session ``ref`` names: an exact id, an exact name, or a unique id prefix.

    Raises ``LookupError`` with a readable message when nothing or more than one session matches.
    """
    ids = [str(s.get("id")) for s in sessions]
    if ref in ids:
        return ref
    by_name = [str(s.get("id")) for s in sessions if s.get("name") == ref]
    if len(by_name) == 1:
        return by_name[0]
    prefixed = [i for i in ids if i.startswith(ref)]
    if len(prefixed) == 1:
        return prefixed[0]
    if len(prefixed) > 1 or len(by_name) > 1:
        raise LookupError(f"{ref!r} matches several sessions: {', '.join(sorted(set(prefixed + by_name)))}")
    raise LookupError(f"no session {ref!r}")


class Routes(ABC, Generic[R]):
    """One method per REST route of API.md, for the server found by :func:`discover`."""

    def __init__(
        self,
        url: str | None = None,
        token: str | None = None,
        *,
        server: ServerInfo | None = None,
        timeout: float = 60.0,
    ) -> None:
        self.server = server or discover(url, token)
        self.timeout = timeout

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.server.url!r})"

    @abstractmethod
    def _call(
        self,
        method: str,
        path: str,
        body: dict[str, Any] | None = None,
        query: dict[str, Any] | None = None,
        key: str | None = None,
    ) -> R:
        """Perform ``method API_PREFIX+path``; answer the decoded JSON (or its ``key`` field)."""

    def status(self) -> R:
        """``GET status``: version, backends and plugins."""
        return self._call("GET", "status")

    def backends(self) -> R:
        """``GET backends``: the list of backends with their models."""
        return self._call("GET", "backends", key="backends")

    def conversations(self, backend: str = "claude", cwd: str | None = None, limit: int | None = None) -> R:
        """``GET backends/{name}/conversations``: earlier conversations to continue (``--resume``)."""
        query: dict[str, Any] = {}
        if cwd is not None:
            query["cwd"] = cwd
        if limit is not None:
            query["limit"] = limit
        return self._call("GET", f"backends/{quote(backend)}/conversations", query=query or None,
                          key="conversations")

    def plugins(self) -> R:
        """``GET plugins``: loaded plugins and their health."""
        return self._call("GET", "plugins", key="plugins")

    def list_sessions(self, archived: bool | str = False) -> R:
        """``GET sessions``: the list of sessions (``archived`` True, False or ``"all"``)."""
        value = archived if isinstance(archived, str) else ("true" if archived else "false")
        return self._call("GET", "sessions", query={"archived": value}, key="sessions")

    def get_session(self, session_id: str) -> R:
        """``GET sessions/{id}``: one session object."""
        return self._call("GET", f"sessions/{quote(session_id)}")

    def rename_session(self, session_id: str, name: str) -> R:
        """``PATCH sessions/{id}`` with a new name."""
        return self._call("PATCH", f"sessions/{quote(session_id)}", body={"name": name})

    def delete_session(self, session_id: str) -> R:
        """``DELETE sessions/{id}``: stop the CLI and remove the session."""
        return self._call("DELETE", f"sessions/{quote(session_id)}")

    def _action(self, session_id: str, action: str) -> R:
        return self._call("POST", f"sessions/{quote(session_id)}/{action}", body={})

    def kill_session(self, session_id: str) -> R:
        """``POST sessions/{id}/kill``."""
        return self._action(session_id, "kill")

    def relaunch_session(self, session_id: str) -> R:
        """``POST sessions/{id}/relaunch``."""
        return self._action(session_id, "relaunch")

    def export_session(self, session_id: str, fmt: str = "ipynb") -> R:
        """``POST sessions/{id}/export``: save the conversation (``ipynb`` or ``markdown``) as a new
        file in the session's folder; answers ``{file, path}`` (``path`` relative to the server root)."""
        return self._call("POST", f"sessions/{quote(session_id)}/export", body={"format": fmt})

    def archive_session(self, session_id: str) -> R:
        """``POST sessions/{id}/archive``."""
        return self._action(session_id, "archive")

    def unarchive_session(self, session_id: str) -> R:
        """``POST sessions/{id}/unarchive``."""
        return self._action(session_id, "unarchive")

    def interrupt(self, session_id: str) -> R:
        """``POST sessions/{id}/interrupt``: stop the running turn."""
        return self._action(session_id, "interrupt")

    def send_message(
        self,
        session_id: str,
        content: str,
        *,
        images: list[dict[str, str]] | None = None,
        client_msg_id: str | None = None,
    ) -> R:
        """``POST sessions/{id}/messages``; ``client_msg_id`` defaults to a fresh uuid."""
        body: dict[str, Any] = {"content": content, "client_msg_id": client_msg_id or new_client_msg_id()}
        if images:
            body["images"] = images
        return self._call("POST", f"sessions/{quote(session_id)}/messages", body=body)

    def retry_prompt(self, session_id: str, *, client_msg_id: str | None = None) -> R:
        """``POST sessions/{id}/retry``: send the last prompt again (after the CLI died mid-answer)."""
        body = {"client_msg_id": client_msg_id or new_client_msg_id()}
        return self._call("POST", f"sessions/{quote(session_id)}/retry", body=body)

    def respond_permission(
        self,
        session_id: str,
        request_id: str,
        behavior: str,
        *,
        updated_input: dict[str, Any] | None = None,
        message: str | None = None,
        client_msg_id: str | None = None,
    ) -> R:
        """``POST sessions/{id}/permissions/{request_id}`` with ``allow`` or ``deny``."""
        if behavior not in ("allow", "deny"):
            raise ValueError("behavior must be 'allow' or 'deny'")
        body: dict[str, Any] = {"behavior": behavior, "client_msg_id": client_msg_id or new_client_msg_id()}
        if updated_input is not None:
            body["updated_input"] = updated_input
        if message is not None:
            body["message"] = message
        return self._call("POST", f"sessions/{quote(session_id)}/permissions/{quote(request_id)}", body=body)

    def events(self, session_id: str, after: int = 0, limit: int | None = None) -> R:
        """``GET sessions/{id}/events``: ``{events, last_seq}`` with ``seq > after``."""
        query: dict[str, Any] = {"after": after}
        if limit is not None:
            query["limit"] = limit
        return self._call("GET", f"sessions/{quote(session_id)}/events", query=query)

    # -- agents, runs, saved prompts -------------------------------------------------------------

    def list_agents(self) -> R:
        """``GET agents``: every agent (never its webhook secret)."""
        return self._call("GET", "agents", key="agents")

    def create_agent(self, body: dict[str, Any]) -> R:
        """``POST agents``: a new agent; the answer holds its ``webhook_secret`` this once."""
        return self._call("POST", "agents", body=body)

    def run_agent(self, agent_id: str, run_input: str | None = None) -> R:
        """``POST agents/{id}/run``: run it now (with ``input`` in place of ``{{input}}``)."""
        body = {"input": run_input} if run_input is not None else {}
        return self._call("POST", f"agents/{quote(agent_id)}/run", body=body)

    def list_recordings(self, session_id: str | None = None) -> R:
        """``GET recordings``: the CLI protocol recordings (``[{id, session_id, backend, ...}]``)."""
        return self._call("GET", "recordings", query={"session_id": session_id} if session_id else None,
                          key="recordings")

    def list_runs(self, agent_id: str | None = None, status: str | None = None, trigger: str | None = None,
                  limit: int | None = None, offset: int | None = None) -> R:
        """``GET runs``: ``{runs, total}``, newest first."""
        query = {k: v for k, v in {"agent_id": agent_id, "status": status, "trigger": trigger, "limit": limit,
                                   "offset": offset}.items() if v is not None}
        return self._call("GET", "runs", query=query or None)

    def get_run(self, run_id: str) -> R:
        """``GET runs/{id}``: one run."""
        return self._call("GET", f"runs/{quote(run_id)}")

    def list_prompts(self) -> R:
        """``GET prompts``: the saved prompts."""
        return self._call("GET", "prompts", key="prompts")


def resolve_agent_ref(agents: list[dict[str, Any]], ref: str) -> dict[str, Any]:
    """The agent ``ref`` names: an exact id or name, or a unique id prefix (LookupError otherwise)."""
    for key in ("id", "name"):
        exact = [a for a in agents if a.get(key) == ref]
        if len(exact) == 1:
            return exact[0]
    prefixed = [a for a in agents if str(a.get("id", "")).startswith(ref)]
    if len(prefixed) == 1:
        return prefixed[0]
    if prefixed:
        raise LookupError(f"{ref!r} matches several agents: {', '.join(sorted(str(a['id']) for a in prefixed))}")
    raise LookupError(f"no agent {ref!r}")

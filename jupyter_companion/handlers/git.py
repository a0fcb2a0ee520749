"""REST handlers for git: repository info, branches, worktrees, and a session's changes, diffs,
commits and pull-request status.

Routes (relative to ``base_url``), built by :func:`git_handlers`::

    GET companion/api/git/info?path=             {git: repo info | null}
    GET companion/api/git/branches?path=         {current, default_branch, local: [...], remote: [...]}
    GET companion/api/git/worktrees?path=        {worktrees: [...]}
    GET companion/api/sessions/{id}/changes?base=head|default
    GET companion/api/sessions/{id}/diff?file=...&base=head|default
    GET companion/api/sessions/{id}/commits?limit=20
    GET companion/api/sessions/{id}/pr

``path`` is relative to the server's root folder (or absolute inside it, symlinks resolved; ``~``
is not expanded), and only a repository whose working tree lies inside that root counts. A
session's folder and the folder its repository must lie in come from
``get_session_folder(session_id)`` (None -> 404). Every error is a JSON ``{error}`` with a 4xx
status (502 when ``gh`` fails).
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import tornado.web
from jupyter_server.auth.decorator import authorized
from jupyter_server.base.handlers import APIHandler

from ..errors import ApiError
from ..gitops import (
    GitError,
    branches,
    changed_files,
    confine,
    file_diff,
    pr_status,
    recent_commits,
    repo_info,
    worktrees,
)
from .base import refuse_cross_site_get, write_json_error

#: ``(folder, ceiling)`` of a session, or None when unknown (may be awaitable; may raise ApiError).
SessionFolder = Callable[[str], "tuple[str, str | None] | None | Awaitable[tuple[str, str | None] | None]"]

#: Accepted spellings of the diff base (the original product used the long ones).
BASES = {"head": "head", "last-commit": "head", "default": "default", "default-branch": "default"}


class _GitHandler(APIHandler):
    """Common plumbing: authorization resource, confinement, off-loop git calls, JSON errors."""

    auth_resource = "companion"

    def initialize(self, get_session_folder: SessionFolder | None = None, **kwargs: Any) -> None:
        super().initialize(**kwargs)
        self._get_session_folder = get_session_folder

    async def prepare(self, *args: Any, **kwargs: Any) -> None:
        """Jupyter's own checks, then no cross-site GET (these routes run git and ``gh``)."""
        await super().prepare(*args, **kwargs)
        refuse_cross_site_get(self)

    @property
    def root_dir(self) -> str:
        root = self.settings.get("server_root_dir")
        if not root and self.serverapp is not None:
            root = self.serverapp.root_dir
        return str(root or ".")

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        """Errors raised before or outside :meth:`fail` (405, 403, a bug) are ``{error}`` too."""
        write_json_error(self, status_code, kwargs.get("exc_info"))

    def fail(self, status: int, message: str) -> None:
        """Answer ``{error: message}`` with ``status``."""
        self.set_status(status)
        self.finish({"error": message})

    async def run(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Run a blocking git helper in a worker thread; GitError -> JSON error (returns None)."""
        try:
            return await asyncio.to_thread(fn, *args, **kwargs)
        except GitError as exc:
            self.fail(exc.status, exc.message)
            return None

    async def path_arg(self) -> Path | None:
        """The ``path`` query argument confined to the server root; None after an error answer."""
        raw = self.get_query_argument("path", "")

        def resolve() -> Path:
            folder = confine(self.root_dir, raw)
            if not folder.exists():
                raise GitError(f"path {raw!r} does not exist", status=404)
            return folder

        result: Path | None = await self.run(resolve)
        return result

    async def session_folder(self, session_id: str) -> tuple[str, str | None] | None:
        """The session's ``(folder, ceiling)``; None (after a 404 or 403 answer) otherwise."""
        found: Any = None
        if self._get_session_folder is not None:
            try:
                found = self._get_session_folder(session_id)
                if inspect.isawaitable(found):
                    found = await found
            except KeyError:
                found = None
            except ApiError as exc:
                self.fail(exc.status, exc.message)
                return None
        if not found:
            self.fail(404, f"unknown session {session_id!r}")
            return None
        return str(found[0]), found[1]

    def base_arg(self) -> str | None:
        """The ``base`` query argument (head or default); None after a 400 answer."""
        raw = self.get_query_argument("base", "head")
        base = BASES.get(raw)
        if base is None:
            self.fail(400, f"invalid base {raw!r}: expected 'head' or 'default'")
        return base


class GitInfoHandler(_GitHandler):
    """``GET git/info?path=``: repository facts for a folder, ``git: null`` outside a repository."""

    @tornado.web.authenticated
    @authorized
    async def get(self) -> None:
        folder = await self.path_arg()
        if folder is None:
            return
        info = await self.run(repo_info, folder, self.root_dir)
        if not self._finished:
            self.finish({"path": str(folder), "git": info})


class GitBranchesHandler(_GitHandler):
    """``GET git/branches?path=``: local branches with ahead/behind and remote-only branches."""

    @tornado.web.authenticated
    @authorized
    async def get(self) -> None:
        folder = await self.path_arg()
        if folder is None:
            return
        result = await self.run(branches, folder, self.root_dir)
        if result is not None:
            self.finish(result)


class GitWorktreesHandler(_GitHandler):
    """``GET git/worktrees?path=``: the repository's worktrees (main first) with a dirty flag."""

    @tornado.web.authenticated
    @authorized
    async def get(self) -> None:
        folder = await self.path_arg()
        if folder is None:
            return
        result = await self.run(worktrees, folder, ceiling=self.root_dir)
        if result is not None:
            self.finish({"worktrees": result})


class SessionChangesHandler(_GitHandler):
    """``GET sessions/{id}/changes?base=``: changed files of the session's working tree."""

    @tornado.web.authenticated
    @authorized
    async def get(self, session_id: str) -> None:
        base = self.base_arg()
        found = await self.session_folder(session_id) if base else None
        if base is None or found is None:
            return
        result = await self.run(changed_files, found[0], base, ceiling=found[1])
        if result is not None:
            self.finish(result)


class SessionDiffHandler(_GitHandler):
    """``GET sessions/{id}/diff?file=&base=``: unified diff of one file (untracked = new file)."""

    @tornado.web.authenticated
    @authorized
    async def get(self, session_id: str) -> None:
        base = self.base_arg()
        if base is None:
            return
        file = self.get_query_argument("file", "")
        if not file:
            self.fail(400, "the 'file' query argument is required")
            return
        found = await self.session_folder(session_id)
        if found is None:
            return
        result = await self.run(file_diff, found[0], file, base, ceiling=found[1])
        if result is not None:
            self.finish(result)


class SessionCommitsHandler(_GitHandler):
    """``GET sessions/{id}/commits?limit=``: recent commits of the session's branch (1..500)."""

    @tornado.web.authenticated
    @authorized
    async def get(self, session_id: str) -> None:
        raw = self.get_query_argument("limit", "20")
        try:
            limit = int(raw)
        except ValueError:
            self.fail(400, f"invalid limit {raw!r}: expected an integer")
            return
        found = await self.session_folder(session_id)
        if found is None:
            return
        result = await self.run(recent_commits, found[0], limit, ceiling=found[1])
        if result is not None:
            self.finish({"commits": result})


class SessionPRHandler(_GitHandler):
    """``GET sessions/{id}/pr``: pull-request status of the session's branch through ``gh``."""

    @tornado.web.authenticated
    @authorized
    async def get(self, session_id: str) -> None:
        found = await self.session_folder(session_id)
        if found is None:
            return
        info = await self.run(repo_info, *found)
        if self._finished:
            return
        if info is None:
            self.finish({"available": False, "reason": "the session folder is not a git repository"})
            return
        if info["branch"] is None:
            self.finish({"available": False, "reason": "HEAD is detached: no branch to look up"})
            return
        try:
            status = await pr_status(info["repo_root"], info["branch"])
        except GitError as exc:
            self.fail(exc.status, exc.message)
            return
        self.finish(status)


def git_handlers(get_session_folder: SessionFolder) -> list[tuple[str, type[APIHandler], dict[str, Any]]]:
    """The git routes as ``(pattern, handler, kwargs)`` tuples, patterns relative to ``base_url``.

    ``get_session_folder(session_id)`` returns the session's ``(folder, ceiling)`` (or an
    awaitable of it), None or raises KeyError for an unknown session; ``ceiling`` is the folder
    its repository must lie in (None: any).
    """
    kwargs = {"get_session_folder": get_session_folder}
    session = r"/companion/api/sessions/(?P<session_id>[^/]+)"
    return [
        (r"/companion/api/git/info", GitInfoHandler, kwargs),
        (r"/companion/api/git/branches", GitBranchesHandler, kwargs),
        (r"/companion/api/git/worktrees", GitWorktreesHandler, kwargs),
        (session + "/changes", SessionChangesHandler, kwargs),
        (session + "/diff", SessionDiffHandler, kwargs),
        (session + "/commits", SessionCommitsHandler, kwargs),
        (session + "/pr", SessionPRHandler, kwargs),
    ]

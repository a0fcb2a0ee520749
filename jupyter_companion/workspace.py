"""A session's workspace: git preparation at creation, git facts, worktree release.

Glue between the orchestrator and :mod:`jupyter_companion.gitops`; the worktree tracker lives in
the store (``worktrees`` table).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .errors import ApiError
from .gitops.errors import DirtyWorktreeError, GitError
from .gitops.info import is_dirty, repo_info
from .gitops.pr import PRPoller
from .gitops.workspace import prepare_workspace, remove_worktree

if TYPE_CHECKING:
    from .sessions.orchestrator import Orchestrator
    from .sessions.session import Session

_SUMMARY_KEYS = ("branch", "is_worktree", "repo_root", "ahead", "behind", "default_branch", "head", "upstream")


async def git_summary(cwd: str) -> dict[str, Any] | None:
    """The ``git`` field of a session object, or None outside a repository."""
    info = await asyncio.to_thread(repo_info, cwd)
    if info is None:
        return None
    return {k: info.get(k) for k in _SUMMARY_KEYS}


async def prepare(
    orch: Orchestrator, session_id: str, cwd: str, opts: dict[str, Any], progress: Callable[..., None]
) -> dict[str, Any]:
    """Fetch / check out / create a branch or a worktree; returns the session's ``cwd`` and worktree."""
    worktrees_dir = orch.config.worktrees_dir or os.path.join(orch.state_root, "worktrees")
    try:
        result = await prepare_workspace(
            orch.containing_root(cwd),
            cwd,
            branch=opts.get("branch"),
            create_branch=bool(opts.get("create_branch")),
            worktree=bool(opts.get("worktree")),
            worktrees_dir=worktrees_dir,
            session_id=session_id,
            progress=progress,
        )
    except GitError as exc:
        raise ApiError(exc.status, exc.message) from exc
    out: dict[str, Any] = {"cwd": result.cwd}
    if result.worktree_path:
        worktree = {
            "path": result.worktree_path,
            "repo_root": result.repo_root,
            "branch": result.branch,
            "temp_branch": result.temp_branch,
        }
        orch.store.save_worktree(session_id, str(result.repo_root), result.worktree_path, result.branch, result.temp_branch)
        out["worktree"] = worktree
    return out


def _in_use_elsewhere(orch: Orchestrator, session: Session, path: str) -> bool:
    return any(
        other is not session and not other.archived and (other.info.get("worktree") or {}).get("path") == path
        for other in orch.sessions.values()
    )


def _exists_and_dirty(path: str) -> bool:
    return os.path.isdir(path) and is_dirty(path)


async def check_releasable(orch: Orchestrator, session: Session) -> None:
    """Refuse (409) before anything is stopped when archiving would discard uncommitted work."""
    worktree = session.info.get("worktree")
    if not worktree or _in_use_elsewhere(orch, session, worktree["path"]):
        return
    if await asyncio.to_thread(_exists_and_dirty, worktree["path"]):
        raise ApiError(409, "the session's worktree has uncommitted changes. Archive with force=true to discard them.",
                       dirty=True)


async def release(orch: Orchestrator, session: Session, *, force: bool, deleting: bool) -> dict[str, Any]:
    """Remove the session's worktree unless another session uses it; refuse a dirty one unless forced."""
    worktree = session.info.get("worktree")
    if not worktree:
        return {}
    in_use = _in_use_elsewhere(orch, session, worktree["path"])
    try:
        result = await remove_worktree(
            worktree["repo_root"], worktree["path"], force=force or deleting,
            delete_branch=worktree.get("temp_branch"), in_use=in_use,
        )
    except DirtyWorktreeError as exc:
        raise ApiError(409, f"{exc}. Archive with force=true to discard them.", dirty=True) from exc
    except GitError as exc:
        if not deleting:
            raise ApiError(exc.status, exc.message) from exc
        result = {"removed": False, "detail": str(exc)}
    orch.store.forget_worktree(session.id)
    return {"worktree": result}


class GitTracker:
    """Keeps each session's ``git`` and ``pr`` fields fresh (after creation and after every turn)."""

    def __init__(self, pr_interval: float = 60.0):
        self.pr_interval = pr_interval
        self.pollers: dict[str, PRPoller] = {}

    async def refresh(self, session: Session) -> None:
        """Recompute the git summary; follow the branch's pull request when there is one."""
        try:
            info = await git_summary(session.cwd)
        except Exception:  # a broken repository must not break the session
            info = None
        if info != session.info.get("git"):
            session.update({"git": info})
        if not info or not info.get("branch") or self.pr_interval <= 0:
            return
        poller = self.pollers.get(session.id)
        if poller is None:
            def publish(status: dict[str, Any], session: Session = session) -> None:
                session.update({"pr": status})

            poller = PRPoller(info["repo_root"], info["branch"], publish, interval=self.pr_interval)
            self.pollers[session.id] = poller
            poller.start()
        else:
            poller.set_branch(info["branch"])
            poller.refresh()

    async def forget(self, session_id: str) -> None:
        """Stop following a session's pull request."""
        poller = self.pollers.pop(session_id, None)
        if poller is not None:
            await poller.stop()

    async def stop(self) -> None:
        """Stop every poller."""
        for session_id in list(self.pollers):
            await self.forget(session_id)

"""A session's git workspace: a branch or a worktree prepared at creation, released at archive/delete.

Glue between the orchestrator and :mod:`jupyter_companion.gitops`; which session owns which
worktree is kept in the store (``worktrees`` table).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..errors import ApiError
from ..gitops.errors import DirtyWorktreeError, GitError
from ..gitops.info import is_dirty
from ..gitops.workspace import prepare_workspace, remove_worktree

if TYPE_CHECKING:
    from .orchestrator import Orchestrator
    from .session import Session


async def prepare(
    orch: Orchestrator, session_id: str, cwd: str, opts: dict[str, Any], progress: Callable[..., None]
) -> dict[str, Any]:
    """Fetch / check out / create a branch or a worktree; returns the session's ``cwd`` and worktree."""
    worktrees_dir = orch.config.worktrees_dir or os.path.join(orch.state_root, "worktrees")
    try:
        result = await prepare_workspace(
            orch.folders.containing_root(cwd),
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

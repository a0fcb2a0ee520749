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
from ..gitops.workspace import prepare_workspace, readd_worktree, remove_worktree

if TYPE_CHECKING:
    from .orchestrator import Orchestrator
    from .session import Session


async def prepare(
    orch: Orchestrator, session_id: str, cwd: str, opts: dict[str, Any], progress: Callable[..., None]
) -> dict[str, Any]:
    """Fetch / check out / create a branch or a worktree; returns the session's ``cwd`` and worktree."""
    try:
        result = await prepare_workspace(
            orch.folders.containing_root(cwd),
            cwd,
            branch=opts.get("branch"),
            create_branch=bool(opts.get("create_branch")),
            worktree=bool(opts.get("worktree")),
            worktrees_dir=orch.config.worktrees_dir or None,
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


async def release(orch: Orchestrator, session: Session, *, force: bool, deleting: bool) -> dict[str, Any]:
    """Remove the session's worktree, unless another session uses it or (when archiving without
    ``force``) it holds uncommitted or untracked changes: then it is kept, and the answer says
    where. Returns ``{"worktree": {cleaned, dirty, path, ...}}`` ({} without a worktree)."""
    worktree = session.info.get("worktree")
    if not worktree:
        return {}
    path = worktree["path"]
    in_use = _in_use_elsewhere(orch, session, path)
    dirty = await asyncio.to_thread(_exists_and_dirty, path)
    if dirty and not (force or deleting or in_use):
        return _kept(session, worktree, "the worktree has uncommitted changes: kept (archive with force=true "
                                        "to discard them)")
    try:
        result = await remove_worktree(
            worktree["repo_root"], path, force=force or deleting,
            delete_branch=worktree.get("temp_branch"), in_use=in_use,
        )
    except DirtyWorktreeError:  # changed since the check above
        return _kept(session, worktree, "the worktree has uncommitted changes: kept")
    except GitError as exc:
        if not deleting:
            raise ApiError(exc.status, exc.message) from exc
        result = {"removed": False, "path": path, "detail": str(exc)}
    if result.get("removed"):
        orch.store.forget_worktree(session.id)
    if not deleting:
        session.update({"worktree": {**worktree, "removed": bool(result.get("removed")), "dirty": dirty}})
    return {"worktree": {**result, "cleaned": bool(result.get("removed")), "dirty": dirty, "path": path}}


def _kept(session: Session, worktree: dict[str, Any], detail: str) -> dict[str, Any]:
    """Keep a dirty worktree where it is (the store still tracks it: delete removes it)."""
    session.update({"worktree": {**worktree, "removed": False, "dirty": True}})
    return {"worktree": {"cleaned": False, "dirty": True, "removed": False, "kept": True, "path": worktree["path"],
                         "branch": worktree.get("branch"), "branch_deleted": False, "detail": detail}}


async def restore(orch: Orchestrator, session: Session) -> dict[str, Any]:
    """Bring back the worktree an archive removed (same folder, same branch), so an unarchived
    session continues where it was. ``{}`` when there is nothing to restore."""
    worktree = session.info.get("worktree")
    if not worktree or not worktree.get("removed"):
        return {}
    try:
        detail = await readd_worktree(worktree["repo_root"], worktree["path"], str(worktree.get("branch")))
    except GitError as exc:
        raise ApiError(exc.status, f"cannot bring back the session's worktree: {exc.message}") from exc
    orch.store.save_worktree(session.id, worktree["repo_root"], worktree["path"], worktree.get("branch"),
                             worktree.get("temp_branch"))
    session.update({"worktree": {**worktree, "removed": False, "dirty": False}})
    return {"worktree": {"restored": True, "path": worktree["path"], "detail": detail}}

"""Preparing a session's workspace (fetch, branch, pull, or a fresh worktree) and removing it.

Persistence is not done here: the orchestrator stores what :func:`prepare_workspace` returns
(session id -> worktree path, repository root, temporary branch) and later calls
:func:`remove_worktree` with it.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from .errors import DirtyWorktreeError, GitError, NotARepositoryError, PathOutsideRootError
from .info import (
    checked_out_branches,
    current_branch,
    default_base_ref,
    default_remote,
    head_commit,
    is_dirty,
    parse_worktree_list,
    ref_exists,
    repo_info,
    validate_branch_name,
)
from .paths import confine, is_within
from .runner import NETWORK_TIMEOUT, run_git
from .worktree_location import keep_out_of_status, slug, worktree_parent

#: ``progress(step, label, status, detail=None)``; status is in_progress, done or error.
ProgressFn = Callable[..., None]

_LOCKS: dict[tuple[int, str], asyncio.Lock] = {}


def _repo_lock(repo_root: str | os.PathLike[str]) -> asyncio.Lock:
    """One lock per repository (and event loop) so concurrent session creations pick distinct names."""
    key = (id(asyncio.get_running_loop()), os.path.normpath(os.fspath(repo_root)))
    lock = _LOCKS.get(key)
    if lock is None:
        lock = _LOCKS[key] = asyncio.Lock()
    return lock


@dataclass
class WorkspaceResult:
    """Where a session runs after :func:`prepare_workspace`.

    ``cwd``: the folder for the CLI (inside the worktree for a worktree session). ``branch``: the
    branch actually checked out there. ``repo_root``: the main working tree of the repository.
    ``worktree_path``/``temp_branch``: set for a worktree session (``temp_branch`` only when the
    requested branch was checked out elsewhere and ``<branch>-wt-<n>`` was created instead).
    """

    cwd: str
    branch: str | None
    repo_root: str | None
    worktree_path: str | None = None
    temp_branch: str | None = None
    requested_branch: str | None = None
    created_branch: bool = False

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict; unset optional fields are left out."""
        return {k: v for k, v in asdict(self).items() if v is not None}


class _Steps:
    """Reports each step to the progress callback and turns a failure into an ``error`` line."""

    def __init__(self, progress: ProgressFn | None) -> None:
        self._progress = progress

    def emit(self, step: str, label: str, status: str, detail: str | None = None) -> None:
        if self._progress is not None:
            self._progress(step, label, status, detail)

    async def run(self, step: str, label: str, fn: Callable[[], Any]) -> Any:
        self.emit(step, label, "in_progress")
        try:
            value = await asyncio.to_thread(fn)
        except GitError as exc:
            self.emit(step, label, "error", exc.message)
            raise
        detail = value[0] if isinstance(value, tuple) else value
        self.emit(step, label, "done", detail if isinstance(detail, str) else None)
        return value


def _fetch(root: Path) -> str | None:
    remote = default_remote(root)
    if remote is None:
        return "no remote configured"
    try:
        # --upload-pack: never the command a repository's config names for its remote
        result = run_git(["fetch", "--prune", "--quiet", "--upload-pack=git-upload-pack", remote], root,
                         check=False, timeout=NETWORK_TIMEOUT)
    except GitError as exc:  # timeout: offline is not fatal
        return f"fetch from {remote} failed, continuing with local refs: {exc.message}"
    if not result.ok:
        return f"fetch from {remote} failed, continuing with local refs: {result.error_text()}"
    return None


def _pull(folder: Path) -> str | None:
    """Fast-forward the checked-out branch to its (just fetched) upstream; never fatal."""
    if head_commit(folder) is None:
        return "nothing to pull on an unborn branch"
    upstream = run_git(
        ["rev-parse", "--abbrev-ref", "--symbolic-full-name", "@{upstream}"], folder, check=False
    )
    if not upstream.ok:
        return "no upstream branch; nothing to pull"
    result = run_git(["merge", "--ff-only", "--quiet", "@{upstream}"], folder, check=False)
    if not result.ok:
        return f"not fast-forwarded to {upstream.stdout.strip()}: {result.error_text()}"
    return None


def _start_commit(root: Path, start_point: str | None) -> str | None:
    """Commit a new branch starts from: ``start_point``, else the default branch, else HEAD."""
    if start_point is not None:
        if start_point.startswith("-"):
            raise GitError(f"invalid start point {start_point!r}")
        commit = head_commit(root, start_point)
        if commit is None:
            raise GitError(f"start point {start_point!r} does not exist", status=404)
        return commit
    ref = default_base_ref(root)
    return (head_commit(root, ref) if ref else None) or head_commit(root)


def _checkout(root: Path, branch: str, create: bool, start_point: str | None) -> tuple[str, bool]:
    if current_branch(root) == branch:
        return f"already on {branch}", False
    remote = default_remote(root)
    if ref_exists(root, f"refs/heads/{branch}"):
        run_git(["checkout", "--quiet", branch, "--"], root)
        return f"switched to {branch}", False
    if remote and ref_exists(root, f"refs/remotes/{remote}/{branch}"):
        run_git(["checkout", "--quiet", "--track", "-b", branch, f"refs/remotes/{remote}/{branch}"], root)
        return f"created {branch} tracking {remote}/{branch}", True
    if not create:
        raise GitError(f"branch {branch!r} does not exist (ask to create it)", status=404)
    if head_commit(root) is None:  # empty repository: just rename the unborn branch
        run_git(["symbolic-ref", "HEAD", f"refs/heads/{branch}"], root)
        return f"created {branch} (no commits yet)", True
    start = _start_commit(root, start_point)
    assert start is not None
    run_git(["checkout", "--quiet", "--no-track", "-b", branch, start], root)
    return f"created {branch} at {start[:8]}", True




def _unique_branch(root: Path, stem: str) -> str:
    n = 1
    while ref_exists(root, f"refs/heads/{stem}-{n}"):
        n += 1
    return f"{stem}-{n}"


def _unique_folder(parent: Path, stem: str) -> Path:
    candidate, n = parent / stem, 2
    while candidate.exists():
        candidate, n = parent / f"{stem}-{n}", n + 1
    return candidate


@dataclass
class _Worktree:
    path: Path
    branch: str
    temp_branch: str | None
    created: bool


def _create_worktree(
    main_root: Path,
    parent: Path,
    branch: str,
    create: bool,
    session_id: str,
    start_point: str | None,
) -> tuple[str, _Worktree]:
    if head_commit(main_root) is None and not ref_exists(main_root, f"refs/heads/{branch}"):
        raise GitError("the repository has no commits yet; a worktree needs at least one", status=409)
    parent.mkdir(parents=True, exist_ok=True)
    keep_out_of_status(main_root, parent)
    folder = _unique_folder(parent, f"{slug(branch.replace('/', '-'))}-{slug(session_id)[:8]}")
    remote = default_remote(main_root)
    checked = checked_out_branches(main_root)
    try:
        if branch in checked:
            commit = head_commit(main_root, f"refs/heads/{branch}")
            assert commit is not None
            temp = _unique_branch(main_root, f"{branch}-wt")
            run_git(["worktree", "add", "--quiet", "-b", temp, str(folder), commit], main_root)
            wt = _Worktree(folder, temp, temp, True)
            detail = f"{branch} is checked out in {checked[branch]}; created {temp} at the same commit"
        elif ref_exists(main_root, f"refs/heads/{branch}"):
            run_git(["worktree", "add", "--quiet", str(folder), branch], main_root)
            wt, detail = _Worktree(folder, branch, None, False), f"checked out {branch}"
        elif remote and ref_exists(main_root, f"refs/remotes/{remote}/{branch}"):
            run_git(
                [
                    "worktree",
                    "add",
                    "--quiet",
                    "--track",
                    "-b",
                    branch,
                    str(folder),
                    f"refs/remotes/{remote}/{branch}",
                ],
                main_root,
            )
            wt, detail = _Worktree(folder, branch, None, True), f"created {branch} tracking {remote}/{branch}"
        elif create:
            start = _start_commit(main_root, start_point)
            assert start is not None
            run_git(["worktree", "add", "--quiet", "-b", branch, str(folder), start], main_root)
            wt, detail = _Worktree(folder, branch, None, True), f"created {branch} at {start[:8]}"
        else:
            raise GitError(f"branch {branch!r} does not exist (ask to create it)", status=404)
    except GitError:
        _rmdir_if_empty(parent)
        raise
    return f"{detail} in {folder}", wt


def _rmdir_if_empty(folder: Path) -> None:
    try:
        folder.rmdir()
    except OSError:
        pass


def _inspect(
    root: str | os.PathLike[str], cwd: str | os.PathLike[str] | None, branch: str | None
) -> tuple[Path, dict[str, Any] | None]:
    folder = confine(root, cwd)
    if not folder.is_dir():
        raise GitError(f"folder {folder} does not exist", status=404)
    if branch is not None:
        validate_branch_name(branch)
    return folder, repo_info(folder)


def _inner_cwd(worktree: Path, folder: Path, work_root: Path) -> Path:
    """The same sub-folder of the new worktree as ``folder`` was of the original working tree,
    resolved; it must stay inside the worktree (the branch may make it a symlink elsewhere)."""
    inner = worktree / folder.relative_to(work_root)
    if not inner.is_dir():
        return worktree.resolve()
    real = inner.resolve()
    if not is_within(real, worktree.resolve()):
        raise PathOutsideRootError(f"in this branch {inner} is a link to {real}, outside the worktree")
    return real


def _still_inside(
    folder: Path, root: str | os.PathLike[str], branch: str, work_root: Path, previous: str | None
) -> Path:
    """``folder`` resolved after a checkout. When the branch made it point out of ``root``, the
    working tree goes back to ``previous`` and :class:`PathOutsideRootError` is raised."""
    real = folder.resolve()
    if is_within(real, Path(root).resolve()):
        return real
    back = ""
    if previous and previous != branch:
        restored = run_git(["checkout", "--quiet", previous, "--"], work_root, check=False)
        back = f"; switched back to {previous}" if restored.ok else f"; could not switch back to {previous}"
    raise PathOutsideRootError(
        f"on branch {branch} the folder {folder} is a link to {real}, outside the server's root folder{back}"
    )


async def prepare_workspace(
    root: str | os.PathLike[str],
    cwd: str | os.PathLike[str] | None,
    *,
    branch: str | None = None,
    create_branch: bool = False,
    worktree: bool = False,
    worktrees_dir: str | os.PathLike[str] | None = None,
    session_id: str = "",
    progress: ProgressFn | None = None,
    start_point: str | None = None,
) -> WorkspaceResult:
    """Get a session's folder ready: fetch, check out or create ``branch``, pull; or a worktree.

    ``cwd`` is confined to ``root``. Without ``branch`` and ``worktree`` nothing changes. Steps
    reported through ``progress``: ``fetching_git`` (failure is non-fatal, reported as the
    detail of a ``done``), then ``checkout_branch`` or ``creating_worktree`` (in
    ``<branch>-<short id>`` of the folder :func:`.worktree_location.worktree_parent` picks: beside
    the repository inside ``root`` unless ``worktrees_dir`` is given; a branch checked out elsewhere gets a unique
    ``<branch>-wt-<n>`` at the same commit), then ``pulling_git`` (fast-forward only, non-fatal).
    A new branch starts at ``start_point``, else the default branch (remote copy preferred),
    else HEAD, and tracks nothing. Raises :class:`GitError` (after an ``error`` progress line).
    """
    folder, info = await asyncio.to_thread(_inspect, root, cwd, branch)
    if info is None:
        if branch or worktree:
            raise NotARepositoryError(f"{folder} is not inside a git repository")
        return WorkspaceResult(cwd=str(folder), branch=None, repo_root=None)
    if not branch and not worktree:
        return WorkspaceResult(cwd=str(folder), branch=info["branch"], repo_root=info["repo_root"])
    work_root = Path(info["repo_root"])
    main_root = Path(info["main_repo_root"])
    target = branch or info["branch"]
    if target is None:
        raise GitError("HEAD is detached: choose a branch for the worktree", status=409)
    steps = _Steps(progress)
    async with _repo_lock(main_root):
        fetch_detail = await steps.run("fetching_git", "Fetching from remote", lambda: _fetch(work_root))
        del fetch_detail
        if not worktree:
            _, created = await steps.run(
                "checkout_branch",
                f"Checking out {target}",
                lambda: _checkout(work_root, target, create_branch, start_point),
            )
            await steps.run("pulling_git", "Pulling latest changes", lambda: _pull(work_root))
            previous = info["branch"] or info["head"]
            real = await asyncio.to_thread(_still_inside, folder, root, target, work_root, previous)
            return WorkspaceResult(
                cwd=str(real),
                branch=target,
                repo_root=str(work_root),
                requested_branch=target,
                created_branch=created,
            )
        parent = await asyncio.to_thread(worktree_parent, main_root, Path(root), worktrees_dir)
        _, wt = await steps.run(
            "creating_worktree",
            f"Creating a worktree for {target}",
            lambda: _create_worktree(main_root, parent, target, create_branch, session_id, start_point),
        )
    if wt.temp_branch is None:
        await steps.run("pulling_git", "Pulling latest changes", lambda: _pull(wt.path))
    try:
        inner = await asyncio.to_thread(_inner_cwd, wt.path, folder, work_root)
    except GitError:
        await remove_worktree(main_root, wt.path, force=True, delete_branch=wt.temp_branch)
        raise
    return WorkspaceResult(
        cwd=str(inner),
        branch=wt.branch,
        repo_root=str(main_root),
        worktree_path=str(wt.path),
        temp_branch=wt.temp_branch,
        requested_branch=target,
        created_branch=wt.created,
    )


def _remove_sync(
    repo_root: str | os.PathLike[str], path: str | os.PathLike[str], force: bool, delete_branch: str | None
) -> dict[str, Any]:
    folder = Path(path).expanduser().resolve()
    if delete_branch is not None:
        validate_branch_name(delete_branch)
    root = Path(repo_root).expanduser().resolve()
    if not root.is_dir():
        raise NotARepositoryError(f"repository {root} does not exist")
    entries = parse_worktree_list(run_git(["worktree", "list", "--porcelain"], root).stdout)
    if not entries:
        raise NotARepositoryError(f"{repo_root} is not a git repository")
    main = Path(entries[0]["path"]).resolve()
    if folder == main:
        raise GitError("refusing to remove the main working tree of the repository")
    linked = {Path(e["path"]).resolve(): e for e in entries[1:]}
    result: dict[str, Any] = {"removed": False, "path": str(folder), "branch_deleted": False}
    if folder not in linked:
        if folder.exists():
            raise GitError(f"{folder} is not a worktree of {main}", status=404)
        result["detail"] = "the worktree folder was already gone"
    else:
        if folder.exists() and not force and is_dirty(folder):
            raise DirtyWorktreeError(f"the worktree {folder} has uncommitted changes")
        if folder.exists():
            args = ["worktree", "remove", *(["--force", "--force"] if force else []), str(folder)]
            run_git(args, main)
        else:
            result["detail"] = "the worktree folder was already gone"
    run_git(["worktree", "prune"], main, check=False)
    result["removed"] = True
    _rmdir_if_empty(folder.parent)
    if delete_branch and ref_exists(main, f"refs/heads/{delete_branch}"):
        elsewhere = checked_out_branches(main).get(delete_branch)
        if elsewhere:
            result["branch_kept_reason"] = f"{delete_branch} is checked out in {elsewhere}"
        else:
            deleted = run_git(["branch", "-D" if force else "-d", delete_branch], main, check=False)
            if deleted.ok:
                result["branch_deleted"] = True
            else:
                result["branch_kept_reason"] = (
                    f"{delete_branch} has commits not merged: {deleted.error_text()}"
                )
    return result


async def remove_worktree(
    repo_root: str | os.PathLike[str],
    path: str | os.PathLike[str],
    *,
    force: bool = False,
    delete_branch: str | None = None,
    in_use: bool = False,
) -> dict[str, Any]:
    """Remove the linked worktree at ``path`` of the repository at ``repo_root``.

    ``in_use`` (another session still runs there) keeps it: ``{removed: False, kept: True}``. A
    dirty worktree raises :class:`DirtyWorktreeError` unless ``force``. A folder already deleted
    by hand is pruned. ``delete_branch`` (the temporary ``-wt-<n>`` branch) is then deleted:
    ``git branch -d`` (kept with ``branch_kept_reason`` when it has unmerged commits), ``-D`` when
    forced. Returns ``{removed, path, branch_deleted, detail?, branch_kept_reason?}``.
    """
    if in_use:
        return {
            "removed": False,
            "kept": True,
            "path": os.fspath(path),
            "branch_deleted": False,
            "detail": "the worktree is used by another session",
        }
    async with _repo_lock(repo_root):
        return await asyncio.to_thread(_remove_sync, repo_root, path, force, delete_branch)


def _readd_sync(repo_root: str, path: str, branch: str) -> str:
    folder = Path(path)
    if folder.is_dir():
        return f"{folder} is still there"
    validate_branch_name(branch)
    root = Path(repo_root).resolve()
    if not ref_exists(root, f"refs/heads/{branch}"):
        raise GitError(f"the branch {branch} of the removed worktree no longer exists", status=409)
    elsewhere = checked_out_branches(root).get(branch)
    if elsewhere:
        raise GitError(f"the branch {branch} is checked out in {elsewhere}", status=409)
    run_git(["worktree", "prune"], root, check=False)
    folder.parent.mkdir(parents=True, exist_ok=True)
    run_git(["worktree", "add", "--quiet", str(folder), branch], root)
    return f"checked out {branch} again in {folder}"


async def readd_worktree(repo_root: str, path: str, branch: str) -> str:
    """Create again, at the same ``path``, a worktree of ``branch`` that was removed (a session
    archived with its worktree cleaned up and now unarchived). Raises :class:`GitError` (409) when
    the branch is gone or checked out elsewhere; returns what was done."""
    async with _repo_lock(repo_root):
        return await asyncio.to_thread(_readd_sync, repo_root, path, branch)

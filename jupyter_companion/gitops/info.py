"""Read-only facts about a repository: identity, branches, worktrees, branch-name rules."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from .errors import InvalidBranchNameError, NotARepositoryError
from .runner import open_repo, run_git, work_root

_CONTROL = re.compile(r"[\x00-\x20\x7f]")


def validate_branch_name(name: object) -> str:
    """Return ``name`` when it is a safe, valid branch name; raise :class:`InvalidBranchNameError`.

    Refused: non-strings, empty names, a leading ``-`` (option injection), ``..``, spaces and
    control characters, ``HEAD``, anything ``git check-ref-format`` rejects for ``refs/heads/``.
    """
    if not isinstance(name, str) or not name:
        raise InvalidBranchNameError("branch name must be a non-empty string")
    if len(name) > 200:
        raise InvalidBranchNameError("branch name is too long (200 characters at most)")
    if name.startswith("-"):
        raise InvalidBranchNameError(f"invalid branch name {name!r}: it must not start with '-'")
    if ".." in name:
        raise InvalidBranchNameError(f"invalid branch name {name!r}: it must not contain '..'")
    if _CONTROL.search(name):
        raise InvalidBranchNameError(
            f"invalid branch name {name!r}: spaces and control characters are not allowed"
        )
    if name in ("HEAD", "@"):  # git reads both as the current commit, never as a branch
        raise InvalidBranchNameError(f"{name!r} is not a valid branch name")
    result = run_git(["check-ref-format", f"refs/heads/{name}"], cwd=os.sep, check=False)
    if not result.ok:
        raise InvalidBranchNameError(f"invalid branch name {name!r}: it breaks git's ref naming rules")
    return name


def current_branch(cwd: str | os.PathLike[str]) -> str | None:
    """Name of the checked-out branch (an unborn one included); None when HEAD is detached."""
    result = run_git(["symbolic-ref", "--quiet", "--short", "HEAD"], cwd, check=False)
    return result.stdout.strip() or None if result.ok else None


def head_commit(cwd: str | os.PathLike[str], rev: str = "HEAD") -> str | None:
    """Full hash ``rev`` points at, or None (unborn branch, unknown ref)."""
    result = run_git(["rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}"], cwd, check=False)
    return result.stdout.strip() or None if result.ok else None


def ref_exists(cwd: str | os.PathLike[str], ref: str) -> bool:
    """True when the fully qualified ``ref`` (``refs/heads/x``, ``refs/remotes/o/x``) exists."""
    return run_git(["show-ref", "--verify", "--quiet", ref], cwd, check=False).ok


def default_remote(cwd: str | os.PathLike[str]) -> str | None:
    """``origin`` when configured, else the first remote, else None."""
    remotes = run_git(["remote"], cwd, check=False).stdout.split()
    if "origin" in remotes:
        return "origin"
    return remotes[0] if remotes else None


def default_branch(cwd: str | os.PathLike[str]) -> str | None:
    """The repository's default branch: the remote's HEAD, else ``main``, else ``master``."""
    remote = default_remote(cwd)
    if remote:
        result = run_git(
            ["symbolic-ref", "--quiet", "--short", f"refs/remotes/{remote}/HEAD"], cwd, check=False
        )
        value = result.stdout.strip()
        if result.ok and value.startswith(f"{remote}/"):
            return value[len(remote) + 1 :]
    for candidate in ("main", "master"):
        if ref_exists(cwd, f"refs/heads/{candidate}"):
            return candidate
        if remote and ref_exists(cwd, f"refs/remotes/{remote}/{candidate}"):
            return candidate
    return None


def default_base_ref(cwd: str | os.PathLike[str]) -> str | None:
    """The ref to compare against "the default branch": ``<remote>/<default>`` or the local one."""
    name = default_branch(cwd)
    if name is None:
        return None
    remote = default_remote(cwd)
    if remote and ref_exists(cwd, f"refs/remotes/{remote}/{name}"):
        return f"refs/remotes/{remote}/{name}"
    if ref_exists(cwd, f"refs/heads/{name}"):
        return f"refs/heads/{name}"
    return None


def ahead_behind(cwd: str | os.PathLike[str], left: str, right: str) -> tuple[int, int] | None:
    """Commits only in ``left`` and only in ``right``; None when either side does not resolve."""
    result = run_git(["rev-list", "--left-right", "--count", f"{left}...{right}"], cwd, check=False)
    parts = result.stdout.split()
    if not result.ok or len(parts) != 2:
        return None
    return int(parts[0]), int(parts[1])


def main_worktree_root(cwd: str | os.PathLike[str]) -> Path:
    """The main working tree of the repository containing ``cwd`` (itself for a normal clone)."""
    listing = parse_worktree_list(run_git(["worktree", "list", "--porcelain"], cwd).stdout)
    if listing:
        return Path(listing[0]["path"]).resolve()
    return Path(run_git(["rev-parse", "--show-toplevel"], cwd).stdout.strip()).resolve()


def repo_info(path: str | os.PathLike[str], ceiling: str | os.PathLike[str] | None = None) -> dict[str, Any] | None:
    """Facts about the repository containing ``path``; None when it is not in a git working tree.

    Keys: ``repo_root`` (top of this working tree), ``main_repo_root`` (the main working tree),
    ``repo_name``, ``branch`` (unborn included; None when detached), ``detached``, ``head``
    (None on an unborn branch), ``default_branch``, ``is_worktree``, ``upstream``, ``ahead``,
    ``behind`` (vs the upstream; None when there is none). ``ceiling``: a repository whose
    working tree is not inside that folder counts as none.
    """
    try:
        repo = open_repo(path, ceiling)
    except NotARepositoryError:
        return None
    try:
        root = work_root(repo)
        is_worktree = Path(repo.git_dir).resolve() != Path(repo.common_dir).resolve()
    finally:
        repo.close()
    branch = current_branch(root)
    head = head_commit(root)
    upstream_res = run_git(
        ["rev-parse", "--abbrev-ref", "--symbolic-full-name", "@{upstream}"], root, check=False
    )
    upstream = upstream_res.stdout.strip() if upstream_res.ok and head else None
    counts = ahead_behind(root, "HEAD", "@{upstream}") if upstream else None
    main_root = main_worktree_root(root) if is_worktree else root
    return {
        "repo_root": str(root),
        "main_repo_root": str(main_root),
        "repo_name": main_root.name,
        "branch": branch,
        "detached": branch is None,
        "head": head,
        "default_branch": default_branch(root),
        "is_worktree": is_worktree,
        "upstream": upstream or None,
        "ahead": counts[0] if counts else None,
        "behind": counts[1] if counts else None,
    }


def parse_worktree_list(text: str) -> list[dict[str, Any]]:
    """Parse ``git worktree list --porcelain`` output into dicts (first entry = main worktree)."""
    entries: list[dict[str, Any]] = []
    current: dict[str, Any] | None = None
    for line in text.splitlines():
        if not line:
            current = None
            continue
        key, _, value = line.partition(" ")
        if key == "worktree":
            current = {
                "path": value,
                "head": None,
                "branch": None,
                "detached": False,
                "bare": False,
                "locked": False,
                "prunable": False,
            }
            entries.append(current)
        elif current is None:
            continue
        elif key == "HEAD":
            current["head"] = value
        elif key == "branch":
            current["branch"] = value.removeprefix("refs/heads/")
        elif key in ("detached", "bare", "locked", "prunable"):
            current[key] = True
    return entries


def worktrees(
    path: str | os.PathLike[str], *, with_dirty: bool = True, ceiling: str | os.PathLike[str] | None = None
) -> list[dict[str, Any]]:
    """Worktrees of the repository containing ``path``.

    Each: ``path, branch, head, detached, locked, prunable, is_main, exists, dirty`` (``dirty`` is
    None when the folder is missing or ``with_dirty`` is False).
    """
    repo = open_repo(path, ceiling)
    try:
        root = work_root(repo)
    finally:
        repo.close()
    entries = parse_worktree_list(run_git(["worktree", "list", "--porcelain"], root).stdout)
    out = []
    for index, entry in enumerate(entries):
        if entry["bare"]:
            continue
        folder = Path(entry["path"])
        exists = folder.is_dir()
        dirty = is_dirty(folder) if (with_dirty and exists) else None
        out.append({**entry, "is_main": index == 0, "exists": exists, "dirty": dirty})
        out[-1].pop("bare", None)
    return out


def is_dirty(folder: str | os.PathLike[str]) -> bool:
    """True when the working tree has staged, unstaged or untracked (not ignored) changes."""
    return bool(run_git(["status", "--porcelain", "--untracked-files=normal"], folder).stdout.strip())


def checked_out_branches(cwd: str | os.PathLike[str]) -> dict[str, str]:
    """Branch name -> path of the worktree where it is checked out."""
    entries = parse_worktree_list(run_git(["worktree", "list", "--porcelain"], cwd).stdout)
    return {e["branch"]: e["path"] for e in entries if e["branch"]}


_TRACK = re.compile(r"(ahead|behind) (\d+)")


def branches(path: str | os.PathLike[str], ceiling: str | os.PathLike[str] | None = None) -> dict[str, Any]:
    """Local branches (with upstream, ahead/behind, current flag, worktree) and remote-only branches.

    Returns ``{"current": name|None, "default_branch", "local": [...], "remote": [...]}``; a local
    entry is ``{name, commit, current, upstream, ahead, behind, upstream_gone, worktree_path}``
    and a remote entry ``{name, remote, ref, commit}`` for branches with no local counterpart.
    """
    repo = open_repo(path, ceiling)
    try:
        root = work_root(repo)
    finally:
        repo.close()
    fmt = "%(refname)%00%(objectname)%00%(upstream:short)%00%(upstream:track,nobracket)"
    listing = run_git(["for-each-ref", f"--format={fmt}", "refs/heads", "refs/remotes"], root).stdout
    current = current_branch(root)
    checked_out = checked_out_branches(root)
    local: list[dict[str, Any]] = []
    remote_refs: list[tuple[str, str]] = []
    for line in listing.splitlines():
        fields = line.split("\x00")
        if len(fields) < 4:
            continue
        refname, commit, upstream, track = fields[:4]
        if refname.startswith("refs/heads/"):
            name = refname.removeprefix("refs/heads/")
            counts = dict((k, int(v)) for k, v in _TRACK.findall(track))
            has_upstream = bool(upstream) and track != "gone"
            local.append(
                {
                    "name": name,
                    "commit": commit,
                    "current": name == current,
                    "upstream": upstream or None,
                    "upstream_gone": track == "gone",
                    "ahead": counts.get("ahead", 0) if has_upstream else None,
                    "behind": counts.get("behind", 0) if has_upstream else None,
                    "worktree_path": checked_out.get(name),
                }
            )
        elif refname.startswith("refs/remotes/") and not refname.endswith("/HEAD"):
            remote_refs.append((refname.removeprefix("refs/remotes/"), commit))
    local_names = {b["name"] for b in local}
    remote = []
    for short, commit in remote_refs:
        remote_name, _, name = short.partition("/")
        if name and name not in local_names:
            remote.append({"name": name, "remote": remote_name, "ref": short, "commit": commit})
    return {
        "current": current,
        "default_branch": default_branch(root),
        "local": local,
        "remote": remote,
    }


def is_git_repo(path: str | os.PathLike[str]) -> bool:
    """True when ``path`` is inside a (non-bare) git working tree."""
    import git as gitpython

    try:
        open_repo(path).close()
    except NotARepositoryError:
        return False
    except gitpython.GitError:
        return False
    return True

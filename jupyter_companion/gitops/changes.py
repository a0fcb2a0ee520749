"""What changed in a working tree: changed files, per-file unified diffs, recent commits."""

from __future__ import annotations

import os
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Literal

from .errors import GitError
from .info import default_base_ref, head_commit
from .paths import confine, relative_inside
from .runner import open_repo, run_git, work_root

Base = Literal["head", "default"]

#: A diff longer than this many characters is cut and flagged ``truncated``.
MAX_DIFF_CHARS = 2_000_000


def _root_of(path: str | os.PathLike[str], ceiling: str | os.PathLike[str] | None = None) -> Path:
    repo = open_repo(path, ceiling)
    try:
        return work_root(repo)
    finally:
        repo.close()


def _empty_tree(root: Path) -> str:
    return run_git(["hash-object", "-t", "tree", os.devnull], root).stdout.strip()


def resolve_base(root: Path, base: str) -> tuple[str, str | None]:
    """The commit (or empty tree) to diff the working tree against, and the ref it came from.

    ``head``: the last commit (the empty tree on an unborn branch). ``default``: the merge base
    of HEAD with the default branch (remote-tracking copy preferred).
    """
    if base == "head":
        commit = head_commit(root)
        return (commit, "HEAD") if commit else (_empty_tree(root), None)
    if base == "default":
        ref = default_base_ref(root)
        if ref is None:
            raise GitError("the repository has no default branch to compare with", status=409)
        if head_commit(root) is None:
            return _empty_tree(root), ref
        merge_base = run_git(["merge-base", "HEAD", ref], root, check=False)
        if not merge_base.ok or not merge_base.stdout.strip():
            raise GitError(f"no common ancestor between HEAD and {ref}", status=409)
        return merge_base.stdout.strip(), ref
    raise GitError(f"unknown base {base!r}: expected 'head' or 'default'")


def _parse_name_status(text: str) -> list[dict[str, Any]]:
    fields = text.split("\x00")
    out: list[dict[str, Any]] = []
    i = 0
    while i < len(fields) and fields[i]:
        code = fields[i]
        letter = code[0]
        if letter in ("R", "C"):
            old, new = fields[i + 1], fields[i + 2]
            out.append({"path": new, "old_path": old, "status": letter, "similarity": int(code[1:] or 0)})
            i += 3
        else:
            out.append({"path": fields[i + 1], "status": letter})
            i += 2
    return out


def _parse_numstat(text: str) -> dict[str, tuple[int | None, int | None]]:
    fields = text.split("\x00")
    out: dict[str, tuple[int | None, int | None]] = {}
    i = 0
    while i < len(fields) and fields[i]:
        added, deleted, path = fields[i].split("\t", 2)
        counts = (None, None) if added == "-" else (int(added), int(deleted))
        if path == "":  # rename/copy: old and new path follow as separate fields
            path = fields[i + 2]
            i += 3
        else:
            i += 1
        out[path] = counts
    return out


def _untracked(root: Path, pathspec: list[str] | None = None) -> list[str]:
    args = ["ls-files", "--others", "--exclude-standard", "-z"]
    if pathspec:
        args += ["--", *pathspec]
    return [p for p in run_git(args, root).stdout.split("\x00") if p]


def _count_lines(file: Path) -> tuple[int | None, bool]:
    """Line count of a new file and whether it looks binary (NUL byte in the first 8 KiB)."""
    if file.is_symlink() or not file.is_file():
        return 1, False
    with file.open("rb") as handle:
        head = handle.read(8192)
        if b"\x00" in head:
            return None, True
        count = head.count(b"\n")
        last = head[-1:] if head else b""
        for chunk in iter(lambda: handle.read(1 << 16), b""):
            count += chunk.count(b"\n")
            last = chunk[-1:]
    if last and last != b"\n":
        count += 1
    return count, False


def changed_files(
    path: str | os.PathLike[str], base: Base | str = "head", *, ceiling: str | os.PathLike[str] | None = None
) -> dict[str, Any]:
    """Files changed in the working tree containing ``path`` versus ``base``.

    ``base="head"`` compares with the last commit, ``base="default"`` with the merge base of HEAD
    and the default branch. Staged, unstaged and untracked (non-ignored) files are included;
    renames recorded in the index (``git mv``) are detected. Returns
    ``{repo_root, base, base_ref, base_commit, files: [{path, old_path?, status, additions,
    deletions, binary, untracked}]}`` with paths relative to ``repo_root`` and ``status`` one of
    git's letters (``A`` added, ``M`` modified, ``D`` deleted, ``R`` renamed, ``T`` type change).
    ``ceiling``: a repository above this folder does not count (:func:`~.runner.open_repo`).
    """
    root = _root_of(path, ceiling)
    base_commit, base_ref = resolve_base(root, str(base))
    diff_args = ["diff", "-M", "--no-ext-diff", "--no-textconv", "--no-color", "-z"]
    entries = _parse_name_status(run_git([*diff_args, "--name-status", base_commit, "--"], root).stdout)
    stats = _parse_numstat(run_git([*diff_args, "--numstat", base_commit, "--"], root).stdout)
    files: list[dict[str, Any]] = []
    for entry in entries:
        added, deleted = stats.get(entry["path"], (None, None))
        files.append(
            {
                **entry,
                "additions": added,
                "deletions": deleted,
                "binary": added is None,
                "untracked": False,
            }
        )
    for rel in _untracked(root):
        lines, binary = _count_lines(root / rel)
        files.append(
            {
                "path": rel,
                "status": "A",
                "additions": lines,
                "deletions": 0 if not binary else None,
                "binary": binary,
                "untracked": True,
            }
        )
    files.sort(key=lambda f: f["path"])
    return {
        "repo_root": str(root),
        "base": str(base),
        "base_ref": base_ref,
        "base_commit": base_commit,
        "files": files,
    }


def file_diff(
    path: str | os.PathLike[str],
    file: str,
    base: Base | str = "head",
    *,
    context: int = 3,
    ceiling: str | os.PathLike[str] | None = None,
) -> dict[str, Any]:
    """Unified diff of one file of the working tree containing ``path`` versus ``base``.

    ``file`` is relative to the repository root (or absolute inside it); ``..`` escapes are
    refused. An untracked file is shown as a new-file diff; a renamed file (index rename) is
    diffed against its old path. Returns ``{file, old_path?, base, status, untracked, binary,
    diff, truncated}``; ``diff`` is empty when the file has no change.
    """
    root = _root_of(path, ceiling)
    rel = relative_inside(root, file)
    if (root / rel).is_dir() and not (root / rel).is_symlink():
        raise GitError(f"{rel!r} is a folder, not a file")
    base_commit, _ = resolve_base(root, str(base))
    unified = f"-U{max(0, min(int(context), 1000))}"
    old_path: str | None = None
    status: str | None = "A"
    if _untracked(root, [rel]) == [rel]:
        confine(root, rel)  # reading its content: refuse a link escaping the repository
        result = run_git(
            ["diff", "--no-index", "--no-ext-diff", "--no-textconv", "--no-color", unified, "--", os.devnull, rel],
            root,
            check=False,
        )
        if result.returncode not in (0, 1):
            raise GitError(f"cannot diff {rel}: {result.error_text()}")
        untracked, text = True, result.stdout
    else:
        listing = run_git(
            ["diff", "-M", "--no-ext-diff", "--no-textconv", "-z", "--name-status", base_commit, "--"], root
        ).stdout
        entry = next((e for e in _parse_name_status(listing) if e["path"] == rel), None)
        old_path = entry.get("old_path") if entry else None
        status = entry["status"] if entry else None
        untracked = False
        pathspec = [rel, old_path] if old_path else [rel]
        text = run_git(
            ["diff", "-M", "--no-ext-diff", "--no-textconv", "--no-color", unified, base_commit, "--", *pathspec],
            root,
        ).stdout
        if entry is None and not (root / rel).exists() and not _in_tree(root, base_commit, rel):
            raise GitError(f"file {rel!r} not found in the repository", status=404)
    truncated = len(text) > MAX_DIFF_CHARS
    return {
        "file": rel,
        "old_path": old_path,
        "base": str(base),
        "status": status,
        "untracked": untracked,
        "binary": "\nBinary files " in text or text.startswith("Binary files "),
        "diff": text[:MAX_DIFF_CHARS] if truncated else text,
        "truncated": truncated,
    }


def _in_tree(root: Path, commit: str, rel: str) -> bool:
    return bool(run_git(["ls-tree", "--name-only", commit, "--", rel], root, check=False).stdout.strip())


def recent_commits(
    path: str | os.PathLike[str], limit: int = 20, *, ceiling: str | os.PathLike[str] | None = None
) -> list[dict[str, Any]]:
    """The last ``limit`` (1..500) commits reachable from HEAD, newest first; [] on an unborn branch.

    Each: ``{sha, short_sha, summary, message, author_name, author_email, authored_at, parents}``.
    """
    limit = max(1, min(int(limit), 500))
    repo = open_repo(path, ceiling)
    try:
        if not repo.head.is_valid():
            return []
        out = []
        for commit in repo.iter_commits("HEAD", max_count=limit):
            message = commit.message if isinstance(commit.message, str) else commit.message.decode()
            out.append(
                {
                    "sha": commit.hexsha,
                    "short_sha": commit.hexsha[:7],
                    "summary": message.split("\n", 1)[0],
                    "message": message,
                    "author_name": commit.author.name,
                    "author_email": commit.author.email,
                    "authored_at": datetime.fromtimestamp(commit.authored_date, tz=timezone.utc).isoformat(),
                    "parents": [p.hexsha for p in commit.parents],
                }
            )
        return out
    finally:
        repo.close()

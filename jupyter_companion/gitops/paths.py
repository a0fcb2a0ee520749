"""Confinement of user-supplied paths to a root folder."""

from __future__ import annotations

import os
from pathlib import Path

from .errors import GitError, PathOutsideRootError

#: Longest path and path component the OS accepts (Linux PATH_MAX and NAME_MAX, in bytes).
MAX_PATH_BYTES = 4096
MAX_NAME_BYTES = 255


def _check_length(raw: str) -> None:
    """Refuse a path the OS would reject with ENAMETOOLONG or cannot encode (a 400, not a crash)."""
    try:
        encoded = raw.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise GitError("the path is not valid unicode") from exc
    if len(encoded) > MAX_PATH_BYTES or any(len(part) > MAX_NAME_BYTES for part in encoded.split(b"/")):
        raise GitError("the path is too long")


def is_within(path: Path, root: Path) -> bool:
    """True when ``path`` is ``root`` or lies below it (both already resolved)."""
    return path == root or root in path.parents


def confine(root: str | os.PathLike[str], path: str | os.PathLike[str] | None) -> Path:
    """Resolve ``path`` (relative to ``root``, or absolute) and refuse anything outside ``root``.

    Symlinks are resolved on both sides before comparing, so a link pointing out of the root is
    refused. The path does not need to exist; ``~`` is not expanded. Raises
    :class:`PathOutsideRootError`.
    """
    root_path = Path(root).expanduser().resolve()
    raw = "" if path is None else os.fspath(path)
    if "\x00" in raw:
        raise PathOutsideRootError("path contains a NUL character")
    _check_length(raw)
    candidate = Path(raw)  # "~" and "~user" are plain names here, never a home folder
    if not candidate.is_absolute():
        candidate = root_path / candidate
    try:
        resolved = candidate.resolve()
    except (RuntimeError, OSError) as exc:  # a symlink loop (RuntimeError before Python 3.13)
        raise GitError(f"path {raw!r} cannot be resolved (a symlink loop?)") from exc
    if not is_within(resolved, root_path):
        raise PathOutsideRootError(f"path {raw!r} is outside the server root")
    return resolved


def relative_inside(root: Path, file: str) -> str:
    """Normalize a repository-relative file path, refusing absolute paths and ``..`` escapes.

    The check is lexical (a tracked symlink is a file of its own for git); callers that read
    file contents must additionally resolve the result with :func:`confine`.
    """
    if not file or "\x00" in file:
        raise PathOutsideRootError("a file path is required")
    _check_length(file)
    candidate = Path(file)
    if candidate.is_absolute():
        try:
            resolved = candidate.resolve()
        except (RuntimeError, OSError) as exc:  # a symlink loop
            raise GitError(f"file {file!r} cannot be resolved (a symlink loop?)") from exc
        if not is_within(resolved, root):
            raise PathOutsideRootError(f"file {file!r} is outside the repository")
        return resolved.relative_to(root).as_posix()
    normalized = os.path.normpath(file)
    if normalized == ".." or normalized.startswith("../") or normalized == ".":
        raise PathOutsideRootError(f"file {file!r} is outside the repository")
    return Path(normalized).as_posix()

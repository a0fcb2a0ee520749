"""Where sessions may run: the server's root folder and the configured extra roots.

Every folder a request names, a git operation produces or a CLI is about to start in is resolved
(symlinks included) and checked here. A session's own worktree (created under the state folder,
outside the roots) is allowed for that session only.
"""

from __future__ import annotations

import os
from typing import Any

from ..errors import ApiError
from ..events import has_lone_surrogate


class FolderOutsideRoots(ValueError):
    """A session folder that resolves outside every allowed root (and its own worktree)."""


def is_inside(path: str, root: str) -> bool:
    """True when the resolved ``path`` is ``root`` or lies below it (both already resolved)."""
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


class Folders:
    """The allowed roots of one server, resolved once."""

    def __init__(self, root_dir: str, allowed_roots: list[str] | None = None):
        self.root = os.path.realpath(root_dir)
        self.roots = [self.root] + [os.path.realpath(p) for p in allowed_roots or []]

    def inside_roots(self, real: str) -> bool:
        """Whether a resolved path lies inside one of the roots."""
        return any(is_inside(real, root) for root in self.roots)

    def containing_root(self, path: str) -> str:
        """The deepest allowed root that contains the resolved ``path`` (ApiError 403 when none)."""
        for root in sorted(self.roots, key=len, reverse=True):
            if is_inside(path, root):
                return root
        raise ApiError(403, "the folder is outside the Jupyter server's root folder")

    def relative(self, real: str) -> str | None:
        """``real`` relative to the server root, or None when it lies outside it."""
        return os.path.relpath(real, self.root) if is_inside(real, self.root) else None

    def resolve_cwd(self, raw: Any) -> str:
        """Resolve a requested folder (symlinks included) and confine it to the allowed roots.

        A relative folder is taken from the server root; ``~`` is not expanded.
        """
        if raw is None or raw == "":
            path = self.root
        else:
            if not isinstance(raw, str) or "\x00" in raw or len(raw) > 4096 or has_lone_surrogate(raw):
                raise ApiError(400, "'cwd' must be a folder path")
            candidate = raw if os.path.isabs(raw) else os.path.join(self.root, raw)
            path = os.path.realpath(candidate)
        if not self.inside_roots(path):
            raise ApiError(403, "'cwd' must be inside the Jupyter server's root folder")
        if not os.path.isdir(path):
            raise ApiError(400, f"folder does not exist: {os.path.relpath(path, self.root)}")
        return path

    def check_session_folder(self, cwd: str, worktree: str | None = None) -> tuple[str, str]:
        """Where a session's CLI may start: ``(resolved folder, the root or worktree holding it)``.

        ``cwd`` may have changed since it was checked (a branch checkout can turn a folder into a
        symlink): it must still resolve inside the allowed roots, or inside the session's own
        ``worktree``; else :class:`FolderOutsideRoots`. The second item is also the ceiling for
        git: a repository above it is not the session's.
        """
        real = os.path.realpath(cwd)
        if worktree:
            real_worktree = os.path.realpath(worktree)
            if is_inside(real, real_worktree):
                return real, real_worktree
        for root in sorted(self.roots, key=len, reverse=True):
            if is_inside(real, root):
                return real, root
        raise FolderOutsideRoots(
            f"the session's folder {cwd} now resolves to {real}, outside the folders sessions may run in"
        )

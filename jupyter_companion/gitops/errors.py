"""Errors raised by the git workspace helpers.

Every error carries a message meant for the person using the UI and an HTTP status the REST
handlers answer with, so a bad request is a clear 4xx and never a stack trace.
"""

from __future__ import annotations


class GitError(Exception):
    """A git operation failed or was refused; ``str(error)`` is a user-facing message."""

    status: int = 400

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        if status is not None:
            self.status = status


class PathOutsideRootError(GitError, ValueError):
    """A path resolves (symlinks included) outside the folder it must stay in."""

    status = 403


class InvalidBranchNameError(GitError, ValueError):
    """A branch name breaks git's ref rules or could be mistaken for an option."""


class NotARepositoryError(GitError):
    """The folder is not inside a git working tree."""

    status = 404


class DirtyWorktreeError(GitError):
    """A worktree has uncommitted or untracked changes and removal was not forced."""

    status = 409


class PRStatusError(GitError):
    """``gh`` is installed and authenticated but the lookup failed (network, API error)."""

    status = 502

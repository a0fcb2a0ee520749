"""Git workspaces for sessions: repository facts, branches, worktrees, diffs and PR status.

Synchronous functions block on the git binary: call them with ``asyncio.to_thread`` from the
server's event loop. ``prepare_workspace``, ``remove_worktree`` and ``pr_status`` are async and
do that themselves.
"""

from __future__ import annotations

from .changes import changed_files, file_diff, recent_commits
from .errors import (
    DirtyWorktreeError,
    GitError,
    InvalidBranchNameError,
    NotARepositoryError,
    PathOutsideRootError,
    PRStatusError,
)
from .info import branches, default_branch, repo_info, validate_branch_name, worktrees
from .paths import confine
from .pr import PRPoller, pr_status, summarize_checks
from .workspace import WorkspaceResult, prepare_workspace, remove_worktree

__all__ = [
    "DirtyWorktreeError",
    "GitError",
    "InvalidBranchNameError",
    "NotARepositoryError",
    "PRPoller",
    "PRStatusError",
    "PathOutsideRootError",
    "WorkspaceResult",
    "branches",
    "changed_files",
    "confine",
    "default_branch",
    "file_diff",
    "pr_status",
    "prepare_workspace",
    "recent_commits",
    "remove_worktree",
    "repo_info",
    "summarize_checks",
    "validate_branch_name",
    "worktrees",
]

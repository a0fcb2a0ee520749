"""Keeping each session's ``git`` and ``pr`` fields fresh (after creation and after every turn)."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from ..gitops.info import repo_info
from ..gitops.pr import PRPoller

if TYPE_CHECKING:
    from .session import Session

_SUMMARY_KEYS = ("branch", "is_worktree", "repo_root", "main_repo_root", "ahead", "behind", "default_branch", "head",
                 "upstream")


async def git_summary(cwd: str, ceiling: str | None = None) -> dict[str, Any] | None:
    """The ``git`` field of a session object, or None outside a repository (within ``ceiling``)."""
    info = await asyncio.to_thread(repo_info, cwd, ceiling)
    if info is None:
        return None
    return {k: info.get(k) for k in _SUMMARY_KEYS}


class GitTracker:
    """Keeps each session's ``git`` and ``pr`` fields fresh (after creation and after every turn)."""

    def __init__(self, pr_interval: float = 60.0):
        self.pr_interval = pr_interval
        self.pollers: dict[str, PRPoller] = {}

    async def refresh(self, session: Session) -> None:
        """Recompute the git summary; follow the branch's pull request when there is one."""
        try:
            info = await git_summary(*session.folder())
        except Exception:  # a broken repository or a folder gone elsewhere must not break the session
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

"""GitHub pull-request status of a branch through the ``gh`` CLI, and a backoff poller."""

from __future__ import annotations

import asyncio
import inspect
import json
import logging
import os
import shutil
from collections.abc import Awaitable, Callable
from typing import Any

from .errors import GitError, PRStatusError
from .info import validate_branch_name

log = logging.getLogger(__name__)

GH_TIMEOUT = 30.0
PR_FIELDS = "number,state,url,title,isDraft,reviewDecision,statusCheckRollup,headRefName"

_PASS = {"SUCCESS", "NEUTRAL", "SKIPPED"}
_FAIL = {"FAILURE", "ERROR", "CANCELLED", "TIMED_OUT", "ACTION_REQUIRED", "STARTUP_FAILURE", "STALE"}


async def _run_gh(argv: list[str], cwd: str | os.PathLike[str]) -> tuple[int, str, str]:
    env = dict(os.environ, GH_PROMPT_DISABLED="1", GH_NO_UPDATE_NOTIFIER="1", NO_COLOR="1")
    proc = await asyncio.create_subprocess_exec(
        *argv,
        cwd=os.fspath(cwd),
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env,
    )
    try:
        out, err = await asyncio.wait_for(proc.communicate(), GH_TIMEOUT)
    except (asyncio.TimeoutError, asyncio.CancelledError):
        proc.kill()
        await proc.wait()
        raise
    return proc.returncode or 0, out.decode("utf-8", "replace"), err.decode("utf-8", "replace")


def summarize_checks(rollup: list[dict[str, Any]] | None) -> dict[str, Any]:
    """Collapse ``statusCheckRollup`` into counts and one state: pass, fail, pending or none."""
    passed = failed = pending = 0
    for item in rollup or []:
        if item.get("__typename") == "StatusContext" or "state" in item and "status" not in item:
            value = str(item.get("state") or "").upper()
            if value in _PASS:
                passed += 1
            elif value in _FAIL:
                failed += 1
            else:
                pending += 1
            continue
        if str(item.get("status") or "").upper() != "COMPLETED":
            pending += 1
        elif str(item.get("conclusion") or "").upper() in _FAIL:
            failed += 1
        else:
            passed += 1
    total = passed + failed + pending
    state = "none" if total == 0 else "fail" if failed else "pending" if pending else "pass"
    return {"state": state, "total": total, "passed": passed, "failed": failed, "pending": pending}


def _lower(value: Any) -> str | None:
    return str(value).lower() if value else None


def _no_pr(branch: str) -> dict[str, Any]:
    return {
        "available": True,
        "branch": branch,
        "state": None,
        "number": None,
        "url": None,
        "title": None,
        "is_draft": None,
        "checks": None,
        "review_decision": None,
    }


async def pr_status(
    repo_root: str | os.PathLike[str], branch: str, *, check_auth: bool = True
) -> dict[str, Any]:
    """Pull request of ``branch`` as seen by ``gh pr view``.

    ``{available: False, reason}`` when ``gh`` is not on PATH or ``gh auth status`` fails
    (skipped with ``check_auth=False``). Otherwise ``{available: True, branch, state (open,
    closed, merged or None without a PR), number, url, title, is_draft, checks: {state, total,
    passed, failed, pending}, review_decision (approved, changes_requested, review_required or
    None)}``. Other gh failures raise :class:`PRStatusError`.
    """
    validate_branch_name(branch)
    gh = shutil.which("gh")
    if gh is None:
        return {"available": False, "reason": "the GitHub CLI (gh) is not installed"}
    try:
        if check_auth:
            code, _, _ = await _run_gh([gh, "auth", "status"], repo_root)
            if code != 0:
                return {"available": False, "reason": "gh is not authenticated (run `gh auth login`)"}
        code, out, err = await _run_gh([gh, "pr", "view", "--json", PR_FIELDS, "--", branch], repo_root)
    except asyncio.TimeoutError as exc:
        raise PRStatusError("gh did not answer in time") from exc
    except OSError as exc:
        raise PRStatusError(f"cannot run gh: {exc}") from exc
    if code != 0:
        message = (err or out).strip()
        if "no pull requests found" in message.lower():
            return _no_pr(branch)
        raise PRStatusError(f"gh pr view failed: {message.splitlines()[-1] if message else code}")
    try:
        data = json.loads(out)
    except ValueError as exc:
        raise PRStatusError("gh pr view returned invalid JSON") from exc
    return {
        "available": True,
        "branch": branch,
        "state": _lower(data.get("state")),
        "number": data.get("number"),
        "url": data.get("url"),
        "title": data.get("title"),
        "is_draft": data.get("isDraft"),
        "checks": summarize_checks(data.get("statusCheckRollup")),
        "review_decision": _lower(data.get("reviewDecision")),
    }


StatusFn = Callable[..., Awaitable[dict[str, Any]]]
Callback = Callable[[dict[str, Any]], Any]


class PRPoller:
    """Poll a branch's PR status and call ``callback(status)`` whenever it changes.

    Waits ``interval`` seconds between successful polls; each error doubles the wait up to
    ``max_interval`` and a success resets it. When ``gh`` is missing or unauthenticated the
    ``available: False`` status is reported once and polling stops for good (never an error
    loop). :meth:`refresh` polls now; :meth:`set_branch` switches branch and polls now.
    ``status_fn`` and ``sleep`` can be replaced (tests, other forges).
    """

    def __init__(
        self,
        repo_root: str | os.PathLike[str],
        branch: str | None,
        callback: Callback,
        *,
        interval: float = 60.0,
        max_interval: float = 600.0,
        status_fn: StatusFn = pr_status,
        sleep: Callable[[float], Awaitable[None]] | None = None,
    ) -> None:
        self.repo_root = os.fspath(repo_root)
        self.branch = branch
        self.interval = interval
        self.max_interval = max(max_interval, interval)
        self.delay = interval
        self.errors = 0
        self.last_status: dict[str, Any] | None = None
        self.last_error: str | None = None
        self.stopped_reason: str | None = None
        self._callback = callback
        self._status_fn = status_fn
        self._sleep = sleep or self._wait
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._auth_checked = False

    @property
    def running(self) -> bool:
        """True while the polling task is alive."""
        return self._task is not None and not self._task.done()

    def start(self) -> None:
        """Start polling on the running event loop (no-op when already running)."""
        if not self.running:
            self._task = asyncio.get_running_loop().create_task(self._loop())

    async def stop(self) -> None:
        """Stop polling and wait for the task to end."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            try:
                await task
            except asyncio.CancelledError:
                pass

    async def wait(self) -> None:
        """Wait until polling ends by itself (``gh`` unavailable) or through :meth:`stop`."""
        task = self._task
        if task is not None:
            try:
                await asyncio.shield(task)
            except asyncio.CancelledError:
                if not task.cancelled():
                    raise

    def refresh(self) -> None:
        """Poll as soon as possible (e.g. after a turn that may have pushed)."""
        self._wake.set()

    def set_branch(self, branch: str | None) -> None:
        """Follow another branch; the next poll happens at once."""
        if branch != self.branch:
            self.branch = branch
            self.last_status = None
            self._wake.set()

    async def _wait(self, seconds: float) -> None:
        try:
            await asyncio.wait_for(self._wake.wait(), seconds)
        except asyncio.TimeoutError:
            pass

    async def _emit(self, status: dict[str, Any]) -> None:
        try:
            result = self._callback(status)
            if inspect.isawaitable(result):
                await result
        except Exception:
            log.exception("PR status callback failed")

    async def poll_once(self) -> dict[str, Any] | None:
        """One poll: returns the status, or None after an error (the delay is then doubled)."""
        branch = self.branch
        if branch is None:
            return None
        try:
            status = await self._status_fn(self.repo_root, branch, check_auth=not self._auth_checked)
        except (GitError, OSError, ValueError) as exc:
            self.errors += 1
            self.last_error = str(exc)
            self.delay = min(max(self.delay, 0.001) * 2, self.max_interval)
            log.debug("PR status of %s failed: %s", branch, exc)
            return None
        self._auth_checked = True
        self.errors = 0
        self.last_error = None
        self.delay = self.interval
        if status != self.last_status:
            self.last_status = status
            await self._emit(status)
        return status

    async def _loop(self) -> None:
        while True:
            self._wake.clear()
            status = await self.poll_once()
            if status is not None and not status.get("available"):
                self.stopped_reason = str(status.get("reason") or "unavailable")
                return
            await self._sleep(self.delay)

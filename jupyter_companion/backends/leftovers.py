"""Agent processes a server left behind when it died (``kill -9``, a crash, a lost container).

Claude Code and Codex exit when their input closes; some ACP agents do not (``claude-agent-acp``
keeps running, with its Claude Code child, once its parent is gone). A CLI started with a pid
file (:class:`~.ndjson.LineProcess` ``pidfile``) has its process group and start time noted there
while it runs; the file goes when the exit is seen. A file that is still there when the next
server starts names a leftover: :func:`reap_all` kills those groups at start-up, and
:func:`reap` before a session starts its agent again. The start time (``/proc/<pid>/stat``) makes
sure a recycled pid is never killed.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
from pathlib import Path

log = logging.getLogger("jupyter_companion.leftovers")

#: The pid file of a session's agent, in the session's state folder.
PIDFILE = "agent.pid"


def _start_time(pid: int) -> str | None:
    """The process's start time in clock ticks since boot (``/proc/<pid>/stat`` field 22), or None."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[-1].split()  # the command name may hold spaces and parentheses
    return fields[19] if len(fields) > 19 else None


def remember(path: str, pid: int) -> None:
    """Note a running process group (its leader ``pid``) in ``path`` (mode 0600)."""
    started = _start_time(pid)
    if started is None:
        return
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(f"{pid} {started}\n")


def forget(path: str) -> None:
    """The process noted in ``path`` has exited."""
    with contextlib.suppress(OSError):
        os.unlink(path)


def reap(path: str) -> bool:
    """Kill the process group noted in ``path`` if its leader still runs; True when it did."""
    try:
        pid_text, started = Path(path).read_text().split()
        pid = int(pid_text)
    except (OSError, ValueError):
        return False
    forget(path)
    if pid <= 1 or _start_time(pid) != started:
        return False  # gone, or the pid now belongs to another process
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)
        log.warning("stopped an agent process left behind by an earlier server (pid %s)", pid)
        return True
    return False


def reap_all(state_root: str) -> int:
    """Reap the leftovers of every session folder under ``state_root``; how many were killed."""
    try:
        folders = list(Path(state_root).iterdir())
    except OSError:
        return 0
    return sum(reap(str(folder / PIDFILE)) for folder in folders if (folder / PIDFILE).is_file())

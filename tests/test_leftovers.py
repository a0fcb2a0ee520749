"""Agent processes left behind by a dead server are stopped by the next one (``backends/leftovers.py``)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from jupyter_companion.backends import leftovers
from tests.support.server import process_alive


def _spawn() -> subprocess.Popen[bytes]:
    """A process group like an agent's: a leader and a child of its own."""
    script = "import subprocess, time; subprocess.Popen(['sleep', '300']); time.sleep(300)"
    return subprocess.Popen([sys.executable, "-c", script], start_new_session=True)  # noqa: S603




def test_a_noted_group_is_killed_whole(tmp_path: Path) -> None:
    proc = _spawn()
    time.sleep(0.3)
    pidfile = str(tmp_path / leftovers.PIDFILE)
    leftovers.remember(pidfile, proc.pid)
    assert oct(os.stat(pidfile).st_mode & 0o777) == "0o600"
    children = subprocess.run(["pgrep", "-g", str(proc.pid)], capture_output=True, text=True).stdout.split()  # noqa: S603,S607
    assert len(children) == 2
    assert leftovers.reap(pidfile) is True
    proc.wait(5)
    time.sleep(0.2)
    assert not any(process_alive(int(pid)) for pid in children) and not Path(pidfile).exists()


def test_a_recycled_pid_is_left_alone(tmp_path: Path) -> None:
    proc = _spawn()
    try:
        pidfile = tmp_path / leftovers.PIDFILE
        pidfile.write_text(f"{proc.pid} 1\n")  # another start time: not the process noted
        assert leftovers.reap(str(pidfile)) is False and process_alive(proc.pid) and not pidfile.exists()
        assert leftovers.reap(str(tmp_path / "missing.pid")) is False
    finally:
        os.killpg(proc.pid, 9)
        proc.wait(5)


def test_start_up_reaps_every_session_folder(tmp_path: Path) -> None:
    procs = [_spawn(), _spawn()]
    for n, proc in enumerate(procs):
        (tmp_path / f"session{n}").mkdir()
        leftovers.remember(str(tmp_path / f"session{n}" / leftovers.PIDFILE), proc.pid)
    (tmp_path / "session-without-agent").mkdir()
    assert leftovers.reap_all(str(tmp_path)) == 2
    for proc in procs:
        assert proc.wait(5) is not None
    assert leftovers.reap_all(str(tmp_path / "nowhere")) == 0

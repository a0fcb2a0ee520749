"""Shared helpers of the benchmarks: a real Jupyter server subprocess, REST calls, statistics.

Every benchmark runs the server as a separate process (``python -m jupyter_server``) with its
own temporary config/data/runtime folders, so nothing of the user's Jupyter setup leaks in,
and prints one ``RESULT {json}`` line that ``run_all.py`` turns into a table row.
"""

from __future__ import annotations

import json
import os
import platform
import secrets
import shutil
import socket
import stat
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
#: Plugins of the test-suite's ``companion-echo`` distribution that must not skew measurements.
TEST_PLUGINS = ["echo", "broken_on_import", "raises_in_hook"]


def disabled_plugin_args(names: list[str]) -> list[str]:
    """Command-line flags disabling plugins (a List trait takes one flag per item)."""
    return [f"--CompanionApp.disabled_plugins={name}" for name in names]


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def percentile(values: list[float], pct: float) -> float:
    """The ``pct`` percentile (nearest rank) of ``values``."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, int(round(pct / 100.0 * len(ordered) + 0.5)) - 1))
    return ordered[rank]


def median(values: list[float]) -> float:
    """The median, NaN when empty."""
    return statistics.median(values) if values else float("nan")


def install_synthetic_claude(folder: Path) -> str:
    """Write an executable ``claude`` that runs ``synthetic_claude.py`` with this interpreter."""
    path = folder / "claude"
    path.write_text(f"#!{sys.executable}\n" + (HERE / "synthetic_claude.py").read_text())
    path.chmod(path.stat().st_mode | stat.S_IEXEC | stat.S_IXGRP | stat.S_IXOTH)
    return str(path)


def isolated_env(base: Path) -> dict[str, str]:
    """Environment with private Jupyter config/data/runtime folders under ``base``.

    The venv's own ``etc/jupyter`` (where extensions are enabled) is still read, as in a real
    installation; only the per-user folders are replaced.
    """
    env = dict(os.environ)
    for name in ("config", "data", "runtime"):
        (base / name).mkdir(parents=True, exist_ok=True)
    env["JUPYTER_CONFIG_DIR"] = str(base / "config")
    env["JUPYTER_DATA_DIR"] = str(base / "data")
    env["JUPYTER_RUNTIME_DIR"] = str(base / "runtime")
    env["JUPYTER_PLATFORM_DIRS"] = "1"
    env.pop("CLAUDECODE", None)
    env.pop("JUPYTER_COMPANION_URL", None)
    env["PYTHONUNBUFFERED"] = "1"
    return env


@dataclass
class Server:
    """A running Jupyter server subprocess."""

    proc: subprocess.Popen[bytes]
    port: int
    token: str
    base: Path
    root: Path
    started_at: float
    log_path: Path
    _log: Any = field(default=None, repr=False)
    #: ``time.monotonic()`` of the first HTTP answer.
    answered_at: float = 0.0

    @property
    def url(self) -> str:
        """http://127.0.0.1:<port>"""
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        """ws://127.0.0.1:<port>"""
        return f"ws://127.0.0.1:{self.port}"

    @property
    def headers(self) -> dict[str, str]:
        """Authorization header."""
        return {"Authorization": f"token {self.token}"}

    def rss_kib(self) -> int:
        """Resident set size of the server process (KiB)."""
        with open(f"/proc/{self.proc.pid}/status") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        raise RuntimeError("no VmRSS")

    def api(self, method: str, path: str, body: Any = None, timeout: float = 60.0) -> Any:
        """Call ``companion/api/<path>``; returns the decoded JSON (raises on HTTP errors)."""
        data = None if body is None else json.dumps(body).encode()
        if data is None and method in ("POST", "PATCH", "PUT"):
            data = b""
        request = urllib.request.Request(
            f"{self.url}/companion/api/{path}", data=data, method=method,
            headers={**self.headers, "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=timeout) as response:
            text = response.read().decode()
        return json.loads(text) if text else None

    def stop(self, keep_state: bool = False) -> None:
        """Stop the server (SIGTERM, then SIGKILL) and remove its folders (unless ``keep_state``)."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        if self._log is not None:
            self._log.close()
        if not keep_state:
            shutil.rmtree(self.base, ignore_errors=True)


def wait_http(port: int, proc: subprocess.Popen[bytes], timeout: float = 60.0, interval: float = 0.005) -> float:
    """Poll ``GET /api`` until the server answers; return ``time.monotonic()`` of the answer."""
    deadline = time.monotonic() + timeout
    url = f"http://127.0.0.1:{port}/api"
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the server exited with code {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                response.read()
                return time.monotonic()
        except (urllib.error.URLError, ConnectionError, OSError):
            time.sleep(interval)
    raise TimeoutError("the server did not answer in time")


def start_server(
    *,
    companion: bool = True,
    app: str = "jupyter_server",
    extra_args: list[str] | None = None,
    base: Path | None = None,
    wait: bool = True,
    python_args: list[str] | None = None,
    entry: list[str] | None = None,
    env_extra: dict[str, str] | None = None,
) -> Server:
    """Start ``python -m <app>`` on a free port with a token; wait until it answers HTTP."""
    base = base or Path(tempfile.mkdtemp(prefix="companion-bench-"))
    root = base / "root"
    root.mkdir(parents=True, exist_ok=True)
    env = {**isolated_env(base), **(env_extra or {})}
    port = free_port()
    token = secrets.token_hex(16)
    argv = [sys.executable, *(python_args or []), *(entry or ["-m", app]),
            "--no-browser", "--allow-root", f"--port={port}", "--ServerApp.port_retries=0",
            f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}",
            f"--CompanionApp.db_path={base / 'state' / 'companion.db'}",
            "--ServerApp.log_level=WARN"]
    if not companion:
        argv.append("--ServerApp.jpserver_extensions={'jupyter_companion': False}")
    argv += extra_args or []
    log_path = base / "server.log"
    log = open(log_path, "wb")  # noqa: SIM115 - closed in Server.stop
    started = time.monotonic()
    proc = subprocess.Popen(argv, env=env, cwd=str(root), stdout=log, stderr=subprocess.STDOUT)
    server = Server(proc, port, token, base, root, started, log_path, log)
    if wait:
        try:
            server.answered_at = wait_http(port, proc)
        except Exception:
            print(log_path.read_text()[-3000:], file=sys.stderr)
            server.stop()
            raise
    return server


def _cpu_sample() -> tuple[int, int]:
    with open("/proc/stat") as fh:
        values = [int(x) for x in fh.readline().split()[1:]]
    idle = values[3] + (values[4] if len(values) > 4 else 0)
    return sum(values), idle


def machine_busy(seconds: float = 1.0) -> float:
    """Fraction (0..1) of all CPUs busy during the next ``seconds``."""
    total0, idle0 = _cpu_sample()
    time.sleep(seconds)
    total1, idle1 = _cpu_sample()
    total = (total1 - total0) or 1
    return 1.0 - (idle1 - idle0) / total


def wait_quiet(threshold: float = 0.15, timeout: float = 180.0, quiet: bool = False) -> float:
    """Wait (up to ``timeout`` s) until other processes leave the CPUs mostly idle.

    Returns the last busy fraction measured. Latency tails on a 2-CPU machine depend heavily on
    what else runs; this keeps benchmark runs from overlapping with test runs or builds.
    """
    deadline = time.monotonic() + timeout
    busy = machine_busy()
    announced = False
    while busy > threshold and time.monotonic() < deadline:
        if not announced and not quiet:
            print(f"(waiting for the machine to calm down: {busy:.0%} of the CPUs busy)", flush=True)
            announced = True
        busy = machine_busy(2.0)
    if busy > threshold and not quiet:
        print(f"(machine still {busy:.0%} busy after {timeout:.0f} s; measuring anyway)", flush=True)
    return busy


def machine() -> dict[str, Any]:
    """A short description of this machine."""
    cpu = platform.processor() or ""
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem_gib = 0.0
    try:
        with open("/proc/meminfo") as fh:
            mem_gib = int(fh.readline().split()[1]) / 1024 / 1024
    except (OSError, ValueError, IndexError):
        pass
    return {
        "cpus": os.cpu_count(),
        "cpu": cpu,
        "memory_gib": round(mem_gib, 1),
        "kernel": platform.release(),
        "python": platform.python_version(),
    }


def emit_result(name: str, **fields: Any) -> None:
    """Print the machine-readable result line for run_all.py."""
    print("RESULT " + json.dumps({"benchmark": name, **fields}), flush=True)


def verdict(measured: float, target: float) -> str:
    """'ok' when measured <= target, else 'MISSED'."""
    return "ok" if measured <= target else "MISSED"

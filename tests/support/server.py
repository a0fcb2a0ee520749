"""A real ``jupyter server`` process with the extension, for tests that kill or restart it."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from typing import Any


def free_port() -> int:
    """An unused TCP port on 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class JupyterServerProcess:
    """Start/stop/kill a ``jupyter server`` subprocess; talk to it with :meth:`request`."""

    def __init__(self, root_dir: Path, state_dir: Path, *, env: dict[str, str] | None = None,
                 args: list[str] | None = None, app: str = "server"):
        self.root_dir = root_dir
        self.state_dir = state_dir
        self.env = {**os.environ, **(env or {})}
        self.args = list(args or [])
        self.app = app
        self.token = uuid.uuid4().hex
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = state_dir / f"server-{self.port}.log"

    @property
    def url(self) -> str:
        """Base URL of the server (with trailing slash)."""
        return f"http://127.0.0.1:{self.port}/"

    def start(self, timeout: float = 90.0) -> JupyterServerProcess:
        """Start the server and wait until the companion API answers."""
        self.state_dir.mkdir(parents=True, exist_ok=True)
        argv = [
            sys.executable, "-m", "jupyter", self.app, "--no-browser", "--allow-root",
            f"--port={self.port}", "--ip=127.0.0.1", f"--ServerApp.token={self.token}",
            f"--ServerApp.root_dir={self.root_dir}",
            f"--CompanionApp.db_path={self.state_dir / 'companion.db'}",
            "--ServerApp.port_retries=0",
            *self.args,
        ]
        env = dict(self.env)
        env.setdefault("JUPYTER_RUNTIME_DIR", str(self.state_dir / "runtime"))
        env.setdefault("JUPYTER_DATA_DIR", str(self.state_dir / "data"))
        env.setdefault("JUPYTER_CONFIG_DIR", str(self.state_dir / "config"))
        log = open(self.log_path, "ab")  # noqa: SIM115 - closed with the process
        self.proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=self.root_dir)  # noqa: S603
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"jupyter server exited early:\n{self.log_tail()}")
            try:
                status, _ = self.request("GET", "companion/api/status")
                if status == 200:
                    return self
            except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
                pass
            time.sleep(0.2)
        raise TimeoutError(f"jupyter server did not answer:\n{self.log_tail()}")

    def log_tail(self, lines: int = 60) -> str:
        """The end of the server's log."""
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def request(self, method: str, path: str, body: Any = None, timeout: float = 60.0) -> tuple[int, Any]:
        """An authenticated JSON request; returns (status, decoded body) without raising on 4xx/5xx."""
        data = json.dumps(body).encode() if body is not None else (b"" if method in ("POST", "PATCH") else None)
        req = urllib.request.Request(self.url + path, data=data, method=method, headers={
            "Authorization": f"token {self.token}", "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:  # noqa: S310 - loopback test server
                text = resp.read().decode()
                return resp.status, json.loads(text) if text else None
        except urllib.error.HTTPError as exc:
            text = exc.read().decode()
            return exc.code, json.loads(text) if text.startswith("{") else text

    def kill9(self) -> None:
        """Kill the server with SIGKILL (no clean-up at all)."""
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(30)

    def stop(self) -> None:
        """Stop the server gracefully (SIGTERM twice), then by force."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)

    def __enter__(self) -> JupyterServerProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def process_alive(pid: int) -> bool:
    """True while ``pid`` runs (a zombie, exited but not yet reaped, counts as gone)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[-1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def copy_repository(target: Path) -> None:
    """The repository's tracked files, plus the JupyterLab extension built by the suite's own install
    (so that building a wheel of the copy builds no JavaScript again: the build is skipped when it
    exists). The build folder's ``install.json`` is left out: the wheel maps the source's own."""
    import shutil

    repo = Path(__file__).resolve().parents[2]
    tracked = subprocess.run(["git", "ls-files", "-z"], cwd=repo, capture_output=True, check=True).stdout
    for name in tracked.decode().split("\0"):
        if name and (repo / name).is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(repo / name, target / name)
    built = repo / "jupyter_companion" / "labextension"
    if (built / "package.json").exists():
        shutil.copytree(built, target / "jupyter_companion" / "labextension",
                        ignore=shutil.ignore_patterns("install.json"))


def wait_until(predicate: Any, timeout: float = 90.0, interval: float = 0.2) -> None:
    """Poll ``predicate()`` until it is true; AssertionError after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(interval)
    raise AssertionError("condition not reached in time")

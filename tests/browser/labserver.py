"""Helpers of the real-browser tests: a real ``jupyter lab`` subprocess with the extension.

The JupyterLab server runs as a child process with isolated Jupyter directories (config, data,
runtime, settings, workspaces) under ``tmp_path``; the prebuilt extension of the imported
``jupyter_companion`` package is exposed to it through ``JUPYTER_PATH``, so the test works both
for an editable checkout (after ``npm run build`` in ``labextension/``) and for an installed wheel.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts"
TOKEN = "companion-browser-test-token"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def built_labextension() -> Path:
    """The prebuilt extension: in the package (editable checkout) or in a Jupyter data path (wheel)."""
    from jupyter_core.paths import jupyter_path

    import jupyter_companion

    candidates = [Path(jupyter_companion.__file__).resolve().parent / "labextension"]
    candidates += [Path(p) / "jupyter-companion" for p in jupyter_path("labextensions")]
    for path in candidates:
        if (path / "package.json").is_file():
            return path
    raise AssertionError(
        "the JupyterLab extension is not built (no package.json in "
        + ", ".join(str(c) for c in candidates)
        + "): run `cd labextension && npm ci && npm run build` or `pip install .`"
    )


@dataclass
class LabServer:
    """A running ``jupyter lab`` child process."""

    url: str
    token: str
    root_dir: Path
    log_path: Path
    process: subprocess.Popen[bytes]

    def lab_url(self, path: str = "lab") -> str:
        """URL of a page, authenticated with the token."""
        return f"{self.url}{path}?token={self.token}"

    def api(self, method: str, path: str, body: Any = None) -> Any:
        """Call the companion REST API (JSON in, JSON out)."""
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(
            f"{self.url}companion/api/{path}",
            data=data,
            method=method,
            headers={"Authorization": f"token {self.token}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(req, timeout=30) as resp:  # noqa: S310 - 127.0.0.1 test server
            return json.loads(resp.read() or b"{}")

    def jupyter_get(self, path: str) -> Any:
        """``GET`` one of Jupyter's own REST routes (``api/kernels`` ...), as JSON."""
        req = urllib.request.Request(f"{self.url}{path}", headers={"Authorization": f"token {self.token}"})
        with urllib.request.urlopen(req, timeout=30) as resp:  # noqa: S310 - 127.0.0.1 test server
            return json.loads(resp.read() or b"null")

    def log(self) -> str:
        """The server's combined output so far (for failure messages)."""
        return self.log_path.read_text(errors="replace")


@contextmanager
def run_lab(
    tmp_path: Path,
    *,
    env: dict[str, str] | None = None,
    config: dict[str, Any] | None = None,
    lab_settings: dict[str, dict[str, Any]] | None = None,
    port: int | None = None,
    app: str = "jupyterlab",
    start_dir: Path | None = None,
) -> Iterator[LabServer]:
    """Start ``jupyter lab`` with the companion extensions enabled; stop it on exit.

    ``lab_settings`` maps a JupyterLab plugin id (``"jupyter-companion:plugin"``) to user settings;
    ``port`` is chosen by the caller when something must know the URL before the server starts;
    ``app`` is the module to run: ``"jupyterlab"`` or ``"notebook"`` (Notebook 7); ``start_dir`` is
    the folder the server process starts in (default: its root folder).
    """
    root = tmp_path / "root"
    root.mkdir(exist_ok=True)
    jdirs = {
        name: tmp_path / "jupyter" / name for name in ("config", "data", "runtime", "path", "settings", "ws")
    }
    for d in jdirs.values():
        d.mkdir(parents=True, exist_ok=True)
    (jdirs["path"] / "labextensions").mkdir(exist_ok=True)
    link = jdirs["path"] / "labextensions" / "jupyter-companion"
    if not link.exists():
        link.symlink_to(built_labextension(), target_is_directory=True)
    server_config: dict[str, Any] = {
        "ServerApp": {"jpserver_extensions": {"jupyter_companion": True}},
        "LabApp": {"news_url": None, "check_for_updates_class": "jupyterlab.NeverCheckForUpdate"},
    }
    for section, values in (config or {}).items():
        server_config.setdefault(section, {}).update(values)
    (jdirs["config"] / "jupyter_server_config.json").write_text(json.dumps(server_config))
    # No "Jupyter news?" toast over the screenshots.
    if app == "jupyterlab":  # Notebook 7 has no such plugin and fails loading settings for it
        news = jdirs["settings"] / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings"
        news.parent.mkdir(parents=True, exist_ok=True)
        news.write_text(json.dumps({"fetchNews": "false"}))
    for plugin_id, values in (lab_settings or {}).items():
        package, _, plugin = plugin_id.partition(":")
        target = jdirs["settings"] / package / f"{plugin}.jupyterlab-settings"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(values))

    port = port or _free_port()
    child_env = dict(env if env is not None else os.environ)
    child_env.update(
        JUPYTER_CONFIG_DIR=str(jdirs["config"]),
        JUPYTER_DATA_DIR=str(jdirs["data"]),
        JUPYTER_RUNTIME_DIR=str(jdirs["runtime"]),
        JUPYTER_PATH=str(jdirs["path"]),
        JUPYTERLAB_SETTINGS_DIR=str(jdirs["settings"]),
        JUPYTERLAB_WORKSPACES_DIR=str(jdirs["ws"]),
    )
    log_path = tmp_path / "jupyter-lab.log"
    argv = [
        sys.executable,
        "-m",
        app,
        "--no-browser",
        "--allow-root",
        f"--port={port}",
        "--ip=127.0.0.1",
        f"--ServerApp.token={TOKEN}",
        f"--ServerApp.root_dir={root}",
        "--ServerApp.open_browser=False",
    ]
    with log_path.open("wb") as log:
        process = subprocess.Popen(argv, env=child_env, stdout=log, stderr=subprocess.STDOUT, cwd=str(start_dir or root))  # noqa: S603
    server = LabServer(f"http://127.0.0.1:{port}/", TOKEN, root, log_path, process)
    try:
        _wait_ready(server)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if ARTIFACTS.is_dir():
            shutil.copy(log_path, ARTIFACTS / f"{tmp_path.name}-jupyter-lab.log")


def _wait_ready(server: LabServer) -> None:
    """Poll ``api/status`` until the server answers (startup readiness, not a timed assertion)."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise AssertionError(f"jupyter lab exited with {server.process.returncode}:\n{server.log()}")
        try:
            req = urllib.request.Request(
                f"{server.url}api/status", headers={"Authorization": f"token {server.token}"}
            )
            with urllib.request.urlopen(req, timeout=5):  # noqa: S310 - 127.0.0.1 test server
                return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.25)
    raise AssertionError(f"jupyter lab did not start:\n{server.log()}")

"""The Binder build as repo2docker runs it, short of repo2docker itself (it needs a Docker
registry): a fresh virtual environment, ``binder/postBuild`` from the repository's root, then the
server started through ``binder/start`` -- the demo session is there and answers with no agent CLI
on PATH."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.support.server import copy_repository, free_port

REPO = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]


def _request(url: str, token: str, method: str = "GET", body: Any = None) -> Any:
    data = json.dumps(body).encode() if body is not None else (b"" if method == "POST" else None)
    req = urllib.request.Request(url, data=data, method=method,
                                 headers={"Authorization": f"token {token}", "Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as resp:  # noqa: S310 - loopback
        text = resp.read().decode()
        return json.loads(text) if text else None


def test_the_binder_steps_install_and_serve_the_demo(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    copy_repository(repo)
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    env = {"PATH": f"{venv / 'bin'}:{os.defpath}", "HOME": str(tmp_path / "home"), "LANG": "C.UTF-8",
           "PIP_DISABLE_PIP_VERSION_CHECK": "1", "JUPYTER_PLATFORM_DIRS": "1"}
    (tmp_path / "home").mkdir()
    built = subprocess.run(["bash", "binder/postBuild"], cwd=repo, env=env, capture_output=True, text=True, timeout=800)
    assert built.returncode == 0, built.stdout[-3000:] + built.stderr[-3000:]

    port, token = free_port(), uuid.uuid4().hex
    log = open(tmp_path / "server.log", "wb")  # noqa: SIM115 - closed below
    server = subprocess.Popen(  # noqa: S603 - fixed argv
        ["bash", "binder/start", "jupyter", "server", "--no-browser", "--allow-root", f"--port={port}",
         "--ip=127.0.0.1", f"--ServerApp.token={token}", f"--ServerApp.root_dir={repo}", "--ServerApp.port_retries=0"],
        cwd=repo, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}/companion/api"
    try:
        deadline, sessions = time.monotonic() + 120, []
        while not sessions and time.monotonic() < deadline:
            try:
                sessions = _request(f"{base}/sessions", token)["sessions"]
            except (urllib.error.URLError, ConnectionError, OSError):
                time.sleep(0.5)
        assert [s["name"] for s in sessions] == ["Demo: fix the mean"], (tmp_path / "server.log").read_text()[-3000:]
        sid = sessions[0]["id"]
        _request(f"{base}/sessions/{sid}/messages", token, "POST", {"content": "What does this project do?"})
        deadline, events = time.monotonic() + 60, []
        while not any(e["type"] == "result" for e in events) and time.monotonic() < deadline:
            time.sleep(0.3)
            events = _request(f"{base}/sessions/{sid}/events", token)["events"]
        result = next(e for e in events if e["type"] == "result")
        assert "tiny statistics module" in result["text"]
    finally:
        server.terminate()
        server.wait(30)
        log.close()

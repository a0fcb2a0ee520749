"""End to end: a real Jupyter server with the extension and the REAL Claude Code CLI (pinned),
pointed at a scripted Messages API, driven from a notebook executed headless with nbclient.

Flow: ``%companion new`` -> ``%companion send`` stops at a ``touch`` permission request ->
``%companion approve`` runs it and streams the rest of the turn -> ``%companion history`` and a
``%%companion`` cell. The kernel finds the server through JUPYTER_COMPANION_URL/TOKEN.

:func:`companion_server` is also used by ``test_cli_e2e.py``.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.support.anthropic_server import ScriptedAnthropic, Text, ToolUse
from tests.support.clis import CliInstallError, claude_env, ensure_cli

pytestmark = pytest.mark.e2e

TOKEN = "e2e-token"
#: Safety net only: a server that never comes up fails the test instead of hanging CI.
STARTUP_WAIT = 120.0


@dataclass
class CompanionServer:
    """A running ``jupyter server`` subprocess with the extension."""

    url: str
    token: str
    root: Path
    proc: subprocess.Popen[bytes]
    log: Path

    def env(self) -> dict[str, str]:
        """Environment for a client process (kernel, CLI) that should find this server."""
        env = dict(os.environ)
        env.update(JUPYTER_COMPANION_URL=self.url, JUPYTER_COMPANION_TOKEN=self.token)
        return env

    def log_tail(self) -> str:
        """The end of the server's log, for failure messages."""
        return self.log.read_text(errors="replace")[-6000:] if self.log.exists() else ""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _status(url: str) -> int:
    req = urllib.request.Request(url + "companion/api/status", headers={"Authorization": f"token {TOKEN}"})
    try:
        with urllib.request.urlopen(req, timeout=5) as resp:  # noqa: S310 - local test server
            return int(resp.status)
    except urllib.error.HTTPError as exc:
        return exc.code
    except OSError:
        return 0


@pytest.fixture(scope="module", name="claude_bin")
def claude_bin_fixture() -> str:
    """The pinned Claude Code CLI."""
    try:
        return ensure_cli("claude")
    except CliInstallError as exc:
        pytest.fail(f"the pinned Claude Code CLI (npm @anthropic-ai/claude-code) could not be installed: {exc}", pytrace=False)


@contextlib.contextmanager
def companion_server(tmp: Path, claude: str, anthropic_url: str) -> Iterator[CompanionServer]:
    """Start ``jupyter server`` with the extension on a free port; stop it afterwards."""
    root, home, runtime, state = tmp / "root", tmp / "home", tmp / "runtime", tmp / "state"
    for folder in (root, home, runtime, state):
        folder.mkdir(parents=True, exist_ok=True)
    port = _free_port()
    env = claude_env(anthropic_url, home)
    env.update(JUPYTER_RUNTIME_DIR=str(runtime), JUPYTER_CONFIG_DIR=str(tmp / "config"))
    env.pop("JUPYTER_COMPANION_URL", None)
    argv = [
        sys.executable, "-m", "jupyter_server",
        "--no-browser", "--allow-root", f"--port={port}", "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.token={TOKEN}", f"--ServerApp.root_dir={root}",
        "--ServerApp.jpserver_extensions=jupyter_companion=True",
        f"--ClaudeBackend.binary={claude}", f"--CompanionApp.db_path={state / 'companion.db'}",
    ]  # fmt: skip
    log = tmp / "server.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(argv, cwd=root, env=env, stdout=out, stderr=subprocess.STDOUT)  # noqa: S603
    server = CompanionServer(f"http://127.0.0.1:{port}/", TOKEN, root, proc, log)
    try:
        deadline = time.monotonic() + STARTUP_WAIT
        while _status(server.url) != 200:
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"jupyter server with jupyter_companion did not come up:\n{server.log_tail()}")
            time.sleep(0.2)
        yield server
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def script_model(srv: ScriptedAnthropic, filename: str) -> None:
    """Teach the scripted model: create ``filename`` with Bash (asks permission), then confirm."""
    srv.on(
        rf"create the file {filename}",
        [
            Text("I will create it."),
            ToolUse("Bash", {"command": f"touch {filename}", "description": "create"}),
        ],
    )
    srv.on_tool_result(Text(f"Created {filename} for you."), tool="Bash")
    srv.on(r"Say hi", Text("Hi from the scripted model!", chunks=4))


def _cell_text(cell: Any) -> str:
    parts = []
    for output in cell.get("outputs", []):
        if output.get("output_type") == "stream":
            parts.append(output.get("text", ""))
        elif output.get("output_type") in ("display_data", "execute_result"):
            parts.append(str(output.get("data", {}).get("text/plain", "")))
        elif output.get("output_type") == "error":
            parts.append(f"{output.get('ename')}: {output.get('evalue')}")
    return "".join(parts)


def test_notebook_magics_flow(tmp_path: Path, claude_bin: str, monkeypatch: pytest.MonkeyPatch) -> None:
    import nbformat
    from nbclient import NotebookClient

    with ScriptedAnthropic() as srv:
        script_model(srv, "x")
        with companion_server(tmp_path, claude_bin, srv.base_url) as server:
            notebooks = server.root / "notebooks"
            notebooks.mkdir()
            sources = [
                "%load_ext jupyter_companion",
                "%companion new --name nb-e2e",
                "%companion send Please create the file x",
                "%companion approve",
                "%companion history",
                "%%companion\nSay hi",
                "%companion list",
                "%companion export --format markdown",
                "%companion agent run Greeter --input 'the notebook'",
                "%companion agent runs Greeter",
            ]
            nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in sources])
            for key, value in server.env().items():
                if key.startswith("JUPYTER_COMPANION_"):
                    monkeypatch.setenv(key, value)
            from jupyter_companion.client import CompanionClient

            CompanionClient(server.url, server.token).create_agent(
                {"name": "Greeter", "prompt": "Say hi to {{input}}", "cwd": "notebooks"})
            client = NotebookClient(
                nb, timeout=180, kernel_name="python3", resources={"metadata": {"path": str(notebooks)}}
            )
            try:
                client.execute()
            except Exception as exc:
                texts = "\n---\n".join(_cell_text(c) for c in nb.cells)
                pytest.fail(
                    f"notebook failed: {exc}\ncell outputs:\n{texts}\nserver log:\n{server.log_tail()}"
                )
            out = [_cell_text(c) for c in nb.cells]
            nbformat.write(nb, str(tmp_path / "executed.ipynb"))

            assert "CompanionChat(session=" in out[1] or "ready" in out[1], out[1]
            assert "Permission requested: Bash: touch x" in out[2], out[2]
            assert "request id:" in out[2] and "%companion approve" in out[2]
            assert "Created x for you." in out[3] and "✓ done" in out[3], out[3]
            assert (notebooks / "x").exists()
            assert "> Please create the file x" in out[4] and "→ Bash: touch x" in out[4], out[4]
            assert "✓ allowed (user)" in out[4]
            assert "Hi from the scripted model!" in out[5], out[5]
            assert "nb-e2e" in out[6]
            assert out[7].strip() == "Saved notebooks/nb-e2e-transcript.md", out[7]
            exported = (notebooks / "nb-e2e-transcript.md").read_text()
            assert "> Please create the file x" in exported and "touch x" in exported

            assert "Run " in out[8] and "success" in out[8] and "Hi from the scripted model!" in out[8], out[8]
            assert "Greeter" in out[9] and "manual" in out[9] and "success" in out[9], out[9]

            sessions = json.loads(_get(server, "sessions"))["sessions"]
            assert sorted(s["name"] for s in sessions) == ["Greeter · manual run", "nb-e2e"]
            sessions = [s for s in sessions if s["name"] == "nb-e2e"]
            assert Path(sessions[0]["cwd"]).resolve() == notebooks.resolve()


def _get(server: CompanionServer, path: str) -> str:
    req = urllib.request.Request(
        server.url + "companion/api/" + path, headers={"Authorization": f"token {server.token}"}
    )
    with urllib.request.urlopen(req, timeout=30) as resp:  # noqa: S310 - local test server
        return resp.read().decode()

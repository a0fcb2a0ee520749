"""The demo (binder/, scripts/demo) on a real server process configured as binder/start does:
the bundled recording becomes a replay session when the server starts -- once, across restarts --
and plays to its end through the real Claude adapter: the explanation, then the edit's permission
request answered, then the fix; nothing on disk changes. No agent CLI is needed."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.support.server import JupyterServerProcess, wait_until

BINDER = Path(__file__).resolve().parents[1] / "binder"
pytestmark = pytest.mark.timeout(180)


def _turn(server: JupyterServerProcess, sid: str, text: str, allow: bool = False) -> list[dict[str, Any]]:
    """Send a prompt, answer its permission requests, wait for its result; the turn's events."""
    _, before = server.request("GET", f"companion/api/sessions/{sid}/events")
    after = before["last_seq"]
    server.request("POST", f"companion/api/sessions/{sid}/messages", {"content": text})

    def ended() -> bool:
        _, session = server.request("GET", f"companion/api/sessions/{sid}")
        for request in session.get("pending_permissions") or []:
            assert allow, request
            server.request("POST", f"companion/api/sessions/{sid}/permissions/{request['request_id']}",
                           {"behavior": "allow"})
        _, events = server.request("GET", f"companion/api/sessions/{sid}/events?after={after}")
        return any(e["type"] == "result" for e in events["events"])

    wait_until(ended, timeout=60)
    return server.request("GET", f"companion/api/sessions/{sid}/events?after={after}")[1]["events"]


def test_the_demo_session_plays_to_its_end(tmp_path: Path) -> None:
    root = tmp_path / "root"
    shutil.copytree(BINDER, root / "binder")
    env = {"JUPYTER_CONFIG_PATH": str(root / "binder" / "config"), "PATH": os.defpath}  # no agent CLI on PATH
    with JupyterServerProcess(root, tmp_path / "state", env=env) as server:
        wait_until(lambda: server.request("GET", "companion/api/sessions")[1]["sessions"], timeout=30)
        (demo,) = server.request("GET", "companion/api/sessions")[1]["sessions"]
        assert demo["name"] == "Demo: fix the mean" and demo["backend"] == "replay"
        assert demo["cwd"] == str((root / "binder" / "demo").resolve())
        events = _turn(server, demo["id"], "What does this project do?")
        read = next(b for e in events if e["type"] == "assistant" for b in e["message"]["content"]
                    if b["type"] == "tool_use")
        assert read["name"] == "Read" and read["input"]["file_path"] == str((root / "binder" / "demo" / "stats.py").resolve())
        assert "tiny statistics module" in next(e for e in events if e["type"] == "result")["text"]
        events = _turn(server, demo["id"], "Please fix mean().", allow=True)
        request = next(e for e in events if e["type"] == "permission_request")
        assert request["tool_name"] == "Edit" and request["input"]["new_string"] == "len(values)"
        assert next(e for e in events if e["type"] == "result")["text"].startswith("Fixed: `mean()` now divides")
    assert "len(values) - 1" in (root / "binder" / "demo" / "stats.py").read_text()  # a replay edits nothing
    with JupyterServerProcess(root, tmp_path / "state", env=env) as server:  # a restart makes no second one
        assert [s["name"] for s in server.request("GET", "companion/api/sessions")[1]["sessions"]] == ["Demo: fix the mean"]


def test_the_demo_notebook_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """binder/demo.ipynb, executed in a real kernel against the demo server: a replay session of
    its own, both turns, the permission approved with %companion approve."""
    import nbformat
    from nbclient import NotebookClient

    root = tmp_path / "root"
    shutil.copytree(BINDER, root / "binder")
    env = {"JUPYTER_CONFIG_PATH": str(root / "binder" / "config")}
    with JupyterServerProcess(root, tmp_path / "state", env=env) as server:
        wait_until(lambda: server.request("GET", "companion/api/sessions")[1]["sessions"], timeout=30)
        monkeypatch.setenv("JUPYTER_COMPANION_URL", server.url)
        monkeypatch.setenv("JUPYTER_COMPANION_TOKEN", server.token)
        notebook = nbformat.read(root / "binder" / "demo.ipynb", as_version=4)
        NotebookClient(notebook, timeout=120, kernel_name="python3",
                       resources={"metadata": {"path": str(root / "binder")}}).execute()
        printed = "".join(output.get("text", "") for cell in notebook.cells if cell.cell_type == "code"
                            for output in cell.get("outputs", []))
        assert "Demo: fix the mean" in printed  # %companion list
        assert "tiny statistics module" in printed and "now divides by" in printed, printed[-2000:]
        names = sorted(s["name"] for s in server.request("GET", "companion/api/sessions")[1]["sessions"])
        assert names == ["Demo: fix the mean", "Replay in the notebook"]

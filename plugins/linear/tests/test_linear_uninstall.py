"""Uninstalling the plugin leaves the core working: a server that ran with it (a session linked to
an issue, Linear settings stored) restarts without it, lists the session with its ``linear_issue``
as plain data, serves no Linear route, and creates sessions as before. The plugin is installed
again afterwards, the way it was (editable or not)."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from importlib.metadata import PackageNotFoundError, distribution
from pathlib import Path

import pytest
from linear_standin import LinearStandIn

from tests.support.server import JupyterServerProcess

PLUGIN_DIR = Path(__file__).resolve().parents[1]
DIST = "jupyter-companion-linear"

pytestmark = [pytest.mark.timeout(300)]


def _pip(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "pip", "-q", *args], check=True, timeout=240)  # noqa: S603


@pytest.fixture
def uninstallable() -> Iterator[None]:
    """Put the plugin back after the test, as it was installed."""
    try:
        direct = distribution(DIST).read_text("direct_url.json") or "{}"
    except PackageNotFoundError:
        pytest.fail(f"{DIST} is not installed (scripts/test installs it from plugins/linear)")
    editable = json.loads(direct).get("dir_info", {}).get("editable", False)
    yield
    _pip("install", "--no-deps", *(["-e"] if editable else []), str(PLUGIN_DIR))


def test_the_core_works_after_the_plugin_is_uninstalled(uninstallable: None, tmp_path: Path,
                                                        fake_claude_bin: str) -> None:
    root = tmp_path / "root"
    (root / "project").mkdir(parents=True)
    state = tmp_path / "state"
    args = [f"--ClaudeBackend.binary={fake_claude_bin}"]
    with LinearStandIn() as linear:
        with JupyterServerProcess(root, state, args=args) as server:
            assert server.request("PATCH", "companion/api/settings", {
                "linear_api_url": linear.url, "linear_api_key": linear.api_key})[0] == 200
            status, session = server.request("POST", "companion/api/sessions",
                                              {"backend": "claude", "cwd": "project", "linear_issue": "ENG-1"})
            assert status == 201 and session["linear_issue"]["identifier"] == "ENG-1", session
    _pip("uninstall", "-y", DIST)
    with JupyterServerProcess(root, state, args=args) as server:
        _, plugins = server.request("GET", "companion/api/plugins")
        assert "linear" not in [p["name"] for p in plugins["plugins"]]
        _, listed = server.request("GET", "companion/api/sessions")
        assert [s["linear_issue"]["identifier"] for s in listed["sessions"]] == ["ENG-1"]
        assert server.request("GET", "companion/api/linear/teams")[0] == 404
        _, settings = server.request("GET", "companion/api/settings")
        assert not [key for key in settings["settings"] if key.startswith("linear_")]
        status, fresh = server.request("POST", "companion/api/sessions", {"backend": "claude", "cwd": "project"})
        assert status == 201 and "linear_issue" not in fresh
        assert server.request("POST", f"companion/api/sessions/{session['id']}/archive", {})[0] == 200
        _, ui = server.request("GET", "companion/api/ui")
        assert [c for c in ui["contributions"] if c["plugin"] == "linear"] == []

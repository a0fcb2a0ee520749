"""JupyterHub's REAL idle culler (``jupyterhub-idle-culler``) against a server whose agent is at work,
then waiting for a permission: the streaming turn keeps the server alive (the agent's work is the
server's activity), the waiting request does not, and after the cull the request is still there
and answerable. The real Claude CLI against a scripted Messages API, through a real hub."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from jupyter_companion.client import CompanionClient
from jupyter_companion.client.discovery import ServerInfo
from tests.support.anthropic_server import ScriptedAnthropic, Text, ToolUse
from tests.support.clis import claude_cli_env, ensure_cli
from tests.support.hub import Hub, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]

TIMEOUT = 8  # seconds of inactivity after which the culler stops a server
TOUCH = {"command": "touch culled-then-allowed.txt", "description": "Create a file"}


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[Hub]:
    """A hub whose servers report activity every second and that looks at the proxy every second."""
    with ScriptedAnthropic() as srv:
        srv.on(r"think for a while", Text(" ".join(f"step{i}" for i in range(150)), chunks=150, delay=0.2))
        srv.on(r"please make a file", [Text("Making it."), ToolUse("Bash", TOUCH)])
        srv.on(r"allowed it: please carry on", ToolUse("Bash", TOUCH))
        srv.on_tool_result(Text("Done after the cull."))
        settings = {"ClaudeBackend": {"binary": ensure_cli("claude")},
                    "CompanionApp": {"cli_env": claude_cli_env(srv.base_url, tmp_path / "cli-home")}}
        deployment = Hub(tmp_path / "hub", ["ada"], server_settings=settings,
                         server_env={"JUPYTERHUB_ACTIVITY_INTERVAL": "1"},
                         extra_config={"JupyterHub": {"last_activity_interval": 1}}).start()
        try:
            (deployment.home("ada") / "project").mkdir(parents=True)
            yield deployment
        finally:
            deployment.stop()


@pytest.fixture
def culler(hub: Hub) -> Iterator[subprocess.Popen[bytes]]:
    """``jupyterhub-idle-culler`` as Zero to JupyterHub runs it, with a timeout of seconds."""
    env = {"JUPYTERHUB_API_TOKEN": hub.admin_token, "PATH": "/usr/bin:/bin"}
    with open(hub.root / "culler.log", "ab") as log:
        proc = subprocess.Popen([sys.executable, "-m", "jupyterhub_idle_culler", f"--url={hub.url}hub/api",  # noqa: S603
                                 f"--timeout={TIMEOUT}", "--cull-every=1"], env=env, stdout=log,
                                stderr=subprocess.STDOUT)
    try:
        yield proc
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def running(hub: Hub) -> bool:
    """Whether the hub has ada's server (asked of the hub's API, not through the proxy: no activity)."""
    return "" in (hub.api("GET", "users/ada")[1].get("servers") or {})


def test_the_culler_spares_an_agent_at_work_and_stops_one_waiting_for_a_human(
    hub: Hub, culler: subprocess.Popen[bytes]
) -> None:
    hub.start_server("ada")
    ada = CompanionClient(server=ServerInfo(f"{hub.url}user/ada/", hub.token("ada")))
    session = ada.create_session("claude", cwd="project", name="long turn")
    started = time.monotonic()
    ada.send_message(session["id"], "think for a while")  # ~30 s of streaming, nobody watching
    while time.monotonic() - started < 4 * TIMEOUT:  # far past the timeout: still running
        assert running(hub), f"culled while the agent was working ({time.monotonic() - started:.0f} s)"
        time.sleep(1)
    outcome = ada.follow(session["id"], 0, idle_timeout=120)
    assert outcome.kind == "result" and not outcome.is_error, outcome
    assert outcome.event is not None and outcome.event["text"].endswith("step149")

    waiting = ada.run_turn(session["id"], "please make a file", idle_timeout=120)
    assert waiting.kind == "permission", waiting
    wait_for(lambda: not running(hub), timeout=TIMEOUT * 8)  # a human is awaited: culled
    log = (hub.root / "culler.log").read_text(errors="replace")
    assert "Culling server" in log or "culling" in log.lower(), log[-2000:]

    hub.start_server("ada")
    info = ada.get_session(session["id"])
    assert [p["held"] for p in info["pending_permissions"]] == [True]
    assert waiting.request_id is not None
    done = ada.answer_and_follow(session["id"], waiting.request_id, "allow", idle_timeout=120)
    assert done.kind == "result" and done.event is not None and done.event["text"] == "Done after the cull."
    assert (hub.home("ada") / "project" / "culled-then-allowed.txt").exists()

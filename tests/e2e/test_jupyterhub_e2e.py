"""Through a REAL JupyterHub (issue 16): the hub, configurable-http-proxy, two users' single-user
servers spawned by the hub, each running this extension, and the REAL Claude CLI against a scripted
Messages API. Everything goes through the proxy under ``/user/<name>/`` with hub tokens, as a
team's clients would."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from jupyter_companion.client import CompanionClient, CompanionHTTPError
from jupyter_companion.client.discovery import ServerInfo
from tests.support.anthropic_server import ScriptedAnthropic, Text, ToolUse
from tests.support.clis import claude_cli_env, ensure_cli
from tests.support.hub import Hub, wait_for
from tests.support.server import process_alive

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]

TOUCH = {"command": "touch after-the-cull.txt", "description": "Create a file"}
READ_ONLY = ["access:servers!server=ada/", "custom:jupyter_server:read:*!server=ada/"]


@pytest.fixture(scope="module")
def model_server() -> Iterator[ScriptedAnthropic]:
    """Replies for both users' agents."""
    with ScriptedAnthropic() as srv:
        srv.on(r"please make a file", [Text("Making it."), ToolUse("Bash", TOUCH)])
        srv.on(r"allowed it: please carry on", ToolUse("Bash", TOUCH))
        srv.on_tool_result(Text("The file is there."))
        srv.on(None, lambda req: Text(f"Hub reply: {req.last_user_text}", chunks=6, delay=0.02))
        yield srv


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory, model_server: ScriptedAnthropic) -> Iterator[Hub]:
    """A running hub with users ada and bob, each server running the real Claude CLI."""
    root = tmp_path_factory.mktemp("hub")
    settings = {
        "ClaudeBackend": {"binary": ensure_cli("claude")},
        "HubOAuth": {"cache_max_age": 2},
        "CompanionApp": {"cli_env": claude_cli_env(model_server.base_url, root / "cli-home"),
                         "hang_timeout": 120.0},
    }
    deployment = Hub(root, ["ada", "bob"], server_settings=settings).start()
    try:
        yield deployment
    finally:
        deployment.stop()


@pytest.fixture(scope="module")
def tokens(hub: Hub) -> dict[str, str]:
    """Each user's API token, their servers started by the hub with a project folder."""
    for user in ("ada", "bob"):
        (hub.home(user) / "project").mkdir(parents=True, exist_ok=True)
        hub.start_server(user)
    return {user: hub.token(user) for user in ("ada", "bob")}


def client(hub: Hub, owner: str, token: str) -> CompanionClient:
    """Our Python client on ``owner``'s server through the proxy."""
    return CompanionClient(server=ServerInfo(f"{hub.url}user/{owner}/", token, root_dir=str(hub.home(owner))))


def test_a_streamed_reply_through_the_proxy_and_users_kept_apart(hub: Hub, tokens: dict[str, str]) -> None:
    ada = client(hub, "ada", tokens["ada"])
    session = ada.create_session("claude", cwd="project", name="ada's work")
    events: list[dict[str, Any]] = []
    outcome = ada.run_turn(session["id"], "hello from ada", on_event=events.append, idle_timeout=120)
    assert outcome.kind == "result" and not outcome.is_error
    deltas = "".join(e["text"] for e in events if e["type"] == "stream_delta" and e.get("kind") == "text")
    assert deltas == "Hub reply: hello from ada"  # streamed in pieces over the WebSocket, through the proxy
    assert len([e for e in events if e["type"] == "stream_delta"]) > 1

    bob = client(hub, "bob", tokens["bob"])
    bob_session = bob.create_session("claude", cwd="project", name="bob's work")
    assert [s["id"] for s in ada.list_sessions()] == [session["id"]]
    assert [s["id"] for s in bob.list_sessions()] == [bob_session["id"]]
    # bob's token on ada's server: refused by the hub's auth before reaching a companion route
    for method, path, body in (("GET", "sessions", None), ("POST", "sessions", {"backend": "claude"}),
                               ("GET", f"sessions/{session['id']}/events", None)):
        status, answer = hub.companion("ada", method, path, tokens["bob"], body)
        assert status in (401, 403), (method, path, status, answer)
    assert hub.companion("ada", "GET", "sessions", "")[0] in (302, 401, 403)
    # nor does bob's data live where ada's does: each server has its own SQLite file in its home
    assert (hub.home("ada") / ".local/share/jupyter/companion/companion.db").exists()
    assert (hub.home("bob") / ".local/share/jupyter/companion/companion.db").exists()


def test_the_hub_stopping_and_starting_a_server_keeps_the_session(hub: Hub, tokens: dict[str, str]) -> None:
    ada = client(hub, "ada", tokens["ada"])
    session = ada.create_session("claude", cwd="project", name="survives")
    ada.run_turn(session["id"], "remember the word heron", idle_timeout=120)
    pid = ada.get_session(session["id"])["pid"]
    assert pid
    hub.stop_server("ada")
    assert not process_alive(pid), "the CLI outlived its server"
    hub.start_server("ada")
    again = ada.get_session(session["id"])
    assert again["name"] == "survives" and again["phase"] == "terminated"
    outcome = ada.run_turn(session["id"], "what was the word?", idle_timeout=120)
    assert outcome.kind == "result" and not outcome.is_error
    texts = [e.get("text") for e in ada.all_events(session["id"]) if e["type"] == "result"]
    assert texts == ["Hub reply: remember the word heron", "Hub reply: what was the word?"]


def test_a_server_culled_while_a_permission_is_pending(hub: Hub, tokens: dict[str, str],
                                                      model_server: ScriptedAnthropic) -> None:
    """The culler's call (``DELETE users/ada/server``) during a pending request: the request is held,
    answered after the restart, and the agent carries on with the tool it had asked for."""
    ada = client(hub, "ada", tokens["ada"])
    session = ada.create_session("claude", cwd="project", name="culled")
    outcome = ada.run_turn(session["id"], "please make a file", idle_timeout=120)
    assert outcome.kind == "permission", outcome
    request_id = outcome.request_id
    pid = ada.get_session(session["id"])["pid"]
    hub.stop_server("ada")
    assert not process_alive(pid)
    hub.start_server("ada")
    info = ada.get_session(session["id"])
    assert [(p["request_id"], p["held"]) for p in info["pending_permissions"]] == [(request_id, True)]
    assert any(e.get("code") == "server_stopped" for e in ada.all_events(session["id"]))
    assert request_id is not None
    after = ada.answer_and_follow(session["id"], request_id, "allow", idle_timeout=120)
    assert after.kind == "result" and not after.is_error, after
    events = ada.all_events(session["id"])
    resolved = [e for e in events if e["type"] == "permission_resolved"]
    assert [(e["behavior"], e["by"]) for e in resolved] == [("allow", "user"), ("allow", "held")]
    assert (hub.home("ada") / "project" / "after-the-cull.txt").exists(), "the tool ran after the restart"
    assert next(e for e in events if e["type"] == "result")["text"] == "The file is there."


def test_watch_only_sharing_through_hub_scopes(hub: Hub, tokens: dict[str, str]) -> None:
    """ada shares her server with bob watch-only (JupyterHub's shares with the documented custom
    scopes): bob lists and follows, and everything that changes or runs something is refused."""
    status, share = hub.api("POST", "shares/ada/", {"user": "bob", "scopes": READ_ONLY}, token=tokens["ada"])
    assert status == 200, share
    watcher_token = hub.token("bob")
    ada = client(hub, "ada", tokens["ada"])
    watcher = client(hub, "ada", watcher_token)
    session = ada.create_session("claude", cwd="project", name="shared")
    assert session["id"] in [s["id"] for s in watcher.list_sessions()]
    assert watcher.status()["access"] == {"read": True, "write": False, "execute": False}
    assert ada.status()["access"] == {"read": True, "write": True, "execute": True}

    # bob follows a turn of ada's live
    seen: list[dict[str, Any]] = []
    after = int(ada.get_session(session["id"])["last_seq"])
    ada.send_message(session["id"], "a turn bob watches")
    followed = watcher.follow(session["id"], after, on_event=seen.append, idle_timeout=120)
    assert followed.kind == "result" and followed.event is not None
    assert followed.event["text"] == "Hub reply: a turn bob watches"
    assert [e for e in seen if e["type"] == "stream_delta"]

    refusals = [
        ("POST", "sessions", {"backend": "claude", "cwd": "project"}),
        ("POST", f"sessions/{session['id']}/messages", {"content": "hi"}),
        ("POST", f"sessions/{session['id']}/permissions/r1", {"behavior": "allow"}),
        ("POST", f"sessions/{session['id']}/archive", {}),
        ("PATCH", f"sessions/{session['id']}", {"name": "mine now"}),
        ("DELETE", f"sessions/{session['id']}", None),
    ]
    for method, path, body in refusals:
        status, answer = hub.companion("ada", method, path, watcher_token, body)
        assert status == 403, (method, path, status, answer)
        assert "watch-only" in answer["error"].lower() and "custom:jupyter_server:" in answer["error"], answer
    with pytest.raises(CompanionHTTPError) as refused:
        watcher.send_message(session["id"], "over the client too")
    assert refused.value.status == 403
    assert ada.get_session(session["id"])["name"] == "shared" and not ada.get_session(session["id"])["archived"]

    # revoking the share ends bob's access (once the server's cache of the token's scopes expires:
    # HubAuth.cache_max_age, 5 minutes by default, 2 s here)
    status, _ = hub.api("PATCH", "shares/ada/", {"user": "bob", "scopes": READ_ONLY}, token=tokens["ada"])
    assert status == 200
    wait_for(lambda: hub.companion("ada", "GET", "sessions", watcher_token)[0] in (401, 403), timeout=30)


def test_a_notebook_in_a_hub_server_runs_companion_magics_with_no_configuration(
    hub: Hub, tokens: dict[str, str]
) -> None:
    """``%companion`` in a kernel of ada's server finds it from the hub's variables alone."""
    env = _kernel_env(hub, "ada")
    code = (
        "from IPython.testing.globalipapp import start_ipython\n"
        "ip = start_ipython()\n"
        "ip.run_line_magic('load_ext', 'jupyter_companion')\n"
        "import os; os.environ['JUPYTER_COMPANION_TEXT'] = '1'\n"
        "ip.run_line_magic('companion', 'new --name from-a-notebook --cwd project')\n"
        "ip.run_line_magic('companion', 'list')\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], env=env, cwd=hub.home("ada"), capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "from-a-notebook" in proc.stdout
    ada = client(hub, "ada", tokens["ada"])
    assert "from-a-notebook" in [s["name"] for s in ada.list_sessions()]
    cli = subprocess.run([sys.executable, "-m", "jupyter_companion.cli", "list", "--json"], env=env,
                         cwd=hub.home("ada"), capture_output=True, text=True, timeout=60)
    assert cli.returncode == 0, cli.stderr
    assert "from-a-notebook" in [s["name"] for s in json.loads(cli.stdout)["sessions"]]


def _kernel_env(hub: Hub, user: str) -> dict[str, str]:
    """What the hub gave ``user``'s server (and so its kernels), read from the server process."""
    for proc_dir in Path("/proc").iterdir():
        if not proc_dir.name.isdigit():
            continue
        try:
            raw = (proc_dir / "environ").read_bytes()
        except OSError:
            continue
        pairs = dict(item.split("=", 1) for item in raw.decode(errors="replace").split("\0") if "=" in item)
        if pairs.get("JUPYTERHUB_USER") == user and pairs.get("JUPYTERHUB_API_TOKEN"):
            keep = {k: v for k, v in pairs.items() if not k.startswith(("JUPYTER_COMPANION_",))}
            keep["JUPYTER_RUNTIME_DIR"] = keep.get("JUPYTER_RUNTIME_DIR") or str(
                hub.home(user) / ".local/share/jupyter/runtime")
            return keep
    raise AssertionError(f"no server process of {user} found")



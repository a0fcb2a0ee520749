"""The server stops in the middle of a turn (an idle culler, a restart, a crash): the turn is reported
interrupted, no CLI outlives the server, and a pending permission request is held and answerable
after the restart (sessions/held.py). A real ``jupyter server`` process with the fake CLI; the
JupyterHub e2e drives the same with the real Claude CLI under a hub."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.support.server import JupyterServerProcess, process_alive, wait_until

pytestmark = pytest.mark.timeout(180)


def _events(server: JupyterServerProcess, sid: str) -> list[dict[str, Any]]:
    status, answer = server.request("GET", f"companion/api/sessions/{sid}/events")
    assert status == 200, answer
    return list(answer["events"])




@pytest.fixture
def servers(tmp_path: Path, fake_claude_bin: str) -> Any:
    root = tmp_path / "root"
    (root / "proj").mkdir(parents=True)
    args = [f"--ClaudeBackend.binary={fake_claude_bin}"]

    def make(token: str | None = None) -> JupyterServerProcess:
        server = JupyterServerProcess(root, tmp_path / "state", args=args)
        if token:
            server.token = token
        return server

    return make


def _waiting_for_permission(server: JupyterServerProcess) -> tuple[str, dict[str, Any], int]:
    status, session = server.request("POST", "companion/api/sessions", {"backend": "claude", "cwd": "proj"})
    assert status == 201, session
    sid = session["id"]
    server.request("POST", f"companion/api/sessions/{sid}/messages", {"content": "touch held.txt"})
    wait_until(lambda: server.request("GET", f"companion/api/sessions/{sid}")[1]["pending_permissions"])
    info = server.request("GET", f"companion/api/sessions/{sid}")[1]
    return sid, info["pending_permissions"][0], int(info["pid"])


def _held_over_a_stop(servers: Any) -> tuple[str, str, dict[str, Any], int]:
    """A server whose session waits for a permission, stopped with SIGTERM (as JupyterHub's spawner
    stops a culled server): ``(token, session id, the request, the CLI's pid)``."""
    first = servers().start()
    try:
        sid, request, pid = _waiting_for_permission(first)
    finally:
        first.stop()
    return first.token, sid, request, pid


def test_a_request_pending_at_a_stop_is_held_and_allowing_it_resumes_the_agent(servers: Any) -> None:
    token, sid, request, pid = _held_over_a_stop(servers)
    assert not process_alive(pid), "the CLI outlived its server"

    with servers(token) as again:
        info = again.request("GET", f"companion/api/sessions/{sid}")[1]
        assert info["phase"] == "terminated" and info["pid"] is None
        [held] = info["pending_permissions"]
        assert held["request_id"] == request["request_id"] and held["held"] is True and held["tool_name"] == "Bash"
        report = next(e for e in _events(again, sid) if e["type"] == "error" and e.get("code") == "server_stopped")
        assert report["held_requests"] == [request["request_id"]] and "answer it" in report["message"]
        assert not [e for e in _events(again, sid) if e["type"] == "permission_resolved"]

        status, answer = again.request("POST", f"companion/api/sessions/{sid}/permissions/{request['request_id']}",
                                       {"behavior": "allow"})
        assert status == 200, answer

        def carried_on() -> dict[str, Any] | None:
            return next((e for e in _events(again, sid) if e["type"] == "result"), None)

        wait_until(carried_on, timeout=60)
        events = _events(again, sid)
        resolved = next(e for e in events if e["type"] == "permission_resolved")
        assert (resolved["behavior"], resolved["held"]) == ("allow", True)
        assert any(e.get("code") == "held_permission_allowed" for e in events)
        # the relaunched CLI (resumed) was asked to carry on with the tool it had asked for
        result = carried_on()
        assert result is not None and "restarted while you waited for permission to use Bash" in result["text"]
        assert again.request("GET", f"companion/api/sessions/{sid}")[1]["pending_permissions"] == []


def test_a_denied_held_request_is_told_to_the_agent_with_the_next_prompt(servers: Any) -> None:
    token, sid, request, _ = _held_over_a_stop(servers)
    with servers(token) as again:
        status, _ = again.request("POST", f"companion/api/sessions/{sid}/permissions/{request['request_id']}",
                                  {"behavior": "deny", "message": "not that file"})
        assert status == 200
        info = again.request("GET", f"companion/api/sessions/{sid}")[1]
        assert info["pending_permissions"] == [] and info["phase"] == "terminated" and "held_note" not in info
        again.request("POST", f"companion/api/sessions/{sid}/messages", {"content": "what now?"})
        wait_until(lambda: any(e["type"] == "result" for e in _events(again, sid)), timeout=60)
        result = next(e for e in _events(again, sid) if e["type"] == "result")
        assert "the user denied it (not that file)" in result["text"] and result["text"].endswith("what now?")
        # the note went once
        again.request("POST", f"companion/api/sessions/{sid}/messages", {"content": "and then?"})
        wait_until(lambda: len([e for e in _events(again, sid) if e["type"] == "result"]) == 2, timeout=60)
        assert [e for e in _events(again, sid) if e["type"] == "result"][-1]["text"] == "echo: and then?"


def test_a_turn_cut_by_a_crash_is_reported_at_restore_with_retry(servers: Any) -> None:
    first = servers().start()
    try:
        status, session = first.request("POST", "companion/api/sessions", {"backend": "claude", "cwd": "proj"})
        sid = session["id"]
        first.request("POST", f"companion/api/sessions/{sid}/messages", {"content": "hang"})
        wait_until(lambda: first.request("GET", f"companion/api/sessions/{sid}")[1]["phase"] == "streaming")
        pid = int(first.request("GET", f"companion/api/sessions/{sid}")[1]["pid"])
        first.kill9()
    finally:
        first.stop()
    wait_until(lambda: not process_alive(pid), timeout=20)  # its input closed with the server: it exits
    with servers(first.token) as again:
        report = next(e for e in _events(again, sid) if e["type"] == "error" and e.get("code") == "server_stopped")
        assert report["retry"] is True and "interrupted" in report["message"]
        assert again.request("GET", f"companion/api/sessions/{sid}")[1]["phase"] == "terminated"


async def test_an_agent_at_work_is_server_activity_but_a_waiting_request_is_not(
    jp_serverapp: Any, api: Any, connect: Any, workdir: Path
) -> None:
    """Jupyter's ``last_activity`` (what JupyterHub's idle culler reads) moves while an agent works."""
    import asyncio

    settings = jp_serverapp.web_app.settings
    status, session = await api("POST", "sessions", body={"backend": "claude", "cwd": "project"})
    assert status == 201, session
    stream = await connect(session["id"])
    settings.pop("companion_last_activity", None)
    await stream.send({"type": "user_message", "content": "slow"})
    await stream.until_type("result", timeout=60)
    noted = settings["companion_last_activity"]
    assert jp_serverapp.web_app.last_activity() >= noted
    await stream.send({"type": "user_message", "content": "touch waiting.txt"})
    await stream.until_type("permission_request", timeout=30)
    await asyncio.sleep(0.2)
    settings.pop("companion_last_activity", None)
    await asyncio.sleep(1.5)
    assert "companion_last_activity" not in settings  # a human is awaited: the server may be culled
    stream.close()


def test_a_jupyterhub_named_server_gets_a_database_of_its_own(monkeypatch: pytest.MonkeyPatch) -> None:
    """A user's named servers share the home; each keeps its sessions apart from the others'."""
    from jupyter_companion.app import CompanionApp

    monkeypatch.setenv("JUPYTERHUB_SERVER_NAME", "gpu/../x")
    named = Path(CompanionApp().db_path)
    assert named.parts[-4:] == ("companion", "servers", "gpu_.._x", "companion.db")
    monkeypatch.setenv("JUPYTERHUB_SERVER_NAME", "")
    assert Path(CompanionApp().db_path).parts[-2:] == ("companion", "companion.db")


def test_a_held_request_allowed_while_a_newer_turn_runs_is_told_after_it(servers: Any) -> None:
    token, sid, request, _ = _held_over_a_stop(servers)
    with servers(token) as again:
        again.request("POST", f"companion/api/sessions/{sid}/messages", {"content": "slow"})
        wait_until(lambda: again.request("GET", f"companion/api/sessions/{sid}")[1]["phase"] == "streaming")
        status, _ = again.request("POST", f"companion/api/sessions/{sid}/permissions/{request['request_id']}",
                                  {"behavior": "allow"})
        assert status == 200
        notice = next(e for e in _events(again, sid) if e.get("code") == "held_permission_allowed")
        assert "told with your next message" in notice["message"]
        wait_until(lambda: any(e["type"] == "result" for e in _events(again, sid)), timeout=60)
        again.request("POST", f"companion/api/sessions/{sid}/messages", {"content": "go on"})
        wait_until(lambda: len([e for e in _events(again, sid) if e["type"] == "result"]) == 2, timeout=60)
        last = [e for e in _events(again, sid) if e["type"] == "result"][-1]["text"]
        assert "The user has now allowed it" in last and last.endswith("go on")

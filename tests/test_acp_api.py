"""ACP backends through the public API, with the scripted ACP agent configured in
``c.AcpBackend.agents`` of a real Jupyter server: status, a turn, permissions from REST with the
agent's "always" option, a file write outside the session folder refused, protocol drift counted.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

FAKE_AGENT = str(Path(__file__).parent / "support" / "fake_acp_agent.py")


@pytest.fixture
def companion_config(companion_config: dict[str, Any], tmp_path: Path) -> dict[str, Any]:
    state = tmp_path / "fake-acp-state"
    state.mkdir()
    return {**companion_config, "cli_env": {"FAKE_ACP_STATE": str(state)}}


@pytest.fixture
def jp_server_config(jp_server_config: dict[str, Any], tmp_path: Path) -> dict[str, Any]:
    agents = {
        "fake": {"command": [sys.executable, FAKE_AGENT], "label": "Scripted agent"},
        "absent": {"command": [str(tmp_path / "no-such-agent")]},
    }
    return {**jp_server_config, "AcpBackend": {"agents": agents}}


async def test_status_shows_acp_agents(api: Any, workdir: Path) -> None:
    _, status = await api("GET", "status")
    backends = {b["name"]: b for b in status["backends"]}
    assert backends["fake"]["protocol"] == "acp" and backends["fake"]["available"] is True
    assert backends["fake"]["label"] == "Scripted agent"
    assert backends["absent"] == {"name": "absent", "label": "absent", "available": False, "protocol": "acp",
                                  "reason": f"{Path(backends['absent']['reason'].split()[0])} was not found",
                                  "conversations": False}
    _, listed = await api("GET", "backends")
    models = next(b["models"] for b in listed["backends"] if b["name"] == "fake")
    assert models == [{"id": "fast", "label": "Fast"}, {"id": "smart", "label": "Smart"}]  # from a probe session
    modes = next(b["modes"] for b in listed["backends"] if b["name"] == "fake")
    assert [m["id"] for m in modes] == ["default", "acceptEdits", "plan"]
    status_code, refused = await api("POST", "sessions", body={"backend": "absent", "cwd": "project"})
    assert (status_code, "was not found" in refused["error"]) == (400, True), refused


async def test_a_turn_and_a_permission_answered_over_rest(api: Any, connect: Any, workdir: Path) -> None:
    status, session = await api("POST", "sessions", body={"backend": "fake", "cwd": "project", "model": "smart"})
    assert status == 201, session
    assert session["model"] == "smart" and session["cli_session_id"].startswith("fake-")
    stream = await connect(session["id"])
    await stream.send({"type": "user_message", "content": "hello api"})
    result = await stream.until_type("result")
    assert result["text"] == "Hello hello api" and result["is_error"] is False
    await stream.send({"type": "user_message", "content": "run make build"})
    request = await stream.until_type("permission_request")
    assert request["tool_name"] == "Bash" and request["input"]["command"] == "make build"
    _, info = await api("GET", "sessions", session["id"])
    assert info["phase"] == "awaiting_permission" and request["request_id"] in {
        p["request_id"] for p in info["pending_permissions"]}
    status, _ = await api("POST", "sessions", session["id"], "permissions", request["request_id"],
                          body={"behavior": "allow", "updated_permissions": request["suggestions"]})
    assert status == 200
    resolved = await stream.until_type("permission_resolved")
    assert resolved["behavior"] == "allow" and resolved["by"] == "user"
    done = await stream.until(lambda e: e["type"] == "tool_result")
    assert done["content"] == "always: make build" and done["is_error"] is False


async def test_a_write_outside_the_folder_is_refused_and_shown(api: Any, connect: Any, workdir: Path,
                                                               tmp_path: Path) -> None:
    _, session = await api("POST", "sessions", body={"backend": "fake", "cwd": "project"})
    stream = await connect(session["id"])
    outside = tmp_path / "escaped.txt"
    await stream.send({"type": "user_message", "content": f"write {outside}"})
    notice = await stream.until(lambda e: e.get("code") == "fs_write_refused")
    assert str(outside) in notice["message"]
    result = await stream.until_type("result")
    assert result["text"].startswith("refused: Invalid params") and not outside.exists()
    await stream.send({"type": "user_message", "content": f"write {workdir / 'inside.txt'}"})
    await stream.until(lambda e: e["type"] == "result" and e["seq"] > result["seq"])
    assert (workdir / "inside.txt").read_text() == "written\n"


async def test_drift_is_counted_not_shown(api: Any, connect: Any, workdir: Path) -> None:
    _, session = await api("POST", "sessions", body={"backend": "fake", "cwd": "project"})
    stream = await connect(session["id"])
    await stream.send({"type": "user_message", "content": "drift"})
    result = await stream.until_type("result")
    assert result["text"] == "still here"
    _, status = await api("GET", "status")
    drift = {d["what"] for d in status["protocol_drift"] if d["backend"] == "fake"}
    assert {"acp update brand_new_update", "acp notification x/brand_new_notification"} <= drift
    assert "brand_new" not in str([e for e in stream.events if e["type"] != "stream_delta"])

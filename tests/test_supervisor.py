"""Supervisor policy with the fake CLI: crash relaunch and budget, hang, idle, phase table."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from jupyter_companion.sessions.phases import TRANSITIONS, can_transition

pytestmark = pytest.mark.timeout(90)


@pytest.fixture
def companion_config(companion_config: dict[str, Any]) -> dict[str, Any]:
    return {**companion_config, "hang_timeout": 1.0, "idle_timeout": 1.0, "watchdog_interval": 0.2}


async def _session(api: Any) -> dict[str, Any]:
    status, session = await api("POST", "sessions", body={"backend": "claude", "cwd": "project"})
    assert status == 201, session
    return session


async def test_crashing_cli_is_relaunched_then_given_up(api: Any, connect: Any, workdir: Path) -> None:
    session = await _session(api)
    stream = await connect(session["id"])
    pids = set()
    for attempt in range(4):
        if attempt:
            await stream.until(lambda e: e.get("code") == "relaunched", timeout=20)
        _, info = await api("GET", "sessions", session["id"])
        pids.add(info["pid"])
        await stream.send({"type": "user_message", "content": "crash"})
        await stream.until(lambda e: e.get("code") == "cli_exited", timeout=20)
    exhausted = await stream.until(lambda e: e.get("code") == "relaunch_exhausted", timeout=20)
    assert "keeps crashing" in exhausted["message"]
    assert len(pids) == 4  # the first launch and three relaunches
    relaunches = [e for e in stream.events if e.get("code") == "relaunched"]
    assert len(relaunches) == 3
    _, info = await api("GET", "sessions", session["id"])
    assert info["pid"] is None and info["phase"] == "terminated"
    # a prompt still brings it back, resuming the same CLI conversation
    await stream.send({"type": "user_message", "content": "hello again"})
    result = await stream.until_type("result", timeout=20)
    assert result["text"] == "echo: hello again"


async def test_hung_cli_is_stopped_and_relaunched_by_the_next_prompt(api: Any, connect: Any, workdir: Path) -> None:
    session = await _session(api)
    stream = await connect(session["id"])
    await stream.send({"type": "user_message", "content": "hang"})
    hung = await stream.until(lambda e: e.get("code") == "cli_hung", timeout=20)
    assert "sent nothing" in hung["message"] and hung["retry"] is True
    await stream.until(lambda e: e["type"] == "phase" and e["phase"] == "terminated")
    await asyncio.sleep(0.5)
    assert not any(e.get("code") == "relaunched" for e in stream.events)  # intentional: no auto-relaunch
    await stream.send({"type": "user_message", "content": "are you back"})
    assert (await stream.until_type("result", timeout=20))["text"] == "echo: are you back"


async def test_a_cli_that_cannot_reach_its_model_says_so_and_is_stopped_with_the_reason(
    api: Any, connect: Any, workdir: Path
) -> None:
    session = await _session(api)
    stream = await connect(session["id"])
    await stream.send({"type": "user_message", "content": "unreachable"})
    retrying = await stream.until(lambda e: e.get("code") == "model_retrying", timeout=20)
    assert retrying["level"] == "warning" and retrying["attempt"] == 1 and retrying["max_attempts"] == 10
    assert retrying["message"].startswith("The model could not be reached (no connection to the model's server)")
    stopped = await stream.until(lambda e: e["type"] == "error", timeout=20)
    assert stopped["code"] == "model_unreachable" and stopped["retry"] is True
    assert "could not reach its model (no connection to the model's server)" in stopped["message"]
    await stream.until(lambda e: e["type"] == "phase" and e["phase"] == "terminated")
    # Retry sends the prompt again to a relaunched CLI
    status, body = await api("POST", "sessions", session["id"], "retry", body={})
    assert status == 202 and body["retry_of"]
    await stream.until(lambda e: e["type"] == "user_message" and e.get("retry_of") == body["retry_of"], timeout=20)


async def test_pending_permission_pauses_the_hang_watchdog(api: Any, connect: Any, workdir: Path) -> None:
    session = await _session(api)
    stream = await connect(session["id"])
    await stream.send({"type": "user_message", "content": "touch waited.txt"})
    request = await stream.until_type("permission_request")
    await asyncio.sleep(1.8)  # longer than hang_timeout
    assert not any(e.get("code") == "cli_hung" for e in stream.events)
    await stream.send({"type": "permission_response", "request_id": request["request_id"], "behavior": "allow"})
    await stream.until_type("result")
    assert (workdir / "waited.txt").exists()


async def test_idle_cli_without_subscribers_is_stopped(api: Any, connect: Any, workdir: Path) -> None:
    session = await _session(api)
    stream = await connect(session["id"])
    await stream.send({"type": "user_message", "content": "hi"})
    await stream.until_type("result")
    _, info = await api("GET", "sessions", session["id"])
    assert info["pid"]
    stream.close()
    for _ in range(50):
        await asyncio.sleep(0.2)
        _, info = await api("GET", "sessions", session["id"])
        if info["pid"] is None:
            break
    assert info["pid"] is None and info["phase"] == "terminated"
    _, data = await api("GET", "sessions", session["id"], "events")
    assert any(e.get("code") == "idle_stopped" for e in data["events"])
    # subscribing again relaunches it
    again = await connect(session["id"], after=data["last_seq"])
    await again.until(lambda e: e["type"] == "phase" and e["phase"] == "ready", timeout=20)


async def test_cancelled_permission_on_interrupt(api: Any, connect: Any, workdir: Path) -> None:
    session = await _session(api)
    stream = await connect(session["id"])
    await stream.send({"type": "user_message", "content": "touch never.txt"})
    request = await stream.until_type("permission_request")
    await stream.send({"type": "interrupt"})
    resolved = await stream.until_type("permission_resolved")
    assert resolved == {**resolved, "request_id": request["request_id"], "by": "cli", "behavior": "cancelled"}
    _, info = await api("GET", "sessions", session["id"])
    assert info["pending_permissions"] == []
    assert not (workdir / "never.txt").exists()


def test_phase_table_is_closed_and_terminated_only_restarts() -> None:
    phases = set(TRANSITIONS)
    for targets in TRANSITIONS.values():
        assert targets <= phases
    assert TRANSITIONS["terminated"] == {"starting"}
    assert can_transition("ready", "ready")
    assert not can_transition("terminated", "streaming")
    assert all(can_transition(p, "terminated") for p in phases if p != "terminated")


async def test_unresumable_conversation_starts_afresh_with_a_clear_error(api: Any, connect: Any, workdir: Path) -> None:
    status, session = await api("POST", "sessions", body={"backend": "claude", "cwd": "project", "resume_session": "lost-123"})
    assert status == 201, session
    stream = await connect(session["id"])
    lost = await stream.until(lambda e: e.get("code") == "context_lost")
    assert "new one was started" in lost["message"] and lost["type"] == "error"
    await stream.send({"type": "user_message", "content": "fresh start"})
    assert (await stream.until_type("result"))["text"] == "echo: fresh start"  # nothing to recap: sent as written
    assert not [e for e in stream.events if e.get("code") == "context_restored"]
    _, info = await api("GET", "sessions", session["id"])
    assert info["cli_session_id"] != "lost-123"

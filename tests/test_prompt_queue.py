"""A prompt sent while the agent answers waits, visibly, and goes after the turn: its
``user_message`` follows the answer it waited for, in the log as on every screen; it can be
withdrawn until then; a crash does not lose it."""

from __future__ import annotations

import os
import signal
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.timeout(120)


async def _busy_session(api: Any, connect: Any) -> tuple[str, Any]:
    """A session in the middle of a long answer (the fake CLI's ``slow``)."""
    status, session = await api("POST", "sessions", body={"backend": "claude", "cwd": "project"})
    assert status == 201
    stream = await connect(session["id"])
    await stream.send({"type": "user_message", "content": "slow", "client_msg_id": "first"})
    await stream.until(lambda e: e.get("type") == "stream_delta")
    return session["id"], stream


async def test_a_prompt_sent_mid_answer_waits_and_follows_the_answer(api: Any, connect: Any, workdir: Path) -> None:
    sid, stream = await _busy_session(api, connect)
    await stream.send({"type": "user_message", "content": "second", "client_msg_id": "q2"})
    ack = await stream.until(lambda e: e.get("type") == "ack" and e["client_msg_id"] == "q2")
    assert ack["queued"] is True
    update = await stream.until(lambda e: e.get("type") == "session_update" and e.get("queued_messages"))
    [waiting] = update["queued_messages"]
    assert waiting["content"] == "second" and waiting["client_msg_id"] == "q2" and waiting["id"] and waiting["queued_at"]
    _, info = await api("GET", "sessions", sid)
    assert [q["content"] for q in info["queued_messages"]] == ["second"]
    assert not [e for e in stream.events if e.get("type") == "user_message" and e["content"] == "second"]

    await stream.send({"type": "interrupt"})  # end the long turn sooner
    second = await stream.until(lambda e: e.get("type") == "user_message" and e["content"] == "second")
    assert second["client_msg_id"] == "q2"
    await stream.until(lambda e: e.get("type") == "result" and e.get("text") == "echo: second")
    _, body = await api("GET", "sessions", sid, "events", params={"after": "0"})
    kinds = [(e["type"], e.get("content") or e.get("text")) for e in body["events"]
             if e["type"] in ("user_message", "result")]
    assert kinds[0] == ("user_message", "slow") and kinds[1][0] == "result"  # the first turn ends first
    assert kinds[2:] == [("user_message", "second"), ("result", "echo: second")]
    _, info = await api("GET", "sessions", sid)
    assert info["queued_messages"] == []


async def test_a_waiting_prompt_can_be_withdrawn(api: Any, connect: Any, workdir: Path) -> None:
    sid, stream = await _busy_session(api, connect)
    status, reply = await api("POST", "sessions", sid, "messages", body={"content": "never mind", "client_msg_id": "q3"})
    assert status == 202 and reply["queued"] is True and reply["duplicate"] is False
    status, again = await api("POST", "sessions", sid, "messages", body={"content": "never mind", "client_msg_id": "q3"})
    assert again["duplicate"] is True and again["queued"] is False  # the same id is not queued twice
    _, info = await api("GET", "sessions", sid)
    [waiting] = info["queued_messages"]
    status, body = await api("DELETE", "sessions", sid, "queued", waiting["id"])
    assert status == 200 and body == {"ok": True}
    status, body = await api("DELETE", "sessions", sid, "queued", waiting["id"])
    assert status == 404 and "may have been sent already" in body["error"]
    # over the socket, too (an unknown id is a clear error)
    await stream.send({"type": "cancel_queued", "queued_id": "nope", "client_msg_id": "c1"})
    error = await stream.until(lambda e: e.get("type") == "error" and e.get("client_msg_id") == "c1")
    assert "no queued message 'nope'" in error["message"]
    await stream.send({"type": "interrupt"})
    await stream.until(lambda e: e.get("type") == "result")
    await stream.send({"type": "user_message", "content": "next"})
    await stream.until(lambda e: e.get("type") == "result" and e.get("text") == "echo: next")
    assert not [e for e in stream.events if e.get("type") == "user_message" and e["content"] == "never mind"]


async def test_a_waiting_prompt_survives_a_crash(api: Any, connect: Any, workdir: Path) -> None:
    sid, stream = await _busy_session(api, connect)
    await stream.send({"type": "user_message", "content": "after the crash", "client_msg_id": "q4"})
    await stream.until(lambda e: e.get("type") == "ack" and e["client_msg_id"] == "q4")
    _, info = await api("GET", "sessions", sid)
    os.kill(info["pid"], signal.SIGKILL)
    await stream.until(lambda e: e.get("code") == "relaunched")
    # the relaunched CLI gets the waiting prompt
    await stream.until(lambda e: e.get("type") == "result" and e.get("text") == "echo: after the crash")
    delivered = [e for e in stream.events if e.get("type") == "user_message" and e["content"] == "after the crash"]
    assert len(delivered) == 1
    crash = next(e for e in stream.events if e.get("code") == "cli_exited")
    assert delivered[0]["seq"] > crash["seq"]


async def test_too_many_waiting_prompts_are_refused(api: Any, connect: Any, workdir: Path) -> None:
    from jupyter_companion.sessions.prompts import MAX_QUEUED

    sid, stream = await _busy_session(api, connect)
    for i in range(MAX_QUEUED):
        status, _ = await api("POST", "sessions", sid, "messages", body={"content": f"q{i}"})
        assert status == 202
    status, body = await api("POST", "sessions", sid, "messages", body={"content": "one too many"})
    assert status == 409 and "already waiting" in body["error"]

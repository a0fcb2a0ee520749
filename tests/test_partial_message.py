"""A client that connects (or reconnects) while an answer streams gets what was streamed so far at
once, as a ``snapshot`` delta, then the live deltas: with the final message, no gap and no
duplicate. Deltas stay transient (never stored)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.timeout(120)


async def test_a_client_joining_mid_stream_gets_the_start_of_the_answer(api: Any, connect: Any, workdir: Path) -> None:
    status, session = await api("POST", "sessions", body={"backend": "claude", "cwd": "project"})
    assert status == 201
    first = await connect(session["id"])
    await first.send({"type": "user_message", "content": "slow"})
    for _ in range(20):  # well into the answer
        await first.until(lambda e: e.get("type") == "stream_delta")
    late = await connect(session["id"], after=session["last_seq"])
    snapshot = await late.until(lambda e: e.get("type") == "stream_delta")
    assert snapshot["snapshot"] is True and snapshot["seq"] is None and len(snapshot["text"]) >= 20
    for _ in range(5):
        await late.until(lambda e: e.get("type") == "stream_delta")
    await late.send({"type": "interrupt"})  # the answer so far arrives whole in the assistant event
    assistant = await late.until(lambda e: e.get("type") == "assistant")
    deltas = [e for e in late.events if e.get("type") == "stream_delta"]
    assert [d.get("snapshot", False) for d in deltas].count(True) == 1
    text = assistant["message"]["content"][0]["text"]
    assert "".join(d["text"] for d in deltas) == text and 25 <= len(text) < 200
    await late.until_type("result")
    # the transient deltas were never stored; a client connecting after the turn gets no snapshot
    _, events = await api("GET", "sessions", session["id"], "events")
    assert not [e for e in events["events"] if e["type"] == "stream_delta"]
    after = await connect(session["id"], after=0)
    await after.until_type("result")
    assert not [e for e in after.events if e.get("type") == "stream_delta"]

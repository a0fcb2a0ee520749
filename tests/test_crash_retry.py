"""A CLI that dies in the middle of its answer loses nothing: what it had streamed is kept as an
``incomplete`` assistant message, the error says what happened in plain words, and Retry sends
the prompt again to the relaunched CLI (REST, WebSocket)."""

from __future__ import annotations

import os
import signal
from pathlib import Path
from typing import Any

import pytest

from jupyter_companion.sessions.supervisor import exit_in_words

pytestmark = pytest.mark.timeout(120)


async def test_a_crash_mid_answer_keeps_the_text_and_retry_sends_the_prompt_again(api: Any, connect: Any,
                                                                                 workdir: Path) -> None:
    status, session = await api("POST", "sessions", body={"backend": "claude", "cwd": "project"})
    sid = session["id"]
    stream = await connect(sid)
    await stream.send({"type": "user_message", "content": "slow"})
    for _ in range(15):
        await stream.until(lambda e: e.get("type") == "stream_delta")
    streamed = "".join(e["text"] for e in stream.events if e.get("type") == "stream_delta")
    _, info = await api("GET", "sessions", sid)
    os.kill(info["pid"], signal.SIGKILL)
    kept = await stream.until(lambda e: e.get("type") == "assistant")
    assert kept["incomplete"] is True and kept["seq"]
    assert kept["message"]["content"][0]["text"].startswith(streamed)
    error = await stream.until(lambda e: e.get("code") == "cli_exited")
    assert error["retry"] is True and error["exit_code"] == -9
    assert "stopped in the middle of its answer (killed by SIGKILL)" in error["message"]
    assert "Retry sends your last message again" in error["message"]
    await stream.until(lambda e: e.get("code") == "relaunched")

    status, answer = await api("POST", "sessions", sid, "retry", body={"client_msg_id": "again-1"})
    assert status == 202 and answer["duplicate"] is False
    prompt = await stream.until(lambda e: e.get("type") == "user_message" and e.get("retry_of"))
    assert prompt["content"] == "slow" and prompt["retry_of"] == answer["retry_of"] < kept["seq"]
    await stream.send({"type": "interrupt"})
    await stream.until(lambda e: e.get("type") == "result")
    status, again = await api("POST", "sessions", sid, "retry", body={"client_msg_id": "again-1"})
    assert status == 202 and again["duplicate"] is True

    await stream.send({"type": "retry", "client_msg_id": "again-2"})  # the same over the WebSocket
    ack = await stream.until(lambda e: e.get("type") == "ack" and e.get("client_msg_id") == "again-2")
    assert ack["duplicate"] is False
    second = await stream.until(lambda e: e.get("type") == "user_message" and e.get("client_msg_id") == "again-2")
    assert second["content"] == "slow" and second["retry_of"] == prompt["seq"]


async def test_retry_needs_an_earlier_prompt(api: Any, workdir: Path) -> None:
    _, session = await api("POST", "sessions", body={"backend": "claude", "cwd": "project"})
    status, body = await api("POST", "sessions", session["id"], "retry")
    assert status == 409 and "no earlier message" in body["error"]
    assert (await api("POST", "sessions", "nope", "retry"))[0] == 404


def test_exits_in_words() -> None:
    assert exit_in_words(-9) == "killed by SIGKILL" and exit_in_words(3) == "exit code 3"
    assert exit_in_words(None) == "its end was not reported" and exit_in_words(-200) == "killed by signal 200"

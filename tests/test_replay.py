"""The ``replay`` backend with the fake Claude CLI: a recorded session played back through the real
Claude adapter answers the same prompts with the same events (texts, tool calls, a permission
request answered as usual); a different prompt and a prompt past the end are said; bad requests
are refused."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.support.conversation import conversation, play_turn

pytestmark = pytest.mark.timeout(120)


async def _events(api: Any, session_id: str) -> list[dict[str, Any]]:
    _, events = await api("GET", "sessions", session_id, "events")
    return events["events"]


async def test_a_recorded_session_replays_with_the_same_events(api: Any, connect: Any, workdir: Path) -> None:
    _, original = await api("POST", "sessions", body={"backend": "claude", "cwd": "project"})
    await play_turn(api, connect, original["id"], "hello replay")
    await play_turn(api, connect, original["id"], "touch made-by-original.txt", allow=True)
    _, listed = await api("GET", "recordings", params={"session_id": original["id"]})
    rec_id = listed["recordings"][0]["id"]

    status, replay = await api("POST", "sessions", body={"backend": "replay", "recording": rec_id, "speed": 5,
                                                         "cwd": "project"})
    assert status == 201, replay
    assert replay["backend_options"]["recorded_backend"] == "claude"
    await play_turn(api, connect, replay["id"], "hello replay")
    await play_turn(api, connect, replay["id"], "touch made-by-original.txt", allow=True)
    assert conversation(await _events(api, replay["id"])) == conversation(await _events(api, original["id"]))

    stream = await connect(replay["id"])
    await api("POST", "sessions", replay["id"], "messages", body={"content": "one more"})
    notice = await stream.until(lambda e: e["type"] == "notice")
    assert notice["code"] == "replay_finished"
    result = await stream.until_type("result")
    assert result["is_error"] is True


async def test_a_different_prompt_is_said_and_answered_as_recorded(api: Any, connect: Any, workdir: Path) -> None:
    _, original = await api("POST", "sessions", body={"backend": "claude", "cwd": "project"})
    await play_turn(api, connect, original["id"], "the recorded prompt")
    rec_id = (await api("GET", "recordings", params={"session_id": original["id"]}))[1]["recordings"][0]["id"]
    (workdir.parent / "elsewhere").mkdir()
    _, replay = await api("POST", "sessions", body={"backend": "replay", "recording": rec_id, "cwd": "elsewhere"})
    stream = await connect(replay["id"])
    await api("POST", "sessions", replay["id"], "messages", body={"content": "something else"})
    notice = await stream.until(lambda e: e["type"] == "notice")
    assert notice["code"] == "replay_prompt_differs" and "the recorded prompt" in notice["message"]
    result = await stream.until_type("result")
    assert result["text"] == "echo: the recorded prompt"
    init = next(e for e in stream.events if e["type"] == "session_init")
    assert init["cwd"] == str((workdir.parent / "elsewhere").resolve())  # the recorded folder, shown as this one


async def test_the_new_session_form_gets_a_recording_picker(api: Any, connect: Any, workdir: Path) -> None:
    _, ui = await api("GET", "ui")
    picker = next(c for c in ui["contributions"] if c["plugin"] == "replay")
    assert picker["kind"] == "create_field" and picker["name"] == "recording" and picker["backends"] == ["replay"]
    _, original = await api("POST", "sessions", body={"backend": "claude", "cwd": "project"})
    await play_turn(api, connect, original["id"], "hello")
    _, found = await api("GET", picker["search"]["url"], params={picker["search"]["param"]: "claude"})
    assert [r["session_id"] for r in found["recordings"]] == [original["id"]]
    assert (await api("GET", "recordings", params={"query": "codex"}))[1]["recordings"] == []


async def test_replay_requests_are_checked(api: Any, workdir: Path) -> None:
    for body, words in (({}, "needs 'recording'"), ({"recording": "nope"}, "unknown recording"),
                        ({"recording": "x", "speed": 0}, "'speed'"), ({"recording": "x", "speed": True}, "'speed'")):
        status, answer = await api("POST", "sessions", body={"backend": "replay", **body})
        assert status == 400 and words in answer["error"], (body, answer)
    assert (await api("GET", "sessions"))[1]["sessions"] == []

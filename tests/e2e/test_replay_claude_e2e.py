"""Record a REAL Claude Code session (scripted model server: text, a file read, a permission asked
and allowed, an edit) and replay it through the real Claude adapter with no model server at all:
the same texts, tool calls, permission request and results."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.anthropic_server import ScriptedAnthropic, Text, ToolUse
from tests.support.conversation import conversation, play_turn
from tests.support.real_claude import claude_binary, companion_config, real_claude  # noqa: F401 - shared fixtures

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]


@pytest.fixture
def model_server(workdir: Path) -> Iterator[ScriptedAnthropic]:
    with ScriptedAnthropic() as srv:
        srv.on(r"read the notes", [Text("Reading them."), ToolUse("Read", {"file_path": str(workdir / "notes.txt")})])
        srv.on(r"add a line", [Text("Adding it."),
                               ToolUse("Bash", {"command": "echo replayed >> notes.txt", "description": "append"})])
        srv.on_tool_result(Text("Done with that step."))
        srv.on(None, lambda req: Text(f"You said: {req.last_user_text}", chunks=3))
        yield srv


async def test_a_real_claude_session_replays_without_a_model(api: Any, connect: Any, workdir: Path,
                                                           model_server: ScriptedAnthropic) -> None:
    (workdir / "notes.txt").write_text("first line\n")
    _, original = await api("POST", "sessions", body={"backend": "claude", "cwd": "project"})
    prompts = [("hello there", False), ("read the notes", False), ("add a line", True)]
    for text, allow in prompts:
        await play_turn(api, connect, original["id"], text, allow)
    assert (workdir / "notes.txt").read_text() == "first line\nreplayed\n"
    _, listed = await api("GET", "recordings", params={"session_id": original["id"]})
    rec_id = listed["recordings"][0]["id"]
    requests_before = len(model_server.requests)

    _, replay = await api("POST", "sessions", body={"backend": "replay", "recording": rec_id, "speed": 10,
                                                    "cwd": "project"})
    for text, allow in prompts:
        await play_turn(api, connect, replay["id"], text, allow)
    _, replayed = await api("GET", "sessions", replay["id"], "events")
    _, recorded = await api("GET", "sessions", original["id"], "events")
    said = conversation(recorded["events"])
    assert conversation(replayed["events"]) == said
    assert ("permission", "Bash", {"command": "echo replayed >> notes.txt", "description": "append"}) in said
    assert any(item[0] == "tool_use" and item[1] == "Read" for item in said)
    assert len(model_server.requests) == requests_before  # the replay asked no model
    assert (workdir / "notes.txt").read_text() == "first line\nreplayed\n"  # and ran nothing

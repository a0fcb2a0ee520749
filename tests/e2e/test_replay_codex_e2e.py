"""Record a REAL Codex session (scripted Responses API: a streamed reply, then a command that asks
for approval) and replay it through the real Codex adapter with no model server: the same texts,
command, approval request and results."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.clis import ensure_cli
from tests.support.codex_env import codex_env, write_codex_home
from tests.support.conversation import conversation, play_turn
from tests.support.openai_server import Rule, ScriptedOpenAI

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]


@pytest.fixture(scope="module")
def real_codex() -> str:
    return ensure_cli("codex")


@pytest.fixture
def openai_server() -> Iterator[ScriptedOpenAI]:
    rules = [
        Rule(user_contains="run the command", command="echo replayed > replay-marker.txt"),
        Rule(after_output_contains="", text="The command ran."),
        Rule(text="Hello from scripted Codex.", chunk=5),
    ]
    with ScriptedOpenAI(rules) as server:
        yield server


@pytest.fixture
def companion_config(companion_config: dict[str, Any], tmp_path: Path, openai_server: ScriptedOpenAI) -> dict[str, Any]:
    home = write_codex_home(tmp_path / "codex-home", openai_server.base_url)
    return {**companion_config, "cli_env": codex_env(home)}


@pytest.fixture
def jp_server_config(jp_server_config: dict[str, Any], real_codex: str) -> dict[str, Any]:
    return {**jp_server_config, "CodexBackend": {"binary": real_codex}}


async def test_a_real_codex_session_replays_without_a_model(api: Any, connect: Any, workdir: Path,
                                                          openai_server: ScriptedOpenAI) -> None:
    _, original = await api("POST", "sessions", body={"backend": "codex", "cwd": "project"})
    prompts = [("hello codex", False), ("run the command", True)]
    for text, allow in prompts:
        await play_turn(api, connect, original["id"], text, allow)
    marker = workdir / "replay-marker.txt"
    assert marker.read_text() == "replayed\n"
    marker.unlink()
    _, listed = await api("GET", "recordings", params={"session_id": original["id"]})
    rec_id = listed["recordings"][0]["id"]
    requests_before = len(openai_server.requests)

    status, replay = await api("POST", "sessions", body={"backend": "replay", "recording": rec_id, "speed": 10,
                                                         "cwd": "project"})
    assert status == 201, replay
    for text, allow in prompts:
        await play_turn(api, connect, replay["id"], text, allow)
    _, replayed = await api("GET", "sessions", replay["id"], "events")
    _, recorded = await api("GET", "sessions", original["id"], "events")
    said = conversation(recorded["events"])
    assert conversation(replayed["events"]) == said
    assert any(item[0] == "permission" and "replay-marker" in str(item[2]) for item in said)
    assert ("text", "Hello from scripted Codex.") in said
    assert len(openai_server.requests) == requests_before and not marker.exists()

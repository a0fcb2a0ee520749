"""End to end: the REAL Codex CLI (``codex app-server``) inside a session's container, against a
scripted Responses API on 127.0.0.1 — the sandbox is backend-neutral. The session's own Codex
home (seeded from ``c.CodexBackend.user_home``) lives in its private state folder, which the
container sees at the same path."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.clis import ensure_cli
from tests.support.codex_env import FAKE_API_KEY, write_codex_home
from tests.support.docker_engine import codex_image, our_containers
from tests.support.openai_server import Rule, ScriptedOpenAI

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]


@pytest.fixture
def openai_server() -> Iterator[ScriptedOpenAI]:
    rules = [
        Rule(user_contains="where are you", command="cat /etc/companion-test-image > where.txt"),
        Rule(after_output_contains="", text="Looked."),
        Rule(text="Hello from Codex in a box.", chunk=5),
    ]
    with ScriptedOpenAI(rules) as server:
        yield server


@pytest.fixture
def user_codex_home(tmp_path: Path, openai_server: ScriptedOpenAI) -> Path:
    return write_codex_home(tmp_path / "user-codex-home", openai_server.base_url)


@pytest.fixture
def companion_config(companion_config: dict[str, Any]) -> dict[str, Any]:
    return {**companion_config, "cli_env": {"OPENAI_API_KEY": FAKE_API_KEY, "RUST_LOG": "warn"}}


@pytest.fixture
def jp_server_config(jp_server_config: dict[str, Any], user_codex_home: Path) -> dict[str, Any]:
    # the container is the sandbox: Codex's own (bubblewrap) sandbox is not used inside it
    return {**jp_server_config, "CodexBackend": {"binary": ensure_cli("codex"), "user_home": str(user_codex_home),
                                                 "sandbox": "danger-full-access"}}


async def test_codex_answers_and_runs_an_approved_command_inside_the_container(
    api: Any, connect: Any, session_folder: Path, docker_url: str, openai_server: ScriptedOpenAI
) -> None:
    image = codex_image(docker_url, ensure_cli("codex"))
    status, _ = await api("PUT", "sandbox-profiles", "codex-box", body={"image": image, "network": "host"})
    assert status == 200
    status, session = await api("POST", "sessions", body={"backend": "codex", "cwd": "project", "sandbox": "docker",
                                                          "sandbox_profile": "codex-box"})
    assert status == 201, session
    assert session["sandbox"]["container_id"] and session["cli_session_id"]

    stream = await connect(session["id"])
    await stream.send({"type": "user_message", "content": "say hello"})
    result = await stream.until_type("result", timeout=120)
    assert result["is_error"] is False
    assert "".join(e["text"] for e in stream.events if e["type"] == "stream_delta") == "Hello from Codex in a box."

    await stream.send({"type": "user_message", "content": "where are you?"})
    request = await stream.until_type("permission_request", timeout=120)
    assert request["tool_name"] == "Bash"
    status, _ = await api("POST", "sessions", session["id"], "permissions", request["request_id"], body={"behavior": "allow"})
    assert status == 200
    await stream.until(lambda e: e["type"] == "result" and e["seq"] > request["seq"], timeout=120)
    assert (session_folder / "where.txt").read_text().strip() == "inside the companion test image"

    assert (await api("DELETE", "sessions", session["id"]))[0] == 200
    assert our_containers(docker_url) == []

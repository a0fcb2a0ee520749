"""The Codex adapter driving the REAL pinned ``codex app-server`` offline.

Codex talks to a scripted Responses API on 127.0.0.1 (:mod:`tests.support.openai_server`)
through a per-test ``CODEX_HOME`` (:mod:`tests.support.codex_env`). The sandbox is the
adapter's default, ``workspace-write``; it works with Debian's ``bubblewrap`` installed and,
without it, with the copy bundled in the npm package.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from jupyter_companion.backends.base import LaunchSpec
from jupyter_companion.backends.codex import CodexAdapter, check_codex, list_codex_models
from tests.support.clis import CliInstallError, ensure_cli
from tests.support.codex_env import RecordingSink, codex_env, write_codex_home
from tests.support.openai_server import Rule, ScriptedOpenAI

pytestmark = pytest.mark.e2e

REPLY = "Hello from the scripted model, streamed in pieces."
COMMAND = "echo companion-e2e > marker.txt && echo command-ran"
SYSTEM_PROMPT = "Linked issue: SYSTEM-PROMPT-MARKER-42"


@pytest.fixture(scope="module")
def codex_bin() -> str:
    try:
        return ensure_cli("codex")
    except CliInstallError as exc:  # pragma: no cover - depends on the machine
        pytest.fail(f"the pinned codex CLI (npm @openai/codex) could not be installed: {exc}", pytrace=False)


@pytest.fixture
def scripted() -> Iterator[ScriptedOpenAI]:
    rules = [
        Rule(user_contains="run the command", command=COMMAND),
        Rule(after_output_contains="", text="The command step is over."),
        Rule(user_contains="stall", text="Thinking about it for a very long time ...", stall=True),
        Rule(user_contains="remember", text="I will remember it."),
        Rule(text=REPLY, chunk=6),
    ]
    with ScriptedOpenAI(rules) as server:
        yield server


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    path = tmp_path / "work"
    path.mkdir()
    return path


def make_adapter(
    codex_bin: str, scripted: ScriptedOpenAI, tmp_path: Path, workdir: Path, **spec_fields: Any
) -> tuple[CodexAdapter, RecordingSink]:
    home = tmp_path / "codex-home"
    if not (home / "config.toml").exists():
        write_codex_home(home, scripted.base_url)
    spec = LaunchSpec(
        session_id="s-" + uuid.uuid4().hex[:8],
        cwd=str(workdir),
        env=codex_env(home),
        state_dir=str(tmp_path / "state"),
        **spec_fields,
    )
    sink = RecordingSink()
    return CodexAdapter(spec, sink, binary=codex_bin, request_timeout=60), sink


@contextlib.asynccontextmanager
async def running(
    codex_bin: str, scripted: ScriptedOpenAI, tmp_path: Path, workdir: Path, **spec_fields: Any
) -> AsyncIterator[tuple[CodexAdapter, RecordingSink]]:
    """A started adapter (stopped on exit)."""
    adapter, sink = make_adapter(codex_bin, scripted, tmp_path, workdir, **spec_fields)
    await adapter.start()
    try:
        yield adapter, sink
    finally:
        await adapter.stop()


@pytest.fixture
def open_session(codex_bin: str, scripted: ScriptedOpenAI, tmp_path: Path, workdir: Path) -> Any:
    """``async with open_session() as (adapter, sink)``: a started adapter with the plugin prompt."""
    return functools.partial(running, codex_bin, scripted, tmp_path, workdir, system_prompt=SYSTEM_PROMPT)


async def test_prompt_streams_reply(open_session: Any, scripted: ScriptedOpenAI) -> None:
    async with open_session() as (adapter, sink):
        init = sink.of_type("session_init")[0]
        assert init["backend_version"] == "0.169.0"
        assert init["model"] == "fake-model"
        assert init["tools"] == [] and init["permission_mode"] == "default"
        assert sink.cli_session_ids == [adapter.thread_id]
        assert sink.phases[-1] == "ready"

        await adapter.send_user_message("hello there", [])
        result = await sink.wait_event("result")

        deltas = [e for e in sink.of_type("stream_delta") if e["kind"] == "text"]
        assert len(deltas) > 1
        assert "".join(d["text"] for d in deltas) == REPLY
        texts = [
            b["text"]
            for e in sink.of_type("assistant")
            for b in e["message"]["content"]
            if b["type"] == "text"
        ]
        assert texts == [REPLY]
        assert result["is_error"] is False and result["text"] == REPLY
        assert result["usage"]["output_tokens"] == 20
        assert "streaming" in sink.phases and sink.phases[-1] == "ready"
        assert any("context_window" in update for update in sink.updates)  # usage comes with the result
        # The plugins' system prompt reached the model as developer instructions.
        assert SYSTEM_PROMPT in json.dumps(scripted.requests[-1])
        assert "hello there" in json.dumps(scripted.requests[-1]["input"])


async def test_approve_runs_command(open_session: Any, workdir: Path) -> None:
    async with open_session() as (adapter, sink):
        await adapter.send_user_message("please run the command", [])
        request = await sink.wait_event("permission_request")
        assert request["tool_name"] == "Bash"
        assert request["input"]["command"] == COMMAND
        assert sink.phases[-1] == "awaiting_permission"
        tool_use = next(
            b for e in sink.of_type("assistant") for b in e["message"]["content"] if b["type"] == "tool_use"
        )
        assert tool_use["name"] == "Bash" and tool_use["id"] == request["tool_use_id"]

        await adapter.respond_permission(request["request_id"], "allow")
        result = await sink.wait_event("result")
        assert result["is_error"] is False
        assert (workdir / "marker.txt").read_text().strip() == "companion-e2e"
        tool_result = sink.of_type("tool_result")[0]
        assert tool_result["tool_use_id"] == tool_use["id"]
        assert "command-ran" in tool_result["content"] and tool_result["is_error"] is False
        # Answered by the user: no cancellation was reported by the CLI side.
        assert sink.of_type("permission_resolved") == []


async def test_decline_does_not_run(open_session: Any, workdir: Path, scripted: ScriptedOpenAI) -> None:
    async with open_session() as (adapter, sink):
        await adapter.send_user_message("please run the command", [])
        request = await sink.wait_event("permission_request")
        await adapter.respond_permission(request["request_id"], "deny", message="no thanks")
        result = await sink.wait_event("result")
        assert not (workdir / "marker.txt").exists()
        tool_result = sink.of_type("tool_result")[0]
        assert tool_result["is_error"] is True
        assert result["text"] == "The command step is over."
        assert scripted.tool_outputs(), "Codex reported the refusal back to the model"


async def test_interrupt_stops_turn(open_session: Any, scripted: ScriptedOpenAI) -> None:
    async with open_session() as (adapter, sink):
        await adapter.send_user_message("please stall", [])
        assert await asyncio.to_thread(scripted.stalled.wait, 60)
        await sink.wait_event("stream_delta")
        await adapter.interrupt()
        result = await sink.wait_event("result")
        scripted.release()
        assert result["status"] == "interrupted" and result["is_error"] is True
        assert sink.phases[-1] == "ready"
        # The thread is usable again.
        count = len(sink.events)
        await adapter.send_user_message("hello again", [])
        again = await sink.wait_event("result", after=count)
        assert again["is_error"] is False and again["text"] == REPLY


async def test_relaunch_resumes_thread(
    codex_bin: str, scripted: ScriptedOpenAI, tmp_path: Path, workdir: Path
) -> None:
    first, sink1 = make_adapter(codex_bin, scripted, tmp_path, workdir)
    await first.start()
    await first.send_user_message("remember the word PINEAPPLE", [])
    await sink1.wait_event("result")
    thread_id = first.thread_id
    await first.stop()
    await sink1.wait_for(lambda s: s.exits)

    second, sink2 = make_adapter(codex_bin, scripted, tmp_path, workdir, resume_id=thread_id)
    await second.start()
    try:
        assert second.thread_id == thread_id
        assert sink2.cli_session_ids == [thread_id]
        assert sink2.of_type("error") == []
        await second.send_user_message("what was the word?", [])
        await sink2.wait_event("result")
        # The resumed history went back to the model with the new prompt.
        history = json.dumps(scripted.requests[-1]["input"])
        assert "PINEAPPLE" in history and "what was the word?" in history
    finally:
        await second.stop()


async def test_fork_continues_history_under_new_thread(
    codex_bin: str, scripted: ScriptedOpenAI, tmp_path: Path, workdir: Path
) -> None:
    first, sink1 = make_adapter(codex_bin, scripted, tmp_path, workdir)
    await first.start()
    await first.send_user_message("remember the word MANGO", [])
    await sink1.wait_event("result")
    await first.stop()

    forked, sink2 = make_adapter(codex_bin, scripted, tmp_path, workdir, resume_id=first.thread_id, fork=True)
    await forked.start()
    try:
        assert forked.thread_id and forked.thread_id != first.thread_id
        assert sink2.cli_session_ids == [forked.thread_id] and sink2.of_type("error") == []
        await forked.send_user_message("which fruit?", [])
        await sink2.wait_event("result")
        assert "MANGO" in json.dumps(scripted.requests[-1]["input"])
    finally:
        await forked.stop()


async def test_unknown_thread_falls_back_to_new_thread(
    codex_bin: str, scripted: ScriptedOpenAI, tmp_path: Path, workdir: Path
) -> None:
    lost = str(uuid.uuid4())
    adapter, sink = make_adapter(codex_bin, scripted, tmp_path, workdir, resume_id=lost)
    await adapter.start()
    try:
        error = sink.of_type("error")[0]
        assert error["code"] == "context_lost" and lost in error["message"]
        assert adapter.thread_id and adapter.thread_id != lost
        assert sink.cli_session_ids == [adapter.thread_id]
        await adapter.send_user_message("hello", [])
        assert (await sink.wait_event("result"))["is_error"] is False
    finally:
        await adapter.stop()
    assert sink.exits, "the process exit was reported to the sink"


async def test_model_list_from_cli(codex_bin: str, tmp_path: Path) -> None:
    models = await list_codex_models(codex_bin, user_home=str(tmp_path / "no-home"))
    assert models and all(set(m) == {"id", "label"} for m in models)


async def test_bypass_permissions_runs_without_asking(
    codex_bin: str, scripted: ScriptedOpenAI, tmp_path: Path, workdir: Path
) -> None:
    adapter, sink = make_adapter(codex_bin, scripted, tmp_path, workdir, permission_mode="bypassPermissions")
    await adapter.start()
    try:
        await adapter.send_user_message("please run the command", [])
        result = await sink.wait_event("result")
        assert result["is_error"] is False
        assert sink.of_type("permission_request") == []
        assert (workdir / "marker.txt").exists()
        assert "command-ran" in sink.of_type("tool_result")[0]["content"]
    finally:
        await adapter.stop()


async def test_availability_check(codex_bin: str) -> None:
    availability = await check_codex(codex_bin)
    assert availability.available and availability.version == "0.169.0"


async def test_mode_switch_applies_to_next_turn(open_session: Any, workdir: Path) -> None:
    async with open_session() as (adapter, sink):
        await adapter.set_permission_mode("bypassPermissions")
        await adapter.send_user_message("please run the command", [])
        result = await sink.wait_event("result")
        assert result["is_error"] is False
        assert sink.of_type("permission_request") == []
        assert (workdir / "marker.txt").read_text().strip() == "companion-e2e"
        assert {"permission_mode": "bypassPermissions"} in sink.updates

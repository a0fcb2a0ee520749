"""The ACP adapter against a scripted ACP agent (``tests/support/fake_acp_agent.py``): the mapping
onto the event vocabulary, permissions, cancel, files, terminals, drift, load and recap.

The same adapter drives the real ``claude-agent-acp`` and ``codex-acp`` in
``tests/e2e/test_acp_real.py``; this double only makes the mapping fast to check.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from jupyter_companion.backends.acp_adapter import AcpAdapter, AgentDefinition
from jupyter_companion.backends.base import BackendError, LaunchSpec
from tests.support.codex_env import RecordingSink

FAKE_AGENT = str(Path(__file__).parent / "support" / "fake_acp_agent.py")

Start = Callable[..., Any]


def received(state: Path, method: str) -> list[dict[str, Any]]:
    """The messages of one method the fake agent received."""
    path = state / "received.jsonl"
    lines = path.read_text().splitlines() if path.exists() else []
    return [m for m in map(json.loads, lines) if m.get("method") == method]


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    path = tmp_path / "project"
    path.mkdir()
    return path


@pytest.fixture
def state(tmp_path: Path) -> Path:
    path = tmp_path / "agent-state"
    path.mkdir()
    return path


@pytest.fixture
def start(folder: Path, state: Path, jp_asyncio_loop: asyncio.AbstractEventLoop) -> Iterator[Start]:
    """Start an adapter on the fake agent: ``await start(**launch_fields, agent_env={...})``."""
    adapters: list[AcpAdapter] = []

    async def launch(agent_env: dict[str, str] | None = None, relaunch_after_cancel: bool = False,
                     **fields: Any) -> tuple[AcpAdapter, RecordingSink]:
        sink = RecordingSink()
        spec = LaunchSpec(session_id="s1", cwd=str(folder), env={**os.environ, "FAKE_ACP_STATE": str(state)},
                          state_dir=str(state), **fields)
        agent = AgentDefinition("fake", [sys.executable, FAKE_AGENT], "Fake", dict(agent_env or {}),
                                relaunch_after_cancel)
        adapter = AcpAdapter(spec, sink, agent=agent, request_timeout=20)
        adapters.append(adapter)
        await adapter.start()
        return adapter, sink

    yield launch
    for adapter in adapters:
        jp_asyncio_loop.run_until_complete(adapter.stop())


async def _turn(adapter: AcpAdapter, sink: RecordingSink, text: str, images: list[dict[str, Any]] | None = None
                ) -> dict[str, Any]:
    count = len(sink.of_type("result"))
    await adapter.send_user_message(text, images or [])
    return await sink.wait_for(lambda s: len(s.of_type("result")) > count and s.of_type("result")[-1], 30)


async def test_prompt_streams_deltas_then_stores_the_message_and_result(start: Start, state: Path) -> None:
    adapter, sink = await start()
    opened = received(state, "session/new")[0]["params"]
    assert opened["mcpServers"] == [] and opened["cwd"] == adapter.spec.cwd
    assert sink.of_type("session_init")[0]["slash_commands"] == []
    init = received(state, "initialize")[0]["params"]
    assert init["clientCapabilities"]["fs"] == {"readTextFile": True, "writeTextFile": True}
    assert init["clientCapabilities"]["terminal"] is True
    init = sink.of_type("session_init")[0]
    assert init["backend_version"] == "9.9.9" and init["agent"] == "Fake ACP" and init["model"] == "fast"
    assert sink.cli_session_ids == [adapter.acp_session_id] and sink.phases[:2] == ["initializing", "ready"]
    result = await _turn(adapter, sink, "hello world")
    deltas = [e for e in sink.events if e["type"] == "stream_delta"]
    assert "".join(d["text"] for d in deltas) == "Hello hello world" and len({d["message_id"] for d in deltas}) == 1
    assistant = sink.of_type("assistant")[-1]["message"]
    assert assistant["content"] == [{"type": "text", "text": "Hello hello world"}]
    assert assistant["id"] == deltas[0]["message_id"] and assistant["model"] == "fast"
    assert result["is_error"] is False and result["text"] == "Hello hello world"
    assert result["usage"] == {"input_tokens": 20, "output_tokens": 10} and result["cost_usd"] == 0.01
    assert {"context_window": 1000, "context_tokens": 120, "context_used_percent": 12.0} in sink.updates
    assert sink.phases[-2:] == ["streaming", "ready"]
    second = await _turn(adapter, sink, "hello again")
    assert second["cost_usd"] == 0.01  # the turn's own share of the session's growing cost


async def test_thoughts_and_plans_use_the_known_blocks(start: Start) -> None:
    adapter, sink = await start()
    await _turn(adapter, sink, "think")
    blocks = [e["message"]["content"][0] for e in sink.of_type("assistant")]
    assert blocks == [{"type": "thinking", "thinking": "Let me think."}, {"type": "text", "text": "Thought done."}]
    await _turn(adapter, sink, "plan")
    todo = sink.of_type("assistant")[-1]["message"]["content"][0]
    assert todo["name"] == "TodoWrite" and todo["input"]["todos"] == [
        {"content": "Read", "status": "completed"}, {"content": "Write", "status": "in_progress"}]
    assert sink.of_type("tool_result")[-1]["tool_use_id"] == todo["id"]


async def test_permission_allowed_always_then_denied(start: Start, state: Path) -> None:
    adapter, sink = await start()
    await adapter.send_user_message("run touch a.txt", [])
    request = await sink.wait_event("permission_request", timeout=30)
    tool_use = sink.of_type("assistant")[-1]["message"]["content"][0]
    assert tool_use["name"] == "Bash" and tool_use["input"]["command"] == "touch a.txt"
    assert request["tool_name"] == "Bash" and request["tool_use_id"] == tool_use["id"]
    assert request["suggestions"] == [{"type": "acpOption", "option_id": "always", "kind": "allow_always",
                                       "label": "Always Allow"}]
    assert sink.phases[-1] == "awaiting_permission"
    await adapter.respond_permission(request["request_id"], "allow", updated_permissions=request["suggestions"])
    result = await sink.wait_for(lambda s: s.of_type("result") and s.of_type("result")[-1], 30)
    assert result["is_error"] is False
    assert sink.of_type("tool_result")[-1] == {"type": "tool_result", "tool_use_id": tool_use["id"],
                                               "content": "always: touch a.txt", "is_error": False}
    answers = [m for m in map(json.loads, (state / "received.jsonl").read_text().splitlines())
               if "result" in m and isinstance(m["result"].get("outcome"), dict)]
    assert answers[-1]["result"]["outcome"] == {"outcome": "selected", "optionId": "always"}

    await adapter.send_user_message("run rm -rf stuff", [])
    request = await sink.wait_for(lambda s: len(s.of_type("permission_request")) == 2 and s.of_type("permission_request")[-1])
    await adapter.respond_permission(request["request_id"], "deny")
    await sink.wait_for(lambda s: len(s.of_type("result")) == 2)
    assert sink.of_type("tool_result")[-1]["is_error"] is True
    with pytest.raises(BackendError):
        await adapter.respond_permission(request["request_id"], "allow")  # answered already


async def test_interrupt_cancels_the_open_permission_request(start: Start) -> None:
    adapter, sink = await start()
    await adapter.send_user_message("run sleep 100", [])
    request = await sink.wait_event("permission_request", timeout=30)
    await adapter.interrupt()
    result = await sink.wait_event("result", timeout=30)
    assert result["interrupted"] is True and result["is_error"] is True and result["stop_reason"] == "cancelled"
    assert {"type": "permission_resolved", "request_id": request["request_id"], "behavior": "cancelled",
            "by": "cli"} in sink.events
    # the call that never ran is closed, so no surface shows it running forever
    assert sink.of_type("tool_result")[-1]["is_error"] is True


async def test_cancel_mid_stream_keeps_what_was_said(start: Start, state: Path) -> None:
    adapter, sink = await start()
    await adapter.send_user_message("slow", [])
    await sink.wait_for(lambda s: len([e for e in s.events if e["type"] == "stream_delta"]) >= 3, 30)
    await adapter.interrupt()
    result = await sink.wait_event("result", timeout=30)
    assert result["interrupted"] is True
    assert sink.of_type("assistant")[-1]["message"]["content"][0]["text"].startswith("0 1 2 ")
    assert received(state, "session/cancel")
    assert (await _turn(adapter, sink, "hello after"))["is_error"] is False


async def test_an_agent_marked_so_is_relaunched_after_a_cancel(start: Start, state: Path) -> None:
    adapter, sink = await start(relaunch_after_cancel=True)
    await adapter.send_user_message("slow", [])
    await sink.wait_for(lambda s: len([e for e in s.events if e["type"] == "stream_delta"]) >= 2, 30)
    pid = adapter.pid
    await adapter.interrupt()
    await sink.wait_event("result", timeout=30)
    assert adapter.pid == pid  # nothing happens until the next prompt
    result = await _turn(adapter, sink, "hello again")
    assert result["text"] == "Hello hello again" and adapter.pid != pid and adapter.running
    assert [m["params"]["sessionId"] for m in received(state, "session/load")] == [adapter.acp_session_id]
    assert sink.exits == [] and len(sink.of_type("session_init")) == 1  # quiet: not a crash, not a new session
    await _turn(adapter, sink, "hello once more")
    assert len(received(state, "session/load")) == 1  # only after a cancel


async def test_file_writes_stay_inside_the_session_folder(start: Start, folder: Path, tmp_path: Path) -> None:
    adapter, sink = await start()
    await _turn(adapter, sink, f"write {folder / 'sub' / 'ok.txt'}")
    assert (folder / "sub" / "ok.txt").read_text() == "written\n"
    outside = tmp_path / "outside.txt"
    result = await _turn(adapter, sink, f"write {outside}")
    assert result["text"].startswith("refused: Invalid params") and "outside the session folder" in result["text"]
    assert not outside.exists()
    assert sink.of_type("notice")[-1]["code"] == "fs_write_refused"
    (folder / "escape").symlink_to(tmp_path)  # a symlink inside that leads outside
    result = await _turn(adapter, sink, f"write {folder / 'escape' / 'outside.txt'}")
    assert result["text"].startswith("refused") and not outside.exists()
    await _turn(adapter, sink, f"write {folder}/../outside.txt")
    assert not outside.exists()


async def test_file_reads_stay_inside_the_session_folder(start: Start, folder: Path, tmp_path: Path) -> None:
    (folder / "notes.md").write_text("inside notes")
    (tmp_path / "secret.txt").write_text("top secret")
    adapter, sink = await start()
    assert (await _turn(adapter, sink, f"read {folder / 'notes.md'}"))["text"] == "inside notes"
    refused = await _turn(adapter, sink, f"read {tmp_path / 'secret.txt'}")
    assert "top secret" not in json.dumps(sink.events) and refused["text"].startswith("refused")
    missing = await _turn(adapter, sink, f"read {folder / 'nope.md'}")
    assert "-32002" in missing["text"]


async def test_terminals_run_argument_lists_in_the_folder(start: Start, folder: Path) -> None:
    adapter, sink = await start()
    result = await _turn(adapter, sink, "terminal pwd")
    assert result["text"] == f"exit 0: {folder}"
    tool_result = sink.of_type("tool_result")[-1]
    assert tool_result["content"].strip() == str(folder) and tool_result["is_error"] is False
    # no shell: the metacharacters reach the program as they are
    assert (await _turn(adapter, sink, "terminal echo a;b $HOME"))["text"] == "exit 0: a;b $HOME"
    assert (await _turn(adapter, sink, "terminal false"))["text"].strip() == "exit 1:"


async def test_unknown_kinds_are_drift_and_a_huge_line_never_kills_the_session(start: Start) -> None:
    adapter, sink = await start(agent_env={"FAKE_ACP_HUGE_LINE": str(50 * 1024 * 1024)})
    result = await _turn(adapter, sink, "drift")
    assert result["is_error"] is False and result["text"].endswith("still here")
    kinds = {what for what, _ in sink.drifts}
    assert {"acp update brand_new_update", "acp notification x/brand_new_notification",
            "acp message without method or id"} <= kinds
    assert adapter.running and (await _turn(adapter, sink, "hello again"))["is_error"] is False


async def test_a_relaunch_loads_the_session_without_replaying_it(start: Start, state: Path) -> None:
    first, sink = await start()
    await _turn(first, sink, "hello there")
    acp_id = first.acp_session_id
    await first.stop()
    second, sink2 = await start(resume_id=acp_id)
    assert second.acp_session_id == acp_id and received(state, "session/load")
    assert [e["type"] for e in sink2.events] == ["session_init"]  # the replay was dropped
    result = await _turn(second, sink2, "hello back")
    assert result["text"] == "Hello hello back"


async def test_an_agent_that_cannot_load_asks_for_a_recap(start: Start, state: Path) -> None:
    first, sink = await start(agent_env={"FAKE_ACP_NO_LOAD": "1"})
    await first.stop()
    second, sink2 = await start(agent_env={"FAKE_ACP_NO_LOAD": "1"}, resume_id=first.acp_session_id)
    lost = sink2.of_type("error")[0]
    assert lost["code"] == "context_lost" and "cannot load" in lost["message"]
    assert second.acp_session_id != first.acp_session_id and not received(state, "session/load")


async def test_a_failed_load_asks_for_a_recap(start: Start) -> None:
    _, sink = await start(resume_id="fake-gone")
    assert sink.of_type("error")[0]["code"] == "context_lost"
    assert sink.of_type("session_init")


async def test_modes_and_models_are_the_agents_own(start: Start, state: Path) -> None:
    adapter, sink = await start(permission_mode="plan", model="smart")
    assert [m["params"]["modeId"] for m in received(state, "session/set_mode")] == ["plan"]
    assert received(state, "session/set_config_option")[0]["params"]["value"] == "smart"
    assert sink.of_type("session_init")[0]["model"] == "smart"
    await adapter.set_permission_mode("acceptEdits")
    assert received(state, "session/set_mode")[-1]["params"]["modeId"] == "acceptEdits"
    with pytest.raises(BackendError, match="no mode for 'bypassPermissions'"):
        await adapter.set_permission_mode("bypassPermissions")
    with pytest.raises(BackendError, match="refused the model"):
        await adapter.set_model("no-such-model")
    await adapter.set_model("fast")
    assert {"model": "fast"} in sink.updates
    before = len(sink.updates)
    await _turn(adapter, sink, "mode")  # the agent switches itself into plan mode
    assert {"agent_mode": "plan", "permission_mode": "plan"} in sink.updates[before:]
    assert adapter.permission_mode == "plan"


async def test_a_mode_the_agent_lacks_is_said_at_launch(start: Start) -> None:
    adapter, sink = await start(permission_mode="bypassPermissions")
    notice = sink.of_type("notice")[0]
    assert notice["code"] == "mode_not_set" and "no mode for 'bypassPermissions'" in notice["message"]
    assert adapter.permission_mode == "default" and {"permission_mode": "default"} in sink.updates
    assert sink.of_type("session_init")[0]["permission_mode"] == "default"


async def test_system_prompt_goes_before_the_first_prompt_only(start: Start, state: Path) -> None:
    adapter, sink = await start(system_prompt="Always answer in French.")
    await _turn(adapter, sink, "hello one")
    await _turn(adapter, sink, "hello two", [{"media_type": "image/png", "data": "iVBORw0KGgo="}])
    prompts = [m["params"]["prompt"] for m in received(state, "session/prompt")]
    assert "Always answer in French." in prompts[0][0]["text"] and prompts[0][1]["text"] == "hello one"
    assert prompts[1][0] == {"type": "text", "text": "hello two"}
    assert prompts[1][1] == {"type": "image", "data": "iVBORw0KGgo=", "mimeType": "image/png"}


async def test_a_missing_command_is_a_clear_error(folder: Path) -> None:
    agent = AgentDefinition("ghost", [str(folder / "no-such-agent")], "Ghost")
    adapter = AcpAdapter(LaunchSpec(session_id="s", cwd=str(folder)), RecordingSink(), agent=agent)
    with pytest.raises(BackendError, match="Could not start Ghost"):
        await adapter.start()
    await adapter.stop()


async def test_an_agent_that_exits_during_the_handshake_is_reported(folder: Path) -> None:
    agent = AgentDefinition("quits", [sys.executable, "-c", "import sys; print('no ACP here', file=sys.stderr)"], "Quits")
    adapter = AcpAdapter(LaunchSpec(session_id="s", cwd=str(folder), env=dict(os.environ)), RecordingSink(),
                         agent=agent, request_timeout=10)
    with pytest.raises(BackendError, match="Quits exited during initialize") as caught:
        await adapter.start()
    assert "no ACP here" in str(caught.value)
    await adapter.stop()

"""Pure ACP mappings and the backends' configuration.

The recorded messages below come from the real pinned agents (``claude-agent-acp`` 0.23.1 and
``codex-acp`` 0.16.0) talking to the scripted model servers.
"""

from __future__ import annotations

import stat
import sys
from pathlib import Path

import pytest
from traitlets.config import Config

from jupyter_companion.backends import acp
from jupyter_companion.backends.acp_protocol import (
    agent_mode_for,
    models_of,
    modes_of,
    our_mode_for,
    tool_result_text,
    tool_use_of,
    unwrap_command,
)

CLAUDE_WRITE = {
    "toolCallId": "toolu_00065616d1d35424473b", "kind": "edit", "title": "Write w.txt",
    "content": [{"path": "/tmp/p/w.txt", "newText": "hello\n", "type": "diff"}],
    "locations": [{"path": "/tmp/p/w.txt"}], "rawInput": {"file_path": "/tmp/p/w.txt", "content": "hello\n"},
    "_meta": {"claudeCode": {"toolName": "Write"}},
}
CLAUDE_BASH_DONE = {
    "toolCallId": "toolu_0003b76a6f2b8f754d83", "status": "completed", "kind": "execute", "title": "touch made.txt",
    "rawInput": {"command": "touch made.txt", "description": "make"},
    "content": [{"content": {"text": "```console\n(Bash completed with no output)\n```", "type": "text"}, "type": "content"}],
    "rawOutput": "(Bash completed with no output)",
}
CODEX_EXEC = {
    "toolCallId": "call_2", "title": "touch made.txt", "kind": "execute", "status": "failed",
    "rawInput": {"call_id": "call_2", "command": ["/bin/bash", "-lc", "touch made.txt"], "cwd": "/tmp/p"},
    "content": [{"content": {"text": "```sh\ntouch: cannot touch 'made.txt': Read-only file system\n```\n",
                             "type": "text"}, "type": "content"}],
}
CLAUDE_NEW_SESSION = {
    "sessionId": "3208e91f-1685-4bff-9174-ee011d7316de",
    "modes": {"currentModeId": "default", "availableModes": [
        {"id": "default", "name": "Default"}, {"id": "acceptEdits", "name": "Accept Edits"},
        {"id": "plan", "name": "Plan Mode"}, {"id": "dontAsk", "name": "Don't Ask"}]},
    "configOptions": [
        {"id": "mode", "name": "Mode", "category": "mode", "type": "select", "currentValue": "default",
         "options": [{"value": "default", "name": "Default"}]},
        {"id": "model", "name": "Model", "category": "model", "type": "select", "currentValue": "default",
         "options": [{"value": "default", "name": "Default (recommended)", "description": "Use the default model"},
                     {"value": "haiku", "name": "Haiku"}]}],
}
CODEX_MODES = ["read-only", "auto", "full-access"]


def test_tool_calls_show_as_the_tools_the_ui_knows() -> None:
    assert tool_use_of(CLAUDE_WRITE) == ("Write", {"file_path": "/tmp/p/w.txt", "content": "hello\n", "title": "Write w.txt"})
    assert tool_use_of(CLAUDE_BASH_DONE) == ("Bash", {"command": "touch made.txt", "description": "make"})
    name, shown = tool_use_of(CODEX_EXEC)
    assert name == "Bash" and shown["command"] == "touch made.txt" and shown["raw_input"]["call_id"] == "call_2"
    edit = {"kind": "edit", "title": "Edit a.py", "content": [{"type": "diff", "path": "/p/a.py", "oldText": "x = 1\n",
                                                                "newText": "x = 2\n"}]}
    assert tool_use_of(edit) == ("Edit", {"file_path": "/p/a.py", "old_string": "x = 1\n", "new_string": "x = 2\n",
                                          "title": "Edit a.py"})
    several = {"kind": "edit", "content": [{"type": "diff", "path": "/p/a", "oldText": "1\n", "newText": "2\n"},
                                           {"type": "diff", "path": "/p/b", "newText": "new\n"}]}
    name, shown = tool_use_of(several)
    assert name == "Edit" and [c["kind"] for c in shown["changes"]] == ["update", "add"]
    assert "-1\n+2\n" in shown["changes"][0]["diff"]
    assert tool_use_of({"kind": "read", "locations": [{"path": "/p/r.md"}], "title": "Read r.md"})[1]["file_path"] == "/p/r.md"
    assert tool_use_of({"kind": "other", "title": "mcp__linear__search", "rawInput": {"q": 1}}) == (
        "mcp__linear__search", {"q": 1})


def test_tool_results_read_content_terminals_and_raw_output() -> None:
    assert tool_result_text(CLAUDE_BASH_DONE).startswith("```console")
    assert tool_result_text({"rawOutput": "File created"}) == "File created"
    assert tool_result_text({"rawOutput": {"formatted_output": "done", "stdout": "x"}}) == "done"
    assert tool_result_text({"content": [{"type": "terminal", "terminalId": "t1"}]}, {"t1": "hi\n"}) == "hi\n"
    assert tool_result_text(CLAUDE_WRITE) == "Created /tmp/p/w.txt"


def test_commands_are_unwrapped() -> None:
    assert unwrap_command(["/bin/bash", "-lc", "ls -la"]) == "ls -la"
    assert unwrap_command(["git", "commit", "-m", "a b"]) == "git commit -m 'a b'"
    assert unwrap_command("echo hi") == "echo hi"


def test_models_and_modes_of_a_new_session() -> None:
    models, current = models_of(CLAUDE_NEW_SESSION)
    assert current == "default" and models[1] == {"id": "haiku", "label": "Haiku"}
    assert models[0]["description"] == "Use the default model"
    modes, mode = modes_of(CLAUDE_NEW_SESSION)
    assert mode == "default" and [m["id"] for m in modes] == ["default", "acceptEdits", "plan", "dontAsk"]
    legacy = {"models": {"currentModelId": "m1", "availableModels": [{"modelId": "m1", "name": "One"}]}}
    assert models_of(legacy) == ([{"id": "m1", "label": "One"}], "m1")
    assert models_of({}) == ([], None) and modes_of({}) == ([], None)


def test_permission_modes_map_onto_the_agents_modes() -> None:
    claude = ["default", "acceptEdits", "plan", "dontAsk"]
    assert [agent_mode_for(m, claude) for m in ("default", "acceptEdits", "plan", "bypassPermissions")] == [
        "default", "acceptEdits", "plan", None]
    assert [agent_mode_for(m, CODEX_MODES) for m in ("default", "acceptEdits", "plan", "bypassPermissions")] == [
        "auto", "auto", "read-only", "full-access"]
    assert our_mode_for("read-only", CODEX_MODES, "default") == "plan"
    assert our_mode_for("auto", CODEX_MODES, "acceptEdits") == "acceptEdits"  # both map there: keep ours
    assert our_mode_for("dontAsk", claude, "default") is None


def test_agent_definitions_are_checked(caplog: pytest.LogCaptureFixture) -> None:
    config = Config({"AcpBackend": {"agents": {
        "gemini": {"command": ["gemini", "--experimental-acp"], "label": "Gemini", "env": {"A": "1"}},
        "Bad Name": {"command": ["x"]},
        "shell": {"command": "sh -c 'x'  "},
        "empty": {"command": []},
        "extra": {"command": ["x"], "shell": True},
        "mcp": {"command": ["x"], "mcp_servers": [{"name": "docs", "command": "/opt/docs-mcp", "args": [], "env": []},
                                                  {"type": "http", "name": "web", "url": "http://127.0.0.1:9/mcp",
                                                   "headers": []}]},
        "badmcp": {"command": ["x"], "mcp_servers": [{"name": "half"}]},
    }}})
    found = acp.AcpBackend(config=config).definitions()
    invalid = {a.name: a for a in found if a.problem}
    assert sorted(invalid) == ["badmcp", "empty", "extra"]
    assert acp.check_agent(invalid["extra"]).reason == "c.AcpBackend.agents['extra'] is invalid: unknown keys ['shell']"
    found = [a for a in found if not a.problem]
    assert [(a.name, a.command, a.label, a.env) for a in found] == [
        ("gemini", ["gemini", "--experimental-acp"], "Gemini", {"A": "1"}),
        ("shell", ["sh -c 'x'  "], "shell", {}),  # one argument: never split, never a shell
        ("mcp", ["x"], "mcp", {}),
    ]
    assert [type(m).__name__ for m in found[2].mcp_servers] == ["McpServerStdio", "HttpMcpServer"]
    assert "Bad Name" in caplog.text and "empty" in caplog.text and "unknown keys ['shell']" in caplog.text
    assert "['badmcp'] is ignored: \"mcp_servers\" must be a list of ACP McpServer objects" in caplog.text
    assert acp.AcpBackend(config=Config({"AcpBackend": {"agents": {}}})).definitions() == []


def test_known_agents_are_offered_when_their_command_is_on_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    binary = tmp_path / "codex-acp"
    binary.write_text("#!/bin/sh\n")
    binary.chmod(binary.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", str(tmp_path))
    found = acp.AcpBackend().definitions()
    assert [(a.name, a.command) for a in found] == [("codex-acp", ["codex-acp"])]
    assert acp.check_agent(found[0]).available is True
    missing = acp.check_agent(acp.definition_of("claude-acp", {"command": ["claude-agent-acp"]}))
    assert missing.available is False
    assert missing.reason == "claude-agent-acp was not found on PATH (npm install -g @zed-industries/claude-agent-acp)"
    gone = acp.check_agent(acp.definition_of("mine", {"command": [str(tmp_path / "nothing")]}))
    assert gone.reason == f"{tmp_path / 'nothing'} was not found"


def test_registration_names_the_protocol() -> None:
    specs = []

    class App:
        config = Config({"AcpBackend": {"agents": {"fake": {"command": [sys.executable]}}}})

    acp.register_backends(specs.append, App())
    assert [(s.name, s.protocol, s.label) for s in specs] == [("fake", "acp", "fake")]

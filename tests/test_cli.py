"""``jupyter companion`` CLI: parsing, exit codes, text rendering, and commands against the fake API."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from typing import Any

import pytest

from jupyter_companion.cli import EXIT_NOT_FOUND, EXIT_OK, EXIT_SERVER_ERROR, EXIT_TURN, EXIT_USAGE, main
from jupyter_companion.client import CompanionClient, CompanionNotFound
from jupyter_companion.client.render import TextRenderer, sessions_table, tool_summary

from .test_client import TOKEN, FakeCompanion, fake_fixture  # noqa: F401  (the `fake` fixture)


class Tty(io.StringIO):
    """A StringIO that claims to be a terminal."""

    def isatty(self) -> bool:
        return True


def cli(fake: FakeCompanion | None, *argv: str, stdin: io.StringIO | None = None) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    args = list(argv)
    if fake is not None:
        args = ["--url", fake.url, "--token", TOKEN, *args]
    code = main(args, stdout=out, stderr=err, stdin=stdin or io.StringIO())
    return code, out.getvalue(), err.getvalue()


# -- parsing and exit codes --------------------------------------------------------------------------
def test_help_documents_exit_codes(capsys: Any) -> None:
    assert main(["--help"]) == EXIT_OK
    out = capsys.readouterr().out
    for command in (
        "list",
        "new",
        "send",
        "attach",
        "approve",
        "deny",
        "interrupt",
        "kill",
        "archive",
        "logs",
        "status",
    ):
        assert command in out
    assert "3  no Jupyter server" in out and "4  a followed turn ended in error" in out


def test_usage_errors_exit_2(capsys: Any) -> None:
    assert main(["frobnicate"]) == EXIT_USAGE
    assert main(["send"]) == EXIT_USAGE
    assert main(["new", "--mode", "yolo"]) == EXIT_USAGE
    assert main([]) == EXIT_USAGE
    assert "invalid choice" in capsys.readouterr().err


def test_options_after_the_subcommand() -> None:
    from jupyter_companion.cli import build_parser

    args = build_parser().parse_args(["list", "--json", "--url", "http://h:1/", "--archived", "all"])
    assert (args.json, args.url, args.archived) == (True, "http://h:1/", "all")


def test_server_not_found_exits_3() -> None:
    def nowhere(url: str | None, token: str | None) -> CompanionClient:
        raise CompanionNotFound("No running Jupyter server was found.")

    err = io.StringIO()
    assert main(["status"], stderr=err, stdout=io.StringIO(), client_factory=nowhere) == EXIT_NOT_FOUND
    assert "JUPYTER_COMPANION_URL" in err.getvalue()


# -- rendering ------------------------------------------------------------------------------------------
def test_renderer_streams_without_repeating() -> None:
    chunks: list[str] = []
    r = TextRenderer(chunks.append, show_user=True)
    r({"type": "user_message", "content": "hi"})
    for piece in ("Hel", "lo"):
        r({"type": "stream_delta", "kind": "text", "text": piece})
    r({"type": "assistant", "message": {"content": [{"type": "text", "text": "Hello!"}]}})
    r(
        {
            "type": "assistant",
            "message": {
                "content": [{"type": "tool_use", "id": "t", "name": "Edit", "input": {"file_path": "a.py"}}]
            },
        }
    )
    r({"type": "tool_result", "content": [{"type": "text", "text": "ok\nmore"}], "is_error": False})
    r({"type": "tool_result", "content": "boom", "is_error": True})
    r({"type": "permission_resolved", "request_id": "r", "behavior": "deny", "by": "plugin"})
    r({"type": "result", "is_error": True, "text": "failed hard"})
    r({"type": "phase", "phase": "terminated"})
    assert "".join(chunks).splitlines() == [
        "> hi",
        "Hello!",
        "→ Edit: a.py",
        "  ← ok more",
        "  ✗ boom",
        "✗ denied (plugin) request r",
        "✗ turn ended with an error: failed hard",
        "session terminated",
    ]


def test_renderer_colors_and_history_without_deltas() -> None:
    chunks: list[str] = []
    r = TextRenderer(chunks.append, color=True)
    r({"type": "assistant", "message": {"content": [{"type": "text", "text": "full text"}]}})
    r({"type": "error", "message": "bad"})
    text = "".join(chunks)
    assert "full text\n" in text and "\033[31merror: bad\033[0m" in text


def test_tool_summary_and_table() -> None:
    assert tool_summary("Bash", {"command": "ls   -la"}) == "Bash: ls -la"
    assert tool_summary("Weird", {"x": 1}) == 'Weird: {"x": 1}'
    assert tool_summary("Nothing", None) == "Nothing"
    table = sessions_table(
        [
            {
                "id": "abc",
                "name": "n",
                "backend": "claude",
                "phase": "ready",
                "pending_permissions": [{"request_id": "r"}],
                "cost_usd": 0.5,
                "cwd": "/w",
            }
        ]
    )
    header, row = table.splitlines()
    assert header.split() == ["ID", "NAME", "BACKEND", "PHASE", "PERMS", "COST", "CWD"]
    assert row.split() == ["abc", "n", "claude", "ready", "1", "$0.5000", "/w"]
    assert sessions_table([]) == "(no sessions)"


# -- commands against the fake server -----------------------------------------------------------------
def test_new_takes_plugin_fields_and_a_recording(fake: FakeCompanion) -> None:
    """``new --field NAME=VALUE`` passes a plugin's create field (as ``%companion new`` does);
    ``--recording`` replays one; a field without ``=`` is a usage error."""
    code, out, _ = cli(fake, "new", "-q", "--field", "linear_issue=ENG-12", "--field", "note=a=b",
                       "--recording", "rec-1", "--cwd", "proj")
    assert code == EXIT_OK
    body = json.loads(next(b for m, path, b in reversed(fake.requests) if m == "POST" and path.endswith("/sessions")))
    assert (body["backend"], body["linear_issue"], body["note"], body["recording"]) == (
        "replay", "ENG-12", "a=b", "rec-1")
    assert main(["new", "--field", "no-equals-sign"]) == EXIT_USAGE


def test_flow_new_send_approve_logs(fake: FakeCompanion) -> None:
    code, out, _ = cli(fake, "new", "-q", "--name", "c1", "--cwd", "proj")
    assert code == EXIT_OK
    sid = out.strip()
    assert fake.sessions[sid]["cwd"] == "/root/proj"

    code, out, _ = cli(fake, "send", sid, "say", "hello")
    assert code == EXIT_OK and out.count("Hello there") == 1 and "✓ done" in out

    code, out, _ = cli(fake, "send", "c1", "touch x")  # stdin is not a terminal: cannot ask
    assert code == EXIT_TURN
    assert "request id: req-1" in out and f"jupyter companion approve {sid} req-1" in out

    code, out, _ = cli(fake, "approve", sid[:5])
    assert code == EXIT_OK and "allowed req-1" in out and "Created x." in out

    code, out, _ = cli(fake, "logs", sid)
    assert code == EXIT_OK and "> touch x" in out and "✓ allowed (user) request req-1" in out

    code, out, _ = cli(fake, "list", "--json")
    assert code == EXIT_OK and [s["id"] for s in json.loads(out)["sessions"]] == [sid]
    code, out, _ = cli(fake, "list")
    assert sid in out.splitlines()[1]

    code, out, _ = cli(fake, "archive", sid)
    assert code == EXIT_OK and fake.sessions[sid]["archived"] is True


def test_send_interactive_prompt_and_yes(fake: FakeCompanion) -> None:
    sid = fake.create({})["id"]
    code, out, err = cli(fake, "send", sid, "touch x", stdin=Tty("maybe\ny\n"))
    assert code == EXIT_OK and "Allow Bash: touch x? [y/n]" in err and "Created x." in out
    code, out, _ = cli(fake, "send", sid, "touch x", "--yes")
    assert code == EXIT_OK and "Created x." in out
    code, out, _ = cli(fake, "send", sid, "touch x", stdin=Tty("n\n"))
    assert code == EXIT_TURN and "✗ turn ended with an error: denied" in out


def test_send_json_and_error_turn(fake: FakeCompanion) -> None:
    sid = fake.create({})["id"]
    code, out, _ = cli(fake, "--json", "send", sid, "fail now")
    lines = [json.loads(line) for line in out.splitlines()]
    assert code == EXIT_TURN
    assert lines[-1] == {
        "type": "turn_outcome",
        "kind": "result",
        "session_id": sid,
        "request_id": None,
        "last_seq": lines[-2]["seq"],
    }


def test_server_errors_exit_1(fake: FakeCompanion) -> None:
    code, _, err = cli(fake, "kill", "missing")
    assert code == EXIT_SERVER_ERROR and "no session 'missing'" in err
    code, _, err = cli(fake, "new", "--backend", "nope")
    assert code == EXIT_SERVER_ERROR and "unknown backend 'nope'" in err
    sid = fake.create({})["id"]
    code, _, err = cli(fake, "approve", sid)
    assert code == EXIT_SERVER_ERROR and "no pending permission request" in err
    code, _, err = cli(None, "--url", fake.url, "--token", "bad", "status")
    assert code == EXIT_SERVER_ERROR and "HTTP 403" in err


def test_status_and_module_entry_point(fake: FakeCompanion) -> None:
    code, out, _ = cli(fake, "status")
    assert code == EXIT_OK and "backend claude: available" in out
    proc = subprocess.run(  # noqa: S603 - fixed argv
        [
            sys.executable,
            "-m",
            "jupyter_companion.cli",
            "--url",
            fake.url,
            "--token",
            TOKEN,
            "--json",
            "status",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["version"] == "0.1.0"


@pytest.mark.parametrize("command", ["interrupt", "kill"])
def test_actions(fake: FakeCompanion, command: str) -> None:
    sid = fake.create({})["id"]
    code, out, _ = cli(fake, command, sid)
    assert code == EXIT_OK and sid in out
    assert any(path.endswith(f"/{sid}/{command}") for _, path, _ in fake.requests)


def test_attach_answers_a_pending_request(fake: FakeCompanion) -> None:
    sid = fake.create({})["id"]
    fake.user_turn(sid, "touch x", "m1")  # history: a turn waiting on permission req-1
    code, out, err = cli(fake, "attach", sid, "--until-result", stdin=Tty("y\n"))
    assert code == EXIT_OK, err
    assert "attached to" in err and "Allow Bash: touch x? [y/n]" in err
    assert "> touch x" in out and "Created x." in out and "✓ done" in out
    assert fake.sessions[sid]["pending_permissions"] == []


def test_attach_without_terminal_only_shows(fake: FakeCompanion) -> None:
    sid = fake.create({})["id"]
    fake.user_turn(sid, "say hi", "m1")
    fake.user_turn(sid, "touch x", "m2")
    code, out, err = cli(fake, "--json", "attach", sid, "--until-result", "--yes")
    events = [json.loads(line) for line in out.splitlines()]
    assert code == EXIT_OK
    assert [e["type"] for e in events].count("result") == 2  # the replayed one did not detach
    assert events[-1]["type"] == "result" and events[-1]["seq"] > 8


def test_agent_escape_sequences_never_reach_the_terminal() -> None:
    """An agent (or a repository, a session name, a transcript title) cannot recolor, clear or
    retitle the user's terminal, nor write to its clipboard: only the CLI's own colors are sent."""
    hostile = "\x1b[2J\x1b]0;owned\x07\x1b]52;c;ZXZpbA==\x07\x1b[31mred\x9b2K\rover"
    out: list[str] = []
    render = TextRenderer(out.append, color=True)
    render({"type": "stream_delta", "kind": "text", "text": hostile})
    render({"type": "assistant", "message": {"content": [{"type": "text", "text": hostile},
                                                        {"type": "tool_use", "id": "t", "name": "Bash",
                                                         "input": {"command": hostile}}]}})
    render({"type": "permission_request", "request_id": hostile, "tool_name": "Bash", "input": {"command": hostile}})
    render({"type": "error", "message": hostile})
    render({"type": "result", "is_error": True, "text": hostile})
    text = "".join(out)
    own = ("\033[2m", "\033[1m", "\033[31m", "\033[32m", "\033[33m", "\033[34m", "\033[35m", "\033[36m", "\033[0m")
    stripped = text
    for code in own:
        stripped = stripped.replace(code, "")
    assert "\x1b" not in stripped and "\x07" not in stripped and "\r" not in stripped and "\x9b" not in stripped
    assert "redover" in stripped.replace("2K", "")
    table = sessions_table([{"id": "s1", "name": hostile, "cwd": "/w\x1b[8m"}])
    assert "\x1b" not in table and "\x07" not in table


def test_a_stopped_turn_is_not_reported_as_a_failure() -> None:
    out: list[str] = []
    TextRenderer(out.append)({"type": "result", "is_error": True, "interrupted": True, "duration_ms": 300})
    assert "".join(out) == "■ stopped (0.3s)\n"


def test_a_crash_mid_answer_says_how_to_send_the_prompt_again() -> None:
    out: list[str] = []
    render = TextRenderer(out.append, retry_hint="send it again with: jupyter companion retry s1")
    render({"type": "stream_delta", "kind": "text", "text": "half an"})
    render({"type": "assistant", "incomplete": True, "message": {"content": [{"type": "text", "text": "half an"}]}})
    render({"type": "error", "code": "cli_exited", "retry": True, "message": "The agent stopped in the middle"})
    render({"type": "error", "code": "cli_exited", "message": "The agent stopped unexpectedly"})
    assert "".join(out).split("\n") == [
        "half an", "(the agent stopped here)", "error: The agent stopped in the middle",
        "send it again with: jupyter companion retry s1", "error: The agent stopped unexpectedly", ""]


def test_a_warning_notice_stands_out() -> None:
    out: list[str] = []
    render = TextRenderer(out.append)
    render({"type": "notice", "level": "warning", "code": "model_retrying", "message": "The model could not be reached"})
    render({"type": "notice", "level": "info", "code": "idle_stopped", "message": "stopped after a long idle time"})
    assert "".join(out).split("\n") == [
        "warning: The model could not be reached", "note: stopped after a long idle time", ""]


def test_status_says_which_backends_lack_credentials_and_what_drifted() -> None:
    from jupyter_companion.client.render import status_text

    text = status_text({
        "version": "1.0",
        "backends": [
            {"name": "claude", "available": True, "version": "2.1.197",
             "credentials": {"configured": True, "source": "ANTHROPIC_API_KEY"}},
            {"name": "codex", "available": True, "version": "0.169.0",
             "credentials": {"configured": False, "hint": "run 'codex login' in a terminal"}},
        ],
        "plugins": [],
        "protocol_drift": [{"backend": "codex", "what": "codex notification thread/goal/cleared", "count": 3}],
    })
    assert text.split("\n")[1:] == [
        "  backend claude 2.1.197: available, credentials from ANTHROPIC_API_KEY",
        "  backend codex 0.169.0: available, NO CREDENTIALS: run 'codex login' in a terminal",
        "  unknown to this version: codex codex notification thread/goal/cleared (seen 3x)",
    ]

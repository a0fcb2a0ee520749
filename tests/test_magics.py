"""``%companion`` magics and the chat widget model, against the in-process fake API server."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from IPython.core.error import UsageError
from IPython.core.interactiveshell import InteractiveShell

from jupyter_companion import load_ipython_extension
from jupyter_companion.client import CompanionClient
from jupyter_companion.magics import CompanionMagics, build_parser, split_line
from jupyter_companion.widgets import ChatModel, ChatWidget, CreationProgress

from .test_client import TOKEN, FakeCompanion, fake_fixture  # noqa: F401  (the `fake` fixture)


@pytest.fixture
def shell() -> InteractiveShell:
    return InteractiveShell.instance()


@pytest.fixture
def magics(shell: InteractiveShell, fake: FakeCompanion) -> Iterator[CompanionMagics]:
    client = CompanionClient(fake.url, TOKEN)
    m = CompanionMagics(shell, client_factory=lambda: client)
    shell.register_magics(m)
    yield m


def run(shell: InteractiveShell, line: str, cell: str | None = None) -> Any:
    if cell is None:
        return shell.run_line_magic("companion", line)
    return shell.run_cell_magic("companion", line, cell)


# -- parsing ---------------------------------------------------------------------------------------
def test_parser_new_options() -> None:
    args = build_parser().parse_args(
        [
            "new",
            "--backend",
            "codex",
            "--model",
            "m",
            "--cwd",
            "sub",
            "--branch",
            "b",
            "--worktree",
            "--mode",
            "plan",
            "--name",
            "n",
        ]
    )
    assert (args.backend, args.model, args.cwd, args.branch, args.worktree, args.mode, args.name) == (
        "codex",
        "m",
        "sub",
        "b",
        True,
        "plan",
        "n",
    )
    assert build_parser().parse_args(["new"]).backend == "claude"
    resumed = build_parser().parse_args(["new", "--resume", "c0ffee", "--fork"])
    assert (resumed.resume, resumed.fork) == ("c0ffee", True)
    assert build_parser().parse_args(["new"]).resume is None


def test_split_line_keeps_send_text_verbatim() -> None:
    assert split_line("send don't stop") == ["send", "don't stop"]
    assert split_line('send -s abc "quoted" text') == ["send", "-s", "abc", '"quoted" text']
    assert split_line("history abc --after 3") == ["history", "abc", "--after", "3"]


def test_usage_errors_and_help(shell: InteractiveShell, magics: CompanionMagics, capsys: Any) -> None:
    with pytest.raises(UsageError, match="invalid choice"):
        run(shell, "new --mode yolo")
    with pytest.raises(UsageError, match="no current session"):
        run(shell, "send hello")
    run(shell, "approve --help")
    out = capsys.readouterr().out
    assert "usage: %companion approve" in out and "request id" in out
    run(shell, "--help")
    assert "history" in capsys.readouterr().out


def test_load_extension_registers_magics(shell: InteractiveShell) -> None:
    load_ipython_extension(shell)
    assert shell.find_line_magic("companion") is not None
    assert shell.find_cell_magic("companion") is not None


# -- a full flow -----------------------------------------------------------------------------------
def test_new_send_permission_approve_history(
    shell: InteractiveShell,
    magics: CompanionMagics,
    fake: FakeCompanion,
    capsys: Any,
) -> None:
    run(shell, "new --name demo --no-widget")
    out = capsys.readouterr().out
    assert "✓ workspace" in out and "ready" in out
    sid = magics.current
    assert sid is not None and fake.sessions[sid]["name"] == "demo"

    run(shell, "send say hello")
    out = capsys.readouterr().out
    assert out.count("Hello there") == 1  # streamed, not repeated by the final message
    assert "✓ done (1.2s, 1 turn(s), $0.0123)" in out

    run(shell, "", "please touch x")
    out = capsys.readouterr().out
    assert "Permission requested: Bash: touch x" in out
    assert "request id: req-1" in out and "%companion approve req-1" in out
    assert magics.last_outcome is not None and magics.last_outcome.kind == "permission"

    run(shell, "approve")
    out = capsys.readouterr().out
    assert "Allowed req-1." in out and "Created x." in out and "✓ done" in out
    assert fake.sessions[sid]["pending_permissions"] == []

    run(shell, "history")
    out = capsys.readouterr().out
    assert "> say hello" in out and "> please touch x" in out
    assert "→ Bash: touch x" in out and "✓ allowed (user) request req-1" in out

    run(shell, "list")
    out = capsys.readouterr().out
    assert sid in out and "demo" in out and f"current: {sid}" in out

    run(shell, f"kill {sid[:6]}")
    assert f"Killed {sid}." in capsys.readouterr().out
    run(shell, "status")
    assert "backend claude: available" in capsys.readouterr().out


def test_deny_and_unknown_request(shell: InteractiveShell, magics: CompanionMagics, capsys: Any) -> None:
    run(shell, "new --no-widget")
    with pytest.raises(UsageError, match="no pending permission"):
        run(shell, "deny")
    run(shell, "send touch x")
    with pytest.raises(UsageError, match="no single pending request"):
        run(shell, "deny zzz")
    run(shell, "deny req -m 'not now'")
    out = capsys.readouterr().out
    assert "Denied req-1." in out and "✗ turn ended with an error: denied" in out


def test_use_and_archive(
    shell: InteractiveShell, magics: CompanionMagics, fake: FakeCompanion, capsys: Any
) -> None:
    one = fake.create({"name": "one"})["id"]
    fake.create({"name": "two"})
    run(shell, "use one")
    assert magics.current == one
    run(shell, "archive one")
    assert magics.current is None and fake.sessions[one]["archived"] is True
    with pytest.raises(UsageError, match="no session"):
        run(shell, "use nothing-like-it")


def test_completion(magics: CompanionMagics, fake: FakeCompanion) -> None:
    sid = fake.create({})["id"]
    assert magics.complete("%companion ") == list(__import__("jupyter_companion.magics").magics.SUBCOMMANDS)
    assert magics.complete("%companion hi") == ["history"]
    assert magics.complete("%companion use ") == [sid]
    assert magics.complete(f"%companion kill {sid[:3]}") == [sid]
    assert magics.complete("%companion new --wo") == ["--worktree"]


# -- widgets -----------------------------------------------------------------------------------------
def test_chat_model_builds_the_transcript() -> None:
    model = ChatModel("s1")
    model.load_session({"name": "n", "backend": "claude", "phase": "ready", "pending_permissions": []})
    model.apply({"seq": 1, "type": "user_message", "content": "hi"})
    model.apply({"seq": None, "type": "stream_delta", "kind": "text", "text": "Hel"})
    assert model.plain_text().endswith("Hel ▌")
    model.apply(
        {
            "seq": 2,
            "type": "assistant",
            "message": {
                "content": [
                    {"type": "text", "text": "Hello"},
                    {"type": "tool_use", "name": "Bash", "input": {"command": "ls"}},
                ]
            },
        }
    )
    model.apply(
        {
            "seq": 3,
            "type": "permission_request",
            "request_id": "r1",
            "tool_name": "Bash",
            "input": {"command": "ls"},
        }
    )
    assert "r1" in model.pending and "1 permission request(s) waiting" in model.status_line()
    assert model.apply({"seq": 3, "type": "error", "message": "dup"}) is False  # already seen
    model.apply({"seq": 4, "type": "permission_resolved", "request_id": "r1", "behavior": "allow"})
    model.apply({"seq": 5, "type": "result", "is_error": False, "cost_usd": 0.5})
    assert model.cost_usd is None  # a turn's cost is not the session's
    model.apply({"seq": 6, "type": "session_update", "cost_usd": 0.5, "num_turns": 1})
    model.apply({"seq": 7, "type": "phase", "phase": "ready"})
    text = model.plain_text()
    assert text.split("\n\n")[:3] == ["You: hi", "Hello", "→ Bash: ls"]
    assert "▌" not in text and model.pending == {}
    assert "<code>Bash: ls</code>" in model.html()
    model.apply({"seq": 8, "type": "result", "is_error": True, "interrupted": True})
    assert model.plain_text().endswith("■ stopped") and "error" not in model.plain_text().split("\n\n")[-1]
    assert model.status_line() == "Ready · $0.5000"


def test_chat_widget_buttons_drive_the_api(fake: FakeCompanion) -> None:
    client = CompanionClient(fake.url, TOKEN)
    sid = client.create_session("claude", name="w")["id"]
    widget = ChatWidget(client, sid, follow=False)
    assert repr(widget).startswith("CompanionChat(session=")
    assert widget._repr_mimebundle_()["text/plain"] == repr(widget)
    widget.send("touch x")
    for event in client.stream(sid, 0, idle_timeout=10):
        widget.apply(event)
        if event["type"] == "permission_request":
            break
    assert len(widget.permissions.children) == 1
    allow = widget.permissions.children[0].children[1].children[0]
    allow.click()
    assert fake.sessions[sid]["pending_permissions"] == []
    data = widget.transcript.outputs[0]["data"]
    assert "text/markdown" not in data  # rendered as trusted in an Output: HTML built safely instead
    assert data["text/plain"].startswith("You: touch x")
    assert data["text/html"].startswith("<p><b>You:</b> touch x</p>")
    widget.close()


def test_chat_widget_follows_in_background(fake: FakeCompanion) -> None:
    client = CompanionClient(fake.url, TOKEN)
    sid = client.create_session("claude")["id"]
    client.run_turn(sid, "hello")
    widget = ChatWidget(client, sid, follow=False)
    got_result = threading.Event()
    apply = widget.apply

    def spy(event: dict[str, Any]) -> None:
        apply(event)
        if event["type"] == "result":
            got_result.set()

    widget.apply = spy  # type: ignore[method-assign]
    widget.start()
    try:
        assert got_result.wait(30), "the follower thread delivered no result event"
        assert "Hello there" in widget.model.plain_text()
        assert widget.thread_alive()
    finally:
        widget.close()
    assert not widget.thread_alive(wait=10)


def test_creation_progress_text() -> None:
    lines: list[str] = []
    progress = CreationProgress(False, lines.append)
    progress({"type": "progress", "step": "git", "label": "Checking out", "status": "in_progress"})
    progress({"type": "progress", "step": "git", "label": "Checking out", "status": "done", "detail": "main"})
    progress.finish(True, "ready")
    assert lines == ["… Checking out", "✓ Checking out (main)", "ready"]


def test_chat_model_offers_retry_after_a_crash_mid_answer() -> None:
    model = ChatModel("s1")
    model.apply({"seq": 1, "type": "user_message", "content": "go"})
    model.apply({"seq": 2, "type": "assistant", "incomplete": True,
                 "message": {"content": [{"type": "text", "text": "half"}]}})
    model.apply({"seq": 3, "type": "error", "code": "cli_exited", "retry": True, "message": "stopped"})
    assert model.retryable and "(the agent stopped here)" in model.plain_text()
    model.apply({"seq": 4, "type": "user_message", "content": "go", "retry_of": 1})
    assert not model.retryable


def test_the_widget_shows_only_the_latest_retry_of_a_model_request() -> None:
    model = ChatModel("s1")
    for seq, attempt in ((1, 1), (2, 2)):
        model.apply({"seq": seq, "type": "notice", "level": "warning", "code": "model_retrying",
                     "message": f"The model could not be reached (HTTP 401); retrying, attempt {attempt} of 5…"})
    model.apply({"seq": 3, "type": "notice", "level": "info", "code": "relaunched", "message": "relaunched"})
    assert model.plain_text().split("\n\n") == [
        "⚠ The model could not be reached (HTTP 401); retrying, attempt 2 of 5…", "ℹ relaunched"]


def test_the_widget_shows_prompts_waiting_for_the_turn_below_it() -> None:
    model = ChatModel("s1")
    model.apply({"seq": 1, "type": "user_message", "content": "first"})
    model.apply({"seq": None, "type": "stream_delta", "kind": "text", "text": "work"})
    model.apply({"seq": 2, "type": "session_update", "queued_messages": [{"id": "a", "content": "<b>second</b>"}]})
    assert model.plain_text().split("\n\n")[-1] == "⏳ queued (sent after this turn): <b>second</b>"
    assert "&lt;b&gt;second&lt;/b&gt;" in model.html()
    model.apply({"seq": 3, "type": "session_update", "queued_messages": []})
    assert "queued" not in model.plain_text()


def test_new_in_a_sandbox(shell: InteractiveShell, magics: CompanionMagics, fake: FakeCompanion, capsys: Any) -> None:
    """``--sandbox-profile`` alone means the docker sandbox; ``--sandbox`` names another."""
    run(shell, "new --sandbox-profile box --no-widget")
    run(shell, "new --sandbox local --no-widget")
    capsys.readouterr()
    bodies = [json.loads(body) for method, path, body in fake.requests if method == "POST" and path.endswith("/sessions")]
    assert (bodies[-2]["sandbox"], bodies[-2]["sandbox_profile"]) == ("docker", "box")
    assert bodies[-1]["sandbox"] == "local" and "sandbox_profile" not in bodies[-1]

"""The recap given to an agent whose conversation could not be resumed (sessions/recap.py)."""

from __future__ import annotations

from typing import Any

from jupyter_companion.sessions.recap import (
    FOOTER,
    HEADER,
    MAX_ITEM_CHARS,
    build_recap,
    recap_lines,
    with_recap,
)


def user(text: str, **extra: Any) -> dict[str, Any]:
    return {"type": "user_message", "content": text, **extra}


def assistant(*blocks: dict[str, Any], parent: str | None = None) -> dict[str, Any]:
    event: dict[str, Any] = {"type": "assistant", "message": {"id": "m", "model": "x", "content": list(blocks)}}
    if parent:
        event["parent_tool_use_id"] = parent
    return event


def test_lines_follow_the_conversation_and_summarize_tools() -> None:
    events = [
        {"type": "phase", "phase": "ready"},
        user("list the files", images=[{"media_type": "image/png", "data": "x"}]),
        assistant({"type": "thinking", "thinking": "hmm"}, {"type": "text", "text": "Sure."},
                  {"type": "tool_use", "id": "t1", "name": "Bash", "input": {"command": "ls -la"}}),
        {"type": "tool_result", "tool_use_id": "t1", "content": "a\nb", "is_error": False},
        assistant({"type": "tool_use", "id": "t2", "name": "Read", "input": {"file_path": "/w/a.py"}}, parent="t9"),
        assistant({"type": "tool_use", "id": "t3", "name": "mcp__x", "input": {"n": 1}}),
        assistant({"type": "tool_use", "id": "t4", "name": "Empty", "input": {}}),
        assistant({"type": "text", "text": "  "}),
        {"type": "result", "is_error": False},
    ]
    assert recap_lines(events) == [
        "User: list the files [1 image(s) attached]",
        "Assistant: Sure.",
        "Assistant (tool Bash: ls -la)",
        'Assistant (tool mcp__x: {"n": 1})',
        "Assistant (tool Empty)",
    ]


def test_recap_frames_the_lines_and_is_empty_without_a_user_message() -> None:
    assert build_recap([]) == ""
    assert build_recap([assistant({"type": "text", "text": "hello"})]) == ""
    recap = build_recap([user("remember 42"), assistant({"type": "text", "text": "ok"})])
    assert recap.splitlines() == [HEADER, "User: remember 42", "Assistant: ok", FOOTER]
    assert with_recap(recap, "what number?").endswith(FOOTER + "\n\nwhat number?")
    assert with_recap("", "what number?") == "what number?"


def test_long_conversations_keep_the_newest_lines_within_the_budget() -> None:
    events = []
    for n in range(500):
        events += [user(f"question {n} " + "x" * 100), assistant({"type": "text", "text": f"answer {n}"})]
    recap = build_recap(events, max_chars=5000)
    assert len(recap) <= 5000
    lines = recap.splitlines()
    assert lines[0] == HEADER and lines[-1] == FOOTER
    assert lines[1].endswith("earlier lines left out)")
    assert lines[-2] == "Assistant: answer 499"
    assert "question 0 " not in recap


def test_one_huge_message_is_clipped() -> None:
    recap = build_recap([user("y" * 100_000)])
    assert len(recap) < MAX_ITEM_CHARS + len(HEADER) + len(FOOTER) + 20
    assert "…" in recap

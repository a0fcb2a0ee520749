"""Earlier conversations a new session can continue: ``GET backends/{name}/conversations``."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import pytest

from jupyter_companion.backends import claude_transcripts

pytestmark = pytest.mark.timeout(60)


def write_transcript(config: Path, cwd: Path | str, session_id: str, prompts: list[Any], mtime: float | None = None) -> Path:
    """A transcript in the shape Claude Code 2.1.197 writes (verified on this machine)."""
    folder = config / "projects" / str(cwd).replace("/", "-")
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{session_id}.jsonl"
    lines = [{"type": "queue-operation", "operation": "enqueue", "sessionId": session_id, "content": "x"}]
    for content in prompts:
        lines.append({"parentUuid": None, "type": "user", "message": {"role": "user", "content": content},
                      "cwd": str(cwd), "sessionId": session_id, "timestamp": "2026-11-26T10:00:00.000Z",
                      "version": "2.1.197"})
        lines.append({"type": "assistant", "message": {"role": "assistant", "content": [{"type": "text", "text": "ok"}]},
                      "cwd": str(cwd), "sessionId": session_id})
    path.write_text("\n".join(json.dumps(line) for line in lines) + "\n")
    if mtime is not None:
        os.utime(path, (mtime, mtime))
    return path


def test_transcripts_newest_first_with_their_first_real_prompt(tmp_path: Path) -> None:
    config = tmp_path / ".claude"
    now = time.time()
    write_transcript(config, "/w/a", "old", ["first question"], mtime=now - 100)
    write_transcript(config, "/w/b", "new", ["<command-name>/clear</command-name>",
                                              [{"type": "text", "text": "  fix   the\nbug  "}]], mtime=now)
    write_transcript(config, "/w/c", "empty", ["<system-reminder>x</system-reminder>"], mtime=now - 50)
    (config / "projects" / "junk").mkdir()
    (config / "projects" / "junk" / "broken.jsonl").write_text("not json\n{\n")
    found = claude_transcripts.list_conversations({"HOME": str(tmp_path)})
    assert [c["id"] for c in found] == ["new", "old"]
    assert found[0]["title"] == "fix the bug" and found[0]["cwd"] == "/w/b"
    assert found[0]["updated_at"].endswith("Z") and found[1]["started_at"] == "2026-11-26T10:00:00.000Z"
    assert [c["id"] for c in claude_transcripts.list_conversations({"HOME": str(tmp_path)}, limit=1)] == ["new"]
    kept = claude_transcripts.list_conversations({"HOME": str(tmp_path)}, keep=lambda c: c["cwd"] == "/w/a")
    assert [c["id"] for c in kept] == ["old"]
    # CLAUDE_CONFIG_DIR wins over HOME; a missing folder is simply empty
    assert claude_transcripts.list_conversations({"HOME": "/nonexistent", "CLAUDE_CONFIG_DIR": str(config)})
    assert claude_transcripts.list_conversations({"HOME": str(tmp_path / "none")}) == []


def test_a_long_title_is_clipped(tmp_path: Path) -> None:
    write_transcript(tmp_path / ".claude", "/w", "long", ["word " * 200])
    (found,) = claude_transcripts.list_conversations({"HOME": str(tmp_path)})
    assert len(found["title"]) == claude_transcripts.TITLE_CHARS and found["title"].endswith("…")


@pytest.fixture
def claude_home(tmp_path: Path) -> Path:
    home = tmp_path / "home"
    home.mkdir()
    return home


@pytest.fixture
def companion_config(companion_config: dict[str, Any], claude_home: Path) -> dict[str, Any]:
    return {**companion_config, "cli_env": {"HOME": str(claude_home)}}


async def test_route_lists_conversations_inside_the_root_only(api: Any, jp_root_dir: Path, claude_home: Path,
                                                              tmp_path: Path) -> None:
    config = claude_home / ".claude"
    project = jp_root_dir / "project"
    project.mkdir()
    now = time.time()
    write_transcript(config, project, "in-project", ["refactor the parser"], mtime=now)
    write_transcript(config, jp_root_dir, "at-root", ["hello root"], mtime=now - 10)
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    write_transcript(config, outside, "outside", ["secret plans"], mtime=now - 5)
    (jp_root_dir / "link").symlink_to(outside)
    write_transcript(config, jp_root_dir / "link", "via-link", ["also outside"], mtime=now - 6)

    status, data = await api("GET", "backends", "claude", "conversations")
    assert status == 200 and data["supported"] is True
    assert [(c["id"], c["folder"]) for c in data["conversations"]] == [("in-project", "project"), ("at-root", ".")]
    assert "secret plans" not in json.dumps(data) and "also outside" not in json.dumps(data)
    status, data = await api("GET", "backends", "claude", "conversations", params={"cwd": "project", "limit": "5"})
    assert [c["id"] for c in data["conversations"]] == ["in-project"]
    assert data["conversations"][0]["cwd"] == str(project.resolve())

    status, backends = await api("GET", "backends")
    assert next(b for b in backends["backends"] if b["name"] == "claude")["conversations"] is True
    status, data = await api("GET", "backends", "echo", "conversations")
    assert status == 200 and data == {"supported": False, "conversations": []}
    for params, code in (({"cwd": "../.."}, 403), ({"limit": "0"}, 400), ({"limit": "x"}, 400), ({"cwd": "missing"}, 400)):
        status, data = await api("GET", "backends", "claude", "conversations", params=params)
        assert status == code and "error" in data, (params, status, data)
    status, data = await api("GET", "backends", "nope", "conversations")
    assert status == 404 and "error" in data


def test_reading_stops_at_the_first_prompt_and_at_the_byte_budget(tmp_path: Path) -> None:
    config = tmp_path / ".claude"
    path = write_transcript(config, "/w", "big", ["early prompt"])
    with path.open("a") as handle:  # a huge tail that must not be needed
        handle.write(json.dumps({"type": "user", "message": {"content": "x" * 5_000_000}}) + "\n")
    (found,) = claude_transcripts.list_conversations({"HOME": str(tmp_path)})
    assert found["title"] == "early prompt"
    late = config / "projects" / "late" / "late.jsonl"
    late.parent.mkdir()
    filler = json.dumps({"type": "attachment", "content": "y" * 400_000})
    prompt = json.dumps({"type": "user", "message": {"content": "too late"}, "sessionId": "late", "cwd": "/w"})
    late.write_text(f"{filler}\n{prompt}")  # beyond HEAD_BYTES, and no final newline
    assert [c["id"] for c in claude_transcripts.list_conversations({"HOME": str(tmp_path)})] == ["big"]
    near = config / "projects" / "near" / "near.jsonl"
    near.parent.mkdir()
    near.write_text(prompt.replace("late", "near").replace("too near", "just in time"))  # no newline at all
    assert "near" in [c["id"] for c in claude_transcripts.list_conversations({"HOME": str(tmp_path)})]

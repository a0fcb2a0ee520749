"""End to end: a REAL Claude Code session (scripted Messages API, offline) in a fresh git worktree;
the agent's tool writes a file and the session's changes/diff routes show it; deleting the
session removes the worktree and its temporary branch."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.anthropic_server import ScriptedAnthropic, Text, ToolUse
from tests.support.clis import claude_env
from tests.support.real_claude import claude_binary, real_claude  # noqa: F401 - shared fixtures
from tests.test_git import exists, git, isolated_git, make_repos  # noqa: F401 - autouse git isolation

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(240)]


@pytest.fixture
def model_server() -> Iterator[ScriptedAnthropic]:
    with ScriptedAnthropic() as srv:
        srv.on(
            r"write the notes",
            [
                Text("Writing it."),
                ToolUse(
                    "Bash",
                    {
                        "command": "printf 'from the agent\\n' > agent-notes.txt",
                        "description": "Write a file",
                    },
                ),
            ],
        )
        srv.on_tool_result(Text("Done."))
        srv.on(None, Text("ok"))
        yield srv


@pytest.fixture
def companion_config(
    companion_config: dict[str, Any], model_server: ScriptedAnthropic, tmp_path: Path
) -> dict[str, Any]:
    home = tmp_path / "home"
    home.mkdir()
    env = claude_env(model_server.base_url, home)
    return {
        **companion_config,
        "cli_env": {k: v for k, v in env.items() if k != "PATH"},
        "worktrees_dir": str(tmp_path / "worktrees"),
    }


async def test_agent_edit_in_a_worktree_shows_in_the_diff(
    api: Any, connect: Any, jp_root_dir: Path, tmp_path: Path, model_server: ScriptedAnthropic
) -> None:
    remote_side = tmp_path / "remote-side"
    remote_side.mkdir()
    repos = make_repos(remote_side, root=jp_root_dir)
    status, session = await api(
        "POST", "sessions", body={"backend": "claude", "cwd": "work", "branch": "main", "worktree": True}
    )
    assert status == 201, session
    worktree = Path(session["cwd"])
    assert worktree.parent == (tmp_path / "worktrees" / "work").resolve()
    assert session["git"]["is_worktree"] is True and session["git"]["branch"] == "main-wt-1"

    stream = await connect(session["id"])
    await stream.send({"type": "user_message", "content": "please write the notes"})
    request = await stream.until_type("permission_request", timeout=90)
    await stream.send(
        {"type": "permission_response", "request_id": request["request_id"], "behavior": "allow"}
    )
    await stream.until_type("result", timeout=90)
    assert (worktree / "agent-notes.txt").read_text() == "from the agent\n"
    assert not (repos.work / "agent-notes.txt").exists()  # the main checkout is untouched

    status, changes = await api("GET", "sessions", session["id"], "changes", params={"base": "head"})
    assert status == 200, changes
    assert [(f["path"], f["status"], f["untracked"]) for f in changes["files"]] == [
        ("agent-notes.txt", "A", True)
    ]
    status, diff = await api("GET", "sessions", session["id"], "diff", params={"file": "agent-notes.txt"})
    assert status == 200 and "+from the agent" in diff["diff"]

    # archiving keeps the agent's uncommitted work; the unarchived session goes on in the same worktree
    status, archived = await api("POST", "sessions", session["id"], "archive")
    assert status == 200 and archived["worktree"]["cleaned"] is False and archived["worktree"]["dirty"] is True
    assert archived["worktree"]["path"] == str(worktree)
    assert (worktree / "agent-notes.txt").read_text() == "from the agent\n"
    _, info = await api("GET", "sessions", session["id"])
    assert info["pid"] is None and info["archived"] is True
    status, _ = await api("POST", "sessions", session["id"], "unarchive")
    assert status == 200
    await stream.send({"type": "user_message", "content": "are you back?"})
    await stream.until(lambda e: e["type"] == "result" and "are you back?" in str(model_server.requests[-1].body),
                       timeout=90)
    _, info = await api("GET", "sessions", session["id"])
    assert info["pid"] and info["cwd"] == str(worktree)

    status, _ = await api("DELETE", "sessions", session["id"])
    assert status == 200
    assert not exists(worktree)
    assert git(repos.work, "worktree", "list", "--porcelain").count("worktree ") == 1
    assert "main-wt-1" not in git(repos.work, "branch", "--format=%(refname:short)").split()

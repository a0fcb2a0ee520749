"""Archiving never loses work: a worktree with uncommitted changes is kept (and the answer says
where), ``force`` discards it, delete removes it; unarchiving brings a removed worktree back."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.test_git import exists, git, isolated_git, make_repos  # noqa: F401 - autouse git isolation

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def repos(jp_root_dir: Path, tmp_path: Path) -> Any:
    remote_side = tmp_path / "remote-side"
    remote_side.mkdir()
    return make_repos(remote_side, root=jp_root_dir)


async def worktree_session(api: Any, branch: str) -> dict[str, Any]:
    status, session = await api("POST", "sessions", body={"backend": "claude", "cwd": "work", "branch": branch,
                                                           "worktree": True})
    assert status == 201, session
    return session


async def test_archive_keeps_a_dirty_worktree_and_says_where(api: Any, connect: Any, repos: Any) -> None:
    session = await worktree_session(api, "main")
    sid, folder = session["id"], Path(session["worktree"]["path"])
    (folder / "unsaved-work.txt").write_text("the agent's work in progress\n")
    status, answer = await api("POST", "sessions", sid, "archive")
    assert status == 200, answer
    assert answer["ok"] is True
    kept = answer["worktree"]
    assert (kept["cleaned"], kept["dirty"], kept["path"]) == (False, True, str(folder))
    assert "uncommitted changes" in kept["detail"]
    assert (folder / "unsaved-work.txt").read_text() == "the agent's work in progress\n"
    _, info = await api("GET", "sessions", sid)
    assert info["archived"] is True and info["pid"] is None and info["phase"] == "terminated"
    assert info["worktree"]["removed"] is False and info["worktree"]["dirty"] is True

    # unarchived, it continues in the very same worktree
    status, answer = await api("POST", "sessions", sid, "unarchive")
    assert status == 200 and "worktree" not in answer
    stream = await connect(sid)
    await stream.send({"type": "user_message", "content": "still there?"})
    await stream.until_type("result")
    _, info = await api("GET", "sessions", sid)
    assert info["cwd"] == str(folder.resolve()) and info["pid"]

    # force discards the changes; delete of another dirty one removes it too
    status, answer = await api("POST", "sessions", sid, "archive", body={"force": True})
    assert status == 200 and answer["worktree"]["cleaned"] is True and answer["worktree"]["dirty"] is True
    assert not exists(folder)


async def test_a_clean_worktree_is_removed_and_comes_back_on_unarchive(api: Any, connect: Any, repos: Any) -> None:
    session = await worktree_session(api, "feature")
    sid, folder = session["id"], Path(session["worktree"]["path"])
    status, answer = await api("POST", "sessions", sid, "archive")
    assert status == 200
    assert (answer["worktree"]["cleaned"], answer["worktree"]["dirty"]) == (True, False)
    assert not exists(folder)
    _, info = await api("GET", "sessions", sid)
    assert info["worktree"]["removed"] is True

    status, answer = await api("POST", "sessions", sid, "unarchive")
    assert status == 200 and answer["worktree"]["restored"] is True and answer["worktree"]["path"] == str(folder)
    assert exists(folder / "feature.txt") and git(folder, "branch", "--show-current") == "feature"
    stream = await connect(sid)
    await stream.send({"type": "user_message", "content": "back again"})
    result = await stream.until_type("result")
    assert result["is_error"] is False
    _, info = await api("GET", "sessions", sid)
    assert info["worktree"]["removed"] is False and info["cwd"] == str(folder.resolve())


async def test_unarchive_says_why_a_worktree_cannot_come_back(api: Any, repos: Any) -> None:
    session = await worktree_session(api, "main")  # main is checked out: a temporary main-wt-1 branch
    sid = session["id"]
    assert session["worktree"]["temp_branch"] == "main-wt-1"
    status, answer = await api("POST", "sessions", sid, "archive")
    assert answer["worktree"]["cleaned"] is True and answer["worktree"]["branch_deleted"] is True
    status, answer = await api("POST", "sessions", sid, "unarchive")
    assert status == 409 and "main-wt-1 of the removed worktree no longer exists" in answer["error"]
    _, info = await api("GET", "sessions", sid)
    assert info["archived"] is True


async def test_delete_removes_a_kept_worktree(api: Any, repos: Any) -> None:
    session = await worktree_session(api, "main")
    folder = Path(session["worktree"]["path"])
    (folder / "a.txt").write_text("changed\n")
    status, answer = await api("POST", "sessions", session["id"], "archive")
    assert answer["worktree"]["cleaned"] is False
    status, answer = await api("DELETE", "sessions", session["id"])
    assert status == 200 and answer["worktree"]["removed"] is True
    assert not exists(folder)
    assert git(repos.work, "worktree", "list", "--porcelain").count("worktree ") == 1

"""A session's folder is resolved again after a branch checkout or a new worktree, and before every
launch of its CLI: a branch in which the session's sub-folder is a symlink out of the root never
makes an agent run there."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from jupyter_companion.gitops import PathOutsideRootError, prepare_workspace
from jupyter_companion.sessions.folders import FolderOutsideRoots, Folders
from tests.test_git import assert_nothing_left, git, isolated_git, make_repos  # noqa: F401 - autouse

pytestmark = pytest.mark.timeout(120)


def add_escape_branch(work: Path, target: Path) -> None:
    """Push a branch ``escape`` in which ``sub`` (a folder on main) is a symlink to ``target``."""
    (work / "sub").mkdir()
    (work / "sub" / "keep.txt").write_text("x\n")
    git(work, "add", "sub")
    git(work, "commit", "-q", "-m", "a sub folder")
    git(work, "push", "-q", "origin", "main")
    git(work, "checkout", "-q", "-b", "escape")
    git(work, "rm", "-q", "-r", "sub")
    os.symlink(target, work / "sub")
    git(work, "add", "sub")
    git(work, "commit", "-q", "-m", "sub is a link now")
    git(work, "push", "-q", "origin", "escape")
    git(work, "checkout", "-q", "main")


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    folder = tmp_path / "outside-the-root"
    folder.mkdir()
    return folder


async def test_checkout_that_turns_the_folder_into_an_outside_link_is_refused(tmp_path: Path, outside: Path) -> None:
    repos = make_repos(tmp_path)
    add_escape_branch(repos.work, outside)
    with pytest.raises(PathOutsideRootError, match="outside the server's root folder; switched back to main"):
        await prepare_workspace(repos.root, "work/sub", branch="escape")
    assert git(repos.work, "branch", "--show-current") == "main" and (repos.work / "sub").is_dir()


async def test_worktree_whose_folder_links_out_is_refused_and_removed(tmp_path: Path, outside: Path) -> None:
    repos = make_repos(tmp_path)
    add_escape_branch(repos.work, outside)
    with pytest.raises(PathOutsideRootError, match="outside the worktree"):
        await prepare_workspace(repos.root, "work/sub", branch="escape", worktree=True,
                                worktrees_dir=repos.worktrees, session_id="s1")
    assert_nothing_left(repos, keep_branches={"escape"})


async def test_a_worktree_folder_is_returned_resolved(tmp_path: Path) -> None:
    repos = make_repos(tmp_path)
    link = tmp_path / "worktrees-link"
    repos.worktrees.mkdir()
    link.symlink_to(repos.worktrees)
    result = await prepare_workspace(repos.root, "work", branch="feature", worktree=True,
                                     worktrees_dir=link, session_id="s2")
    assert result.cwd == os.path.realpath(result.cwd)


def test_launch_check(tmp_path: Path, outside: Path) -> None:
    root = tmp_path / "root"
    (root / "a").mkdir(parents=True)
    folders = Folders(str(root))
    assert folders.check_session_folder(str(root / "a")) == (str((root / "a").resolve()), str(root.resolve()))
    (root / "b").symlink_to(outside)
    with pytest.raises(FolderOutsideRoots, match="outside the folders sessions may run in"):
        folders.check_session_folder(str(root / "b"))
    real = str(outside.resolve())
    assert folders.check_session_folder(str(root / "b"), worktree=str(outside)) == (real, real)


async def test_the_cli_never_starts_in_a_folder_that_became_an_outside_link(
    api: Any, connect: Any, jp_root_dir: Path, outside: Path
) -> None:
    sub = jp_root_dir / "proj" / "sub"
    sub.mkdir(parents=True)
    status, session = await api("POST", "sessions", body={"backend": "claude", "cwd": "proj/sub"})
    assert status == 201
    status, _ = await api("POST", "sessions", session["id"], "kill")
    assert status == 200
    sub.rename(jp_root_dir / "proj" / "sub-moved")
    sub.symlink_to(outside)  # e.g. the user switched the repository to a branch where sub is a link
    stream = await connect(session["id"])
    await stream.send({"type": "user_message", "content": "hello"})
    error = await stream.until(lambda e: e.get("type") == "error" and e.get("code") == "delivery_failed")
    assert "outside the folders sessions may run in" in error["message"]
    assert "the CLI was not started" in error["message"]
    status, body = await api("POST", "sessions", session["id"], "relaunch")
    assert status == 502 and "outside the folders sessions may run in" in body["error"]
    _, info = await api("GET", "sessions", session["id"])
    assert info["pid"] is None and info["cli_session_id"] == session["cli_session_id"]
    assert not any(e.get("code") == "context_lost" for e in stream.events)


async def test_creating_a_session_on_such_a_branch_is_refused(api: Any, jp_root_dir: Path, outside: Path,
                                                              tmp_path: Path) -> None:
    (tmp_path / "git").mkdir()
    repos = make_repos(tmp_path / "git", root=jp_root_dir)
    add_escape_branch(repos.work, outside)
    status, body = await api("POST", "sessions", body={"backend": "claude", "cwd": "work/sub", "branch": "escape"})
    assert status == 403 and "outside the server's root folder" in body["error"]
    assert "switched back to main" in body["error"]
    assert git(repos.work, "branch", "--show-current") == "main"
    status, body = await api("POST", "sessions", body={"backend": "claude", "cwd": "work/sub", "branch": "escape",
                                                        "worktree": True})
    assert status == 403 and "outside the worktree" in body["error"]
    _, listing = await api("GET", "sessions", params={"archived": "all"})
    assert listing["sessions"] == []

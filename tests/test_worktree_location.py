"""Worktrees go where JupyterLab can open them: inside the server root, beside their repository
(or inside it, kept out of its status, when the repository is the root itself). Real git."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from jupyter_companion.gitops.workspace import prepare_workspace, remove_worktree
from jupyter_companion.gitops.worktree_location import INSIDE_FOLDER, keep_out_of_status, worktree_parent
from tests.test_git import Repos, commit_file, git, isolated_git, make_repos  # noqa: F401 - autouse git isolation


@pytest.fixture
def repos(tmp_path: Path) -> Repos:
    return make_repos(tmp_path)


async def test_beside_the_repository_inside_the_root_by_default(repos: Repos) -> None:
    result = await prepare_workspace(repos.root, "work", branch="feature", worktree=True, session_id="abcdef123456")
    expected = (repos.root / "work.worktrees" / "feature-abcdef12").resolve()
    assert result.worktree_path == str(expected) and expected.is_dir()
    assert repos.root.resolve() in expected.parents  # JupyterLab can open it
    assert git(repos.work, "status", "--porcelain") == ""
    await remove_worktree(str(repos.work), expected)
    assert not (repos.root / "work.worktrees").exists()  # the empty holder goes with the last one


async def test_inside_a_repository_that_is_the_root_and_out_of_its_status(tmp_path: Path) -> None:
    (tmp_path / "top").mkdir()
    made = make_repos(tmp_path, root=tmp_path / "top")
    root = made.work  # the server root is the repository itself
    first = await prepare_workspace(root, "", branch="feature", worktree=True, session_id="s1")
    second = await prepare_workspace(root, "", branch="main", worktree=True, session_id="s2")
    holder = (root / INSIDE_FOLDER).resolve()
    assert Path(str(first.worktree_path)).parent == holder == Path(str(second.worktree_path)).parent
    assert not holder.name.startswith(".")  # JupyterLab does not serve hidden folders
    assert git(root, "status", "--porcelain", "--untracked-files=all") == ""
    exclude = (root / ".git" / "info" / "exclude").read_text()
    assert exclude.count(f"/{INSIDE_FOLDER}/") == 1
    # the agent's work in a worktree shows in that worktree, not in the main tree
    commit_file(Path(str(first.worktree_path)), "agent.txt", "done\n")
    (Path(str(second.worktree_path)) / "scratch.txt").write_text("x\n")
    assert git(root, "status", "--porcelain", "--untracked-files=all") == ""
    assert git(Path(str(second.worktree_path)), "status", "--porcelain") == "?? scratch.txt"


async def test_a_sub_folder_session_gets_the_same_sub_folder_of_its_worktree(repos: Repos) -> None:
    (repos.work / "pkg").mkdir()
    commit_file(repos.work, "pkg/mod.py", "x = 1\n")
    result = await prepare_workspace(repos.root, "work/pkg", branch="main", worktree=True, session_id="sub1")
    assert result.worktree_path is not None
    assert result.cwd == str(Path(result.worktree_path) / "pkg")
    assert Path(result.worktree_path).parent == (repos.root / "work.worktrees").resolve()


def test_a_configured_folder_is_used_as_is(tmp_path: Path) -> None:
    repo, root = tmp_path / "root" / "proj", tmp_path / "root"
    assert worktree_parent(repo, root, str(tmp_path / "wts")) == (tmp_path / "wts" / "proj").resolve()
    assert worktree_parent(repo, root, None) == (root / "proj.worktrees").resolve()
    assert worktree_parent(root, root, "") == (root / INSIDE_FOLDER).resolve()


def test_nothing_is_excluded_for_a_folder_outside_the_repository(repos: Repos, tmp_path: Path) -> None:
    before = (repos.work / ".git" / "info" / "exclude").read_text()
    keep_out_of_status(repos.work, tmp_path / "elsewhere")
    keep_out_of_status(repos.work, repos.work.resolve())
    assert (repos.work / ".git" / "info" / "exclude").read_text() == before


async def test_sessions_through_the_api_put_worktrees_under_the_root(
    api: Any, tmp_path: Path, jp_root_dir: Path
) -> None:
    (tmp_path / "remote-side").mkdir()
    make_repos(tmp_path / "remote-side", root=jp_root_dir)
    status, session = await api("POST", "sessions", body={"backend": "echo", "cwd": "work", "branch": "feature",
                                                          "worktree": True})
    assert status == 201, session
    folder = Path(session["worktree"]["path"])
    assert folder.parent == (jp_root_dir / "work.worktrees").resolve()
    assert session["cwd"] == str(folder)

"""Git workspaces against real repositories in temporary folders (a bare repository is ``origin``)."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from jupyter_companion.gitops import (
    DirtyWorktreeError,
    GitError,
    InvalidBranchNameError,
    NotARepositoryError,
    PathOutsideRootError,
    PRPoller,
    PRStatusError,
    branches,
    changed_files,
    file_diff,
    pr_status,
    prepare_workspace,
    recent_commits,
    remove_worktree,
    repo_info,
    summarize_checks,
    validate_branch_name,
    worktrees,
)

GIT = shutil.which("git")


def git(cwd: Path | str, *args: str) -> str:
    """Run git in a test repository (argv list) and return its stdout."""
    assert GIT is not None
    proc = subprocess.run([GIT, *args], cwd=cwd, capture_output=True, text=True, check=False)  # noqa: S603
    assert proc.returncode == 0, f"git {' '.join(args)} failed: {proc.stderr}"
    return proc.stdout.strip()


def exists(path: Path) -> bool:
    """``path.exists()`` (a plain function keeps the async-blocking lint quiet in async tests)."""
    return path.exists()


def commit_file(repo: Path, name: str, content: str, message: str | None = None) -> str:
    """Write ``name`` and commit it; returns the new commit hash."""
    target = repo / name
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(content)
    git(repo, "add", "--", name)
    git(repo, "commit", "-q", "-m", message or f"update {name}")
    return git(repo, "rev-parse", "HEAD")


@pytest.fixture(autouse=True)
def isolated_git(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Identity and configuration from the environment only: the machine's config does not matter."""
    config = tmp_path_factory.mktemp("gitconfig") / "config"
    config.write_text("[init]\n\tdefaultBranch = main\n[advice]\n\tdetachedHead = false\n")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(config))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    for var in ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_OBJECT_DIRECTORY"):
        monkeypatch.delenv(var, raising=False)
    for who in ("AUTHOR", "COMMITTER"):
        monkeypatch.setenv(f"GIT_{who}_NAME", "Test Person")
        monkeypatch.setenv(f"GIT_{who}_EMAIL", "test@example.invalid")


@dataclass
class Repos:
    """``root`` (the confinement root), ``work`` (a clone inside it), ``seed`` (another clone
    used to push from "someone else"), ``origin`` (bare) and ``worktrees`` (worktrees folder)."""

    root: Path
    work: Path
    seed: Path
    origin: Path
    worktrees: Path


def make_repos(base: Path, root: Path | None = None) -> Repos:
    """A bare origin with ``main`` (two commits) and ``feature`` (one more), cloned into root/work
    (``root`` defaults to ``base/root``)."""
    origin = base / "origin.git"
    git(base, "init", "-q", "--bare", "-b", "main", str(origin))
    seed = base / "seed"
    git(base, "clone", "-q", str(origin), str(seed))
    commit_file(seed, "README.md", "hello\n", "initial")
    commit_file(seed, "a.txt", "a1\na2\na3\n", "add a")
    git(seed, "push", "-q", "origin", "main")
    git(seed, "checkout", "-q", "-b", "feature")
    commit_file(seed, "feature.txt", "feature\n", "feature work")
    git(seed, "push", "-q", "origin", "feature")
    git(seed, "checkout", "-q", "main")
    if root is None:
        root = base / "root"
        root.mkdir()
    work = root / "work"
    git(root, "clone", "-q", str(origin), str(work))
    return Repos(root=root, work=work, seed=seed, origin=origin, worktrees=base / "worktrees")


@pytest.fixture
def repos(tmp_path: Path) -> Repos:
    return make_repos(tmp_path)


class Progress:
    """Records progress callbacks like the orchestrator's NDJSON writer would."""

    def __init__(self) -> None:
        self.lines: list[dict[str, Any]] = []

    def __call__(self, step: str, label: str, status: str, detail: str | None = None) -> None:
        assert status in ("in_progress", "done", "error")
        self.lines.append({"step": step, "label": label, "status": status, "detail": detail})

    def final(self, step: str) -> dict[str, Any]:
        return [line for line in self.lines if line["step"] == step][-1]


# --- branch names -----------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["main", "feature/x-1", "agent/fix_bug.2", "release-2024"])
def test_valid_branch_names_are_accepted(name: str) -> None:
    assert validate_branch_name(name) == name


@pytest.mark.parametrize(
    "name",
    [
        "-x",
        "--upload-pack=touch",
        "a..b",
        "has space",
        "tab\there",
        "line\nbreak",
        "",
        "HEAD",
        "x.lock",
        "a~1",
        "a:b",
        "a^b",
        "what?",
        "@{u}",
        "ends/",
        "/starts",
        "a//b",
        "nul\x00",
    ],
)
def test_invalid_branch_names_are_refused(name: str) -> None:
    with pytest.raises(InvalidBranchNameError) as info:
        validate_branch_name(name)
    assert isinstance(info.value, ValueError)
    assert info.value.status == 400 and info.value.message


def test_non_string_branch_name_is_refused() -> None:
    with pytest.raises(InvalidBranchNameError):
        validate_branch_name(["main"])


# --- repo_info ---------------------------------------------------------------------------------


def test_repo_info_of_a_clone(repos: Repos) -> None:
    (repos.work / "sub").mkdir()
    info = repo_info(repos.work / "sub")
    assert info is not None
    assert info["repo_root"] == str(repos.work.resolve())
    assert info["main_repo_root"] == str(repos.work.resolve())
    assert info["repo_name"] == "work"
    assert info["branch"] == "main" and info["detached"] is False
    assert info["default_branch"] == "main"
    assert info["is_worktree"] is False
    assert info["upstream"] == "origin/main"
    assert (info["ahead"], info["behind"]) == (0, 0)
    assert info["head"] == git(repos.work, "rev-parse", "HEAD")


def test_repo_info_ahead_and_behind(repos: Repos) -> None:
    commit_file(repos.work, "local.txt", "mine\n")
    commit_file(repos.seed, "remote1.txt", "theirs\n")
    commit_file(repos.seed, "remote2.txt", "theirs\n")
    git(repos.seed, "push", "-q", "origin", "main")
    git(repos.work, "fetch", "-q")
    info = repo_info(repos.work)
    assert info is not None
    assert (info["ahead"], info["behind"]) == (1, 2)


def test_repo_info_unborn_branch_and_no_upstream(tmp_path: Path) -> None:
    repo = tmp_path / "empty"
    git(tmp_path, "init", "-q", "-b", "trunk", str(repo))
    info = repo_info(repo)
    assert info is not None
    assert info["branch"] == "trunk"
    assert info["head"] is None
    assert info["ahead"] is None and info["behind"] is None and info["upstream"] is None
    assert info["default_branch"] is None


def test_repo_info_outside_a_repository(tmp_path: Path) -> None:
    assert repo_info(tmp_path) is None
    assert repo_info(tmp_path / "does-not-exist") is None


def test_repo_info_detached_head(repos: Repos) -> None:
    git(repos.work, "checkout", "-q", "--detach", "HEAD")
    info = repo_info(repos.work)
    assert info is not None and info["branch"] is None and info["detached"] is True


# --- prepare_workspace: checkout, create, pull, fetch -------------------------------------------


async def test_no_branch_no_worktree_changes_nothing(repos: Repos) -> None:
    progress = Progress()
    result = await prepare_workspace(repos.root, "work", session_id="s1", progress=progress)
    assert result.cwd == str(repos.work.resolve()) and result.branch == "main"
    assert progress.lines == []


async def test_plain_folder_is_fine_without_git_options(repos: Repos) -> None:
    (repos.root / "plain").mkdir()
    result = await prepare_workspace(repos.root, "plain", session_id="s1")
    assert result.repo_root is None and result.branch is None
    with pytest.raises(NotARepositoryError):
        await prepare_workspace(repos.root, "plain", branch="main", session_id="s1")


async def test_checkout_existing_remote_branch(repos: Repos) -> None:
    progress = Progress()
    result = await prepare_workspace(repos.root, "work", branch="feature", session_id="s1", progress=progress)
    assert result.branch == "feature" and result.cwd == str(repos.work.resolve())
    assert result.worktree_path is None and result.temp_branch is None
    assert git(repos.work, "symbolic-ref", "--short", "HEAD") == "feature"
    assert git(repos.work, "rev-parse", "--abbrev-ref", "feature@{upstream}") == "origin/feature"
    assert [line["step"] for line in progress.lines] == [
        "fetching_git",
        "fetching_git",
        "checkout_branch",
        "checkout_branch",
        "pulling_git",
        "pulling_git",
    ]
    assert [line["status"] for line in progress.lines][1::2] == ["done", "done", "done"]
    assert result.to_dict()["repo_root"] == str(repos.work.resolve())


async def test_create_branch_from_default_branch_without_tracking(repos: Repos) -> None:
    git(repos.work, "checkout", "-q", "feature")
    result = await prepare_workspace(
        repos.root, "work", branch="agent/new-thing", create_branch=True, session_id="s1"
    )
    assert result.branch == "agent/new-thing" and result.created_branch is True
    assert git(repos.work, "rev-parse", "HEAD") == git(repos.work, "rev-parse", "origin/main")
    info = repo_info(repos.work)
    assert info is not None and info["upstream"] is None and info["ahead"] is None


async def test_missing_branch_without_create_is_an_error_step(repos: Repos) -> None:
    progress = Progress()
    with pytest.raises(GitError) as info:
        await prepare_workspace(repos.root, "work", branch="nope", session_id="s1", progress=progress)
    assert info.value.status == 404 and "does not exist" in info.value.message
    assert progress.final("checkout_branch")["status"] == "error"
    assert git(repos.work, "symbolic-ref", "--short", "HEAD") == "main"


@pytest.mark.parametrize("name", ["-x", "--orphan=evil", "a..b", "has space"])
async def test_prepare_refuses_invalid_branch_before_any_step(repos: Repos, name: str) -> None:
    progress = Progress()
    with pytest.raises(InvalidBranchNameError):
        await prepare_workspace(
            repos.root, "work", branch=name, create_branch=True, session_id="s", progress=progress
        )
    assert progress.lines == []
    assert git(repos.work, "branch", "--format=%(refname:short)").split() == ["main"]


async def test_pull_fast_forwards_the_current_branch(repos: Repos) -> None:
    new_head = commit_file(repos.seed, "news.txt", "news\n")
    git(repos.seed, "push", "-q", "origin", "main")
    result = await prepare_workspace(repos.root, "work", branch="main", session_id="s1")
    assert result.branch == "main"
    assert git(repos.work, "rev-parse", "HEAD") == new_head
    assert (repos.work / "news.txt").read_text() == "news\n"


async def test_offline_fetch_is_not_fatal(repos: Repos) -> None:
    git(repos.work, "remote", "set-url", "origin", str(repos.root / "no-such-remote.git"))
    progress = Progress()
    result = await prepare_workspace(repos.root, "work", branch="feature", session_id="s1", progress=progress)
    fetch = progress.final("fetching_git")
    assert fetch["status"] == "done" and "failed" in (fetch["detail"] or "")
    assert result.branch == "feature"  # the remote-tracking ref from the clone is still usable
    assert progress.final("pulling_git")["status"] == "done"


async def test_dirty_checkout_conflict_is_an_error(repos: Repos) -> None:
    (repos.work / "feature.txt").write_text("untracked but in the way\n")
    progress = Progress()
    with pytest.raises(GitError):
        await prepare_workspace(repos.root, "work", branch="feature", session_id="s1", progress=progress)
    assert progress.final("checkout_branch")["status"] == "error"


async def test_create_branch_in_an_empty_repository(tmp_path: Path) -> None:
    repo = tmp_path / "empty"
    git(tmp_path, "init", "-q", str(repo))
    result = await prepare_workspace(tmp_path, "empty", branch="start", create_branch=True, session_id="s")
    assert result.branch == "start"
    assert git(repo, "symbolic-ref", "--short", "HEAD") == "start"


async def test_cwd_is_confined_to_the_root(repos: Repos, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (repos.root / "escape").symlink_to(outside)
    for cwd in ("..", str(outside), "escape", "work/../../outside"):
        with pytest.raises(PathOutsideRootError):
            await prepare_workspace(repos.root, cwd, branch="main", session_id="s")
    with pytest.raises(GitError) as info:
        await prepare_workspace(repos.root, "missing", session_id="s")
    assert info.value.status == 404


# --- worktrees -----------------------------------------------------------------------------------


async def test_worktree_for_a_branch_not_checked_out(repos: Repos) -> None:
    progress = Progress()
    result = await prepare_workspace(
        repos.root,
        "work",
        branch="feature",
        worktree=True,
        worktrees_dir=repos.worktrees,
        session_id="abcdef123456",
        progress=progress,
    )
    expected = (repos.worktrees / "work" / "feature-abcdef12").resolve()
    assert result.worktree_path == str(expected) and result.cwd == str(expected)
    assert result.branch == "feature" and result.temp_branch is None
    assert result.repo_root == str(repos.work.resolve())
    assert progress.final("creating_worktree")["status"] == "done"
    info = repo_info(expected)
    assert info is not None and info["is_worktree"] is True and info["branch"] == "feature"
    assert info["main_repo_root"] == str(repos.work.resolve())
    assert git(repos.work, "symbolic-ref", "--short", "HEAD") == "main"  # main tree untouched
    listed = worktrees(repos.work)
    assert [w["is_main"] for w in listed] == [True, False]
    assert listed[1]["branch"] == "feature" and listed[1]["dirty"] is False
    removal = await remove_worktree(result.repo_root, expected)
    assert removal["removed"] is True
    assert not expected.exists()


async def test_worktree_collision_creates_unique_temp_branches(repos: Repos) -> None:
    made = []
    for sid in ("s-one", "s-two"):
        made.append(
            await prepare_workspace(
                repos.root,
                "work",
                branch="main",
                worktree=True,
                worktrees_dir=repos.worktrees,
                session_id=sid,
            )
        )
    assert [r.temp_branch for r in made] == ["main-wt-1", "main-wt-2"]
    assert [r.branch for r in made] == ["main-wt-1", "main-wt-2"]
    main_head = git(repos.work, "rev-parse", "main")
    for r in made:
        assert r.worktree_path is not None
        assert git(r.worktree_path, "rev-parse", "HEAD") == main_head
        assert git(r.worktree_path, "symbolic-ref", "--short", "HEAD") == r.temp_branch
    local = {b["name"]: b for b in branches(repos.work)["local"]}
    assert local["main-wt-1"]["worktree_path"] == made[0].worktree_path
    for r in made:
        assert r.repo_root and r.worktree_path
        out = await remove_worktree(r.repo_root, r.worktree_path, delete_branch=r.temp_branch)
        assert out["removed"] and out["branch_deleted"]
    assert_nothing_left(repos)


async def test_concurrent_worktree_creation_gets_distinct_names(repos: Repos) -> None:
    made = await asyncio.gather(
        *(
            prepare_workspace(
                repos.root,
                "work",
                branch="main",
                worktree=True,
                worktrees_dir=repos.worktrees,
                session_id=f"sess{i}",
            )
            for i in range(3)
        )
    )
    assert sorted(r.temp_branch or "" for r in made) == ["main-wt-1", "main-wt-2", "main-wt-3"]
    for r in made:
        assert r.repo_root and r.worktree_path
        await remove_worktree(r.repo_root, r.worktree_path, delete_branch=r.temp_branch, force=True)
    assert_nothing_left(repos)


async def test_worktree_new_branch_and_subfolder_cwd(repos: Repos) -> None:
    commit_file(repos.work, "pkg/mod.py", "x = 1\n")
    git(repos.work, "push", "-q", "origin", "main")
    result = await prepare_workspace(
        repos.root,
        "work/pkg",
        branch="agent/task",
        create_branch=True,
        worktree=True,
        worktrees_dir=repos.worktrees,
        session_id="12345678-aaaa",
    )
    assert result.worktree_path is not None
    assert Path(result.worktree_path).name == "agent-task-12345678"
    assert result.cwd == str(Path(result.worktree_path) / "pkg")
    assert result.created_branch is True and result.temp_branch is None
    await remove_worktree(
        result.repo_root or "", result.worktree_path, delete_branch="agent/task", force=True
    )
    assert_nothing_left(repos)


async def test_worktree_of_missing_branch_leaves_nothing(repos: Repos) -> None:
    progress = Progress()
    with pytest.raises(GitError):
        await prepare_workspace(
            repos.root,
            "work",
            branch="ghost",
            worktree=True,
            worktrees_dir=repos.worktrees,
            session_id="s",
            progress=progress,
        )
    assert progress.final("creating_worktree")["status"] == "error"
    assert_nothing_left(repos)


async def test_dirty_worktree_is_refused_then_forced(repos: Repos) -> None:
    r = await prepare_workspace(
        repos.root, "work", branch="main", worktree=True, worktrees_dir=repos.worktrees, session_id="dirty"
    )
    assert r.worktree_path and r.repo_root
    wt = Path(r.worktree_path)
    (wt / "scratch.txt").write_text("agent output\n")
    with pytest.raises(DirtyWorktreeError) as info:
        await remove_worktree(r.repo_root, wt, delete_branch=r.temp_branch)
    assert "uncommitted changes" in info.value.message and info.value.status == 409
    assert exists(wt) and exists(wt / "scratch.txt")
    kept = await remove_worktree(r.repo_root, wt, delete_branch=r.temp_branch, in_use=True, force=True)
    assert kept["removed"] is False and kept["kept"] is True and exists(wt)
    out = await remove_worktree(r.repo_root, wt, delete_branch=r.temp_branch, force=True)
    assert out["removed"] and out["branch_deleted"]
    assert_nothing_left(repos)


async def test_temp_branch_with_commits_is_kept_unless_forced(repos: Repos) -> None:
    r = await prepare_workspace(
        repos.root, "work", branch="main", worktree=True, worktrees_dir=repos.worktrees, session_id="work1"
    )
    assert r.worktree_path and r.repo_root and r.temp_branch
    commit_file(Path(r.worktree_path), "agent.txt", "done\n")
    out = await remove_worktree(r.repo_root, r.worktree_path, delete_branch=r.temp_branch)
    assert out["removed"] is True and out["branch_deleted"] is False
    assert "not merged" in out["branch_kept_reason"]
    assert r.temp_branch in git(repos.work, "branch", "--format=%(refname:short)").split()
    git(repos.work, "branch", "-D", r.temp_branch)
    assert_nothing_left(repos)


async def test_removing_a_worktree_deleted_by_hand_prunes_it(repos: Repos) -> None:
    r = await prepare_workspace(
        repos.root, "work", branch="feature", worktree=True, worktrees_dir=repos.worktrees, session_id="gone"
    )
    assert r.worktree_path and r.repo_root
    shutil.rmtree(r.worktree_path)
    out = await remove_worktree(r.repo_root, r.worktree_path)
    assert out["removed"] is True and "already gone" in out["detail"]
    assert_nothing_left(repos)


async def test_remove_refuses_main_tree_and_foreign_folders(repos: Repos, tmp_path: Path) -> None:
    with pytest.raises(GitError):
        await remove_worktree(repos.work, repos.work, force=True)
    stranger = tmp_path / "stranger"
    stranger.mkdir()
    with pytest.raises(GitError):
        await remove_worktree(repos.work, stranger, force=True)
    assert stranger.is_dir() and repos.work.is_dir()
    with pytest.raises(InvalidBranchNameError):
        await remove_worktree(repos.work, stranger, delete_branch="-D")


async def test_worktree_in_empty_repository_is_refused(tmp_path: Path) -> None:
    git(tmp_path, "init", "-q", str(tmp_path / "empty"))
    with pytest.raises(GitError) as info:
        await prepare_workspace(
            tmp_path, "empty", worktree=True, worktrees_dir=tmp_path / "wt", session_id="s"
        )
    assert "no commits" in info.value.message


def assert_nothing_left(repos: Repos, keep_branches: set[str] | None = None) -> None:
    """No worktree registered or on disk, no extra branch."""
    listed = git(repos.work, "worktree", "list", "--porcelain")
    assert listed.count("worktree ") == 1
    assert not repos.worktrees.exists() or not any(repos.worktrees.rglob("*"))
    names = set(git(repos.work, "branch", "--format=%(refname:short)").split())
    assert names <= (keep_branches or {"main", "feature"}) | {"main"}


# --- changes, diffs, commits, branches -------------------------------------------------------------


def make_changes(work: Path) -> None:
    (work / "README.md").write_text("hello\nworld\n")  # modified (+1)
    (work / "notes").mkdir()
    (work / "notes" / "todo.txt").write_text("one\ntwo\nthree")  # untracked, no final newline
    git(work, "mv", "a.txt", "b.txt")  # renamed (staged)
    (work / "data.bin").write_bytes(b"\x00\x01\x02")  # untracked binary
    (work / ".gitignore").write_text("*.log\n")
    (work / "ignored.log").write_text("noise\n")


def test_changed_files_vs_head(repos: Repos) -> None:
    make_changes(repos.work)
    out = changed_files(repos.work, "head")
    assert out["base"] == "head" and out["base_ref"] == "HEAD"
    files = {f["path"]: f for f in out["files"]}
    assert set(files) == {"README.md", "b.txt", "notes/todo.txt", "data.bin", ".gitignore"}
    assert files["README.md"]["status"] == "M"
    assert (files["README.md"]["additions"], files["README.md"]["deletions"]) == (1, 0)
    assert files["b.txt"]["status"] == "R" and files["b.txt"]["old_path"] == "a.txt"
    assert files["notes/todo.txt"] == {
        "path": "notes/todo.txt",
        "status": "A",
        "additions": 3,
        "deletions": 0,
        "binary": False,
        "untracked": True,
    }
    assert files["data.bin"]["binary"] is True and files["data.bin"]["untracked"] is True


def test_changed_files_deleted_and_staged(repos: Repos) -> None:
    (repos.work / "a.txt").unlink()
    (repos.work / "staged.txt").write_text("s\n")
    git(repos.work, "add", "staged.txt")
    files = {f["path"]: f for f in changed_files(repos.work)["files"]}
    assert files["a.txt"]["status"] == "D" and files["a.txt"]["deletions"] == 3
    assert files["staged.txt"]["status"] == "A" and files["staged.txt"]["untracked"] is False


def test_changed_files_vs_default_branch(repos: Repos) -> None:
    git(repos.work, "checkout", "-q", "-b", "topic")
    commit_file(repos.work, "topic.txt", "t\n")
    (repos.work / "README.md").write_text("changed\n")
    head_paths = {f["path"] for f in changed_files(repos.work, "head")["files"]}
    assert head_paths == {"README.md"}
    out = changed_files(repos.work, "default")
    assert out["base_ref"] == "refs/remotes/origin/main"
    assert out["base_commit"] == git(repos.work, "merge-base", "HEAD", "origin/main")
    assert {f["path"] for f in out["files"]} == {"README.md", "topic.txt"}
    diff = file_diff(repos.work, "topic.txt", base="default")
    assert "+t" in diff["diff"] and diff["status"] == "A"
    assert file_diff(repos.work, "topic.txt", base="head")["diff"] == ""


def test_changed_files_in_unborn_repository(tmp_path: Path) -> None:
    repo = tmp_path / "fresh"
    git(tmp_path, "init", "-q", str(repo))
    (repo / "first.txt").write_text("1\n")
    out = changed_files(repo)
    assert out["base_ref"] is None
    assert [(f["path"], f["status"], f["untracked"]) for f in out["files"]] == [("first.txt", "A", True)]
    git(repo, "add", "first.txt")
    assert [f["untracked"] for f in changed_files(repo)["files"]] == [False]
    assert "+1" in file_diff(repo, "first.txt")["diff"]


def test_unknown_base_is_refused(repos: Repos) -> None:
    with pytest.raises(GitError):
        changed_files(repos.work, "origin/main")


def test_file_diffs(repos: Repos) -> None:
    make_changes(repos.work)
    modified = file_diff(repos.work, "README.md")
    assert modified["status"] == "M" and modified["untracked"] is False
    assert "--- a/README.md" in modified["diff"] and "+world" in modified["diff"]
    new = file_diff(repos.work, "notes/todo.txt")
    assert new["untracked"] is True and new["status"] == "A"
    assert "new file mode" in new["diff"] and "+three" in new["diff"]
    assert "+++ b/notes/todo.txt" in new["diff"]
    renamed = file_diff(repos.work, "b.txt")
    assert renamed["old_path"] == "a.txt" and renamed["status"] == "R"
    assert "rename from a.txt" in renamed["diff"] and "rename to b.txt" in renamed["diff"]
    binary = file_diff(repos.work, "data.bin")
    assert binary["binary"] is True
    absolute = file_diff(repos.work, str(repos.work / "README.md"))
    assert absolute["file"] == "README.md"
    from_subfolder = file_diff(repos.work / "notes", "README.md", context=0)
    assert from_subfolder["diff"].count("@@") == 2  # one hunk, no context lines


def test_file_diff_refuses_escapes_and_unknown_files(repos: Repos, tmp_path: Path) -> None:
    for bad in ("../seed/README.md", "/etc/passwd", "notes/../../x", ""):
        with pytest.raises(PathOutsideRootError):
            file_diff(repos.work, bad)
    secret = tmp_path / "secret.txt"
    secret.write_text("top secret\n")
    (repos.work / "link.txt").symlink_to(secret)
    with pytest.raises(PathOutsideRootError):  # an untracked link out of the repository
        file_diff(repos.work, "link.txt")
    with pytest.raises(GitError) as info:
        file_diff(repos.work, "nope.txt")
    assert info.value.status == 404
    (repos.work / "folder").mkdir()
    with pytest.raises(GitError) as info:
        file_diff(repos.work, "folder")
    assert info.value.status == 400 and "folder" in info.value.message
    with pytest.raises(GitError) as star:  # pathspecs are literal: no glob over every file
        file_diff(repos.work, "*")
    assert star.value.status == 404


def test_not_a_repository(tmp_path: Path) -> None:
    with pytest.raises(NotARepositoryError):
        changed_files(tmp_path)
    with pytest.raises(NotARepositoryError):
        recent_commits(tmp_path)


def test_recent_commits(repos: Repos) -> None:
    commit_file(repos.work, "c.txt", "c\n", "third commit\n\nwith a body")
    commits = recent_commits(repos.work, limit=2)
    assert [c["summary"] for c in commits] == ["third commit", "add a"]
    assert commits[0]["message"].startswith("third commit\n\nwith a body")
    assert commits[0]["author_name"] == "Test Person"
    assert commits[0]["parents"] == [commits[1]["sha"]]
    assert len(recent_commits(repos.work, limit=0)) == 1
    assert len(recent_commits(repos.work, limit=50)) == 3


def test_recent_commits_unborn(tmp_path: Path) -> None:
    git(tmp_path, "init", "-q", str(tmp_path / "r"))
    assert recent_commits(tmp_path / "r") == []


def test_branches_local_and_remote_only(repos: Repos) -> None:
    commit_file(repos.seed, "x.txt", "x\n")
    git(repos.seed, "push", "-q", "origin", "main")
    git(repos.seed, "push", "-q", "origin", "main:only-remote")
    git(repos.work, "fetch", "-q")
    commit_file(repos.work, "mine.txt", "m\n")
    git(repos.work, "branch", "local-only")
    out = branches(repos.work)
    assert out["current"] == "main" and out["default_branch"] == "main"
    local = {b["name"]: b for b in out["local"]}
    assert set(local) == {"main", "local-only"}
    assert local["main"]["current"] is True and local["main"]["upstream"] == "origin/main"
    assert (local["main"]["ahead"], local["main"]["behind"]) == (1, 1)
    assert local["main"]["worktree_path"] == str(repos.work.resolve())
    assert local["local-only"]["upstream"] is None and local["local-only"]["ahead"] is None
    remote = {b["name"]: b for b in out["remote"]}
    assert set(remote) == {"feature", "only-remote"}
    assert remote["feature"]["ref"] == "origin/feature"


# --- GitHub PR status through gh ---------------------------------------------------------------------


PR_JSON = {
    "number": 42,
    "state": "OPEN",
    "url": "https://github.com/o/r/pull/42",
    "title": "Agent work",
    "isDraft": False,
    "reviewDecision": "CHANGES_REQUESTED",
    "headRefName": "feature",
    "statusCheckRollup": [
        {"__typename": "CheckRun", "status": "COMPLETED", "conclusion": "SUCCESS"},
        {"__typename": "CheckRun", "status": "IN_PROGRESS", "conclusion": ""},
        {"__typename": "StatusContext", "state": "FAILURE"},
    ],
}


def install_fake_gh(bin_dir: Path, *, auth_ok: bool = True, view: str = "pr") -> Path:
    """A ``gh`` shell script answering ``auth status`` and ``pr view``; records its argv."""
    bin_dir.mkdir(parents=True, exist_ok=True)
    log = bin_dir / "gh-calls.log"
    payload = bin_dir / "pr.json"
    payload.write_text(json.dumps(PR_JSON))
    view_cmd = {
        "pr": f'cat "{payload}"',
        "none": 'echo "no pull requests found for branch \\"$5\\"" >&2; exit 1',
        "broken": 'echo "HTTP 502: bad gateway" >&2; exit 1',
    }[view]
    script = bin_dir / "gh"
    script.write_text(
        "#!/bin/sh\n"
        f'printf "%s\\n" "$*" >> "{log}"\n'
        'if [ "$1" = "auth" ]; then '
        + ("exit 0" if auth_ok else 'echo "not logged in" >&2; exit 1')
        + "; fi\n"
        f'if [ "$1" = "pr" ]; then {view_cmd}; fi\n'
    )
    script.chmod(0o755)
    return log


@pytest.fixture
def only_git_on_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """PATH holding git (and sh tools) but no gh; returns a folder to drop a fake gh into."""
    assert GIT is not None
    tools = tmp_path / "tools"
    tools.mkdir()
    for name in ("git", "cat", "printf", "sh"):
        found = shutil.which(name)
        if found:
            (tools / name).symlink_to(found)
    fake = tmp_path / "fakebin"
    fake.mkdir()
    monkeypatch.setenv("PATH", f"{fake}{os.pathsep}{tools}")
    return fake


async def test_pr_status_without_gh(repos: Repos, only_git_on_path: Path) -> None:
    out = await pr_status(repos.work, "main")
    assert out == {"available": False, "reason": "the GitHub CLI (gh) is not installed"}


async def test_pr_status_unauthenticated_gh(repos: Repos, only_git_on_path: Path) -> None:
    install_fake_gh(only_git_on_path, auth_ok=False)
    out = await pr_status(repos.work, "main")
    assert out["available"] is False and "not authenticated" in out["reason"]


async def test_pr_status_with_fake_gh(repos: Repos, only_git_on_path: Path) -> None:
    log = install_fake_gh(only_git_on_path)
    out = await pr_status(repos.work, "feature")
    assert out["available"] is True
    assert (out["state"], out["number"], out["url"]) == ("open", 42, PR_JSON["url"])
    assert out["review_decision"] == "changes_requested" and out["is_draft"] is False
    assert out["checks"] == {"state": "fail", "total": 3, "passed": 1, "failed": 1, "pending": 1}
    calls = log.read_text().splitlines()
    assert calls[0] == "auth status"
    assert calls[1].startswith("pr view --json ") and calls[1].endswith("-- feature")


async def test_pr_status_no_pr_and_errors(repos: Repos, only_git_on_path: Path) -> None:
    install_fake_gh(only_git_on_path, view="none")
    out = await pr_status(repos.work, "feature")
    assert out["available"] is True and out["state"] is None and out["number"] is None
    install_fake_gh(only_git_on_path, view="broken")
    with pytest.raises(PRStatusError) as info:
        await pr_status(repos.work, "feature", check_auth=False)
    assert "502" in info.value.message
    with pytest.raises(InvalidBranchNameError):
        await pr_status(repos.work, "--web")


def test_summarize_checks() -> None:
    assert summarize_checks(None)["state"] == "none"
    ok = [
        {"__typename": "CheckRun", "status": "COMPLETED", "conclusion": "SKIPPED"},
        {"__typename": "StatusContext", "state": "SUCCESS"},
    ]
    assert summarize_checks(ok) == {"state": "pass", "total": 2, "passed": 2, "failed": 0, "pending": 0}
    assert summarize_checks([{"__typename": "StatusContext", "state": "PENDING"}])["state"] == "pending"


async def test_poller_stops_at_once_without_gh(repos: Repos, only_git_on_path: Path) -> None:
    seen: list[dict[str, Any]] = []
    poller = PRPoller(repos.work, "main", seen.append, interval=0.0)
    poller.start()
    await asyncio.wait_for(poller.wait(), 30)
    assert not poller.running
    assert seen == [{"available": False, "reason": "the GitHub CLI (gh) is not installed"}]
    assert poller.stopped_reason and "not installed" in poller.stopped_reason


async def test_poller_backoff_change_detection_and_branch_switch() -> None:
    script: list[Any] = [
        PRStatusError("offline"),
        PRStatusError("offline"),
        PRStatusError("offline"),
        {"available": True, "state": "open"},
        {"available": True, "state": "open"},
        {"available": True, "state": "merged"},
        PRStatusError("flaky"),
    ]
    calls: list[tuple[str, bool]] = []
    delays: list[float] = []
    seen: list[dict[str, Any]] = []
    done = asyncio.Event()

    async def status_fn(repo_root: str, branch: str, *, check_auth: bool) -> dict[str, Any]:
        calls.append((branch, check_auth))
        item = script.pop(0) if script else {"available": True, "state": "merged"}
        if isinstance(item, Exception):
            raise item
        return item

    async def fake_sleep(seconds: float) -> None:
        delays.append(seconds)
        if len(delays) >= 8:
            done.set()
            await asyncio.Event().wait()  # park until stopped
        await asyncio.sleep(0)

    async def callback(status: dict[str, Any]) -> None:
        seen.append(status)

    poller = PRPoller(
        "/repo", "topic", callback, interval=10, max_interval=30, status_fn=status_fn, sleep=fake_sleep
    )
    poller.start()
    await asyncio.wait_for(done.wait(), 30)
    await poller.stop()
    assert not poller.running
    assert delays == [20, 30, 30, 10, 10, 10, 20, 10]
    assert seen == [{"available": True, "state": "open"}, {"available": True, "state": "merged"}]
    # auth is checked until a first successful answer, then never again
    assert [c[1] for c in calls] == [True, True, True, True, False, False, False, False]
    poller.set_branch("other")
    assert poller.last_status is None and poller.branch == "other"

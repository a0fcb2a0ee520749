"""The git REST routes on a real Jupyter server (pytest-jupyter), against real repositories."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from jupyter_server.utils import url_path_join
from tornado.httpclient import AsyncHTTPClient, HTTPClientError

from jupyter_companion.gitops import prepare_workspace, remove_worktree
from jupyter_companion.handlers.git import git_handlers
from tests.test_git import (  # noqa: F401 - fixtures and helpers shared with the unit tests
    Repos,
    commit_file,
    git,
    install_fake_gh,
    isolated_git,
    make_repos,
    only_git_on_path,
)

pytest_plugins = ["pytest_jupyter.jupyter_server"]


@pytest.fixture
def jp_server_config() -> dict[str, Any]:
    """A plain Jupyter server: these tests mount only the git routes (see ``fetch``), so they do
    not depend on the rest of the extension."""
    return {"ServerApp": {"jpserver_extensions": {}}}


@pytest.fixture
def sessions() -> dict[str, str]:
    """Session id -> working folder, standing in for the orchestrator."""
    return {}


@pytest.fixture
def repos(jp_root_dir: Path, tmp_path: Path) -> Repos:
    remote_side = tmp_path / "remote-side"
    remote_side.mkdir()
    return make_repos(remote_side, root=jp_root_dir)


@pytest.fixture
def fetch(jp_serverapp: Any, jp_fetch: Any, sessions: dict[str, str]) -> Any:
    """``jp_fetch`` with the git routes mounted; the session lookup is async like the real one."""
    web_app = jp_serverapp.web_app

    async def lookup(session_id: str) -> tuple[str, str | None] | None:
        folder = sessions.get(session_id)
        return (folder, None) if folder is not None else None

    base = web_app.settings["base_url"]
    web_app.add_handlers(
        ".*$", [(url_path_join(base, pattern), cls, kw) for pattern, cls, kw in git_handlers(lookup)]
    )

    async def get(*parts: str, **params: str) -> dict[str, Any]:
        response = await jp_fetch("companion", "api", *parts, params=params)
        assert response.code == 200
        return json.loads(response.body)

    return get


async def expect_error(coro: Any, code: int) -> str:
    """Await a request that must fail with ``code`` and a JSON ``{error}`` body."""
    with pytest.raises(HTTPClientError) as info:
        await coro
    assert info.value.code == code
    assert info.value.response is not None
    body = json.loads(info.value.response.body)
    assert isinstance(body["error"], str) and body["error"]
    return body["error"]


async def test_info_branches_worktrees(fetch: Any, repos: Repos) -> None:
    info = await fetch("git", "info", path="work")
    assert info["git"]["branch"] == "main" and info["git"]["default_branch"] == "main"
    assert info["git"]["repo_root"] == str(repos.work.resolve())
    assert (await fetch("git", "info"))["git"] is None  # the root itself is no repository
    out = await fetch("git", "branches", path="work")
    assert [b["name"] for b in out["local"]] == ["main"]
    assert {b["name"] for b in out["remote"]} == {"feature"}
    listed = await fetch("git", "worktrees", path=str(repos.work))
    assert [w["is_main"] for w in listed["worktrees"]] == [True]


async def test_paths_are_confined_to_the_root(fetch: Any, repos: Repos, tmp_path: Path) -> None:
    (repos.root / "escape").symlink_to(tmp_path)
    for bad in ("..", "/etc", "escape", "work/../../remote-side"):
        assert "outside" in await expect_error(fetch("git", "info", path=bad), 403)
    await expect_error(fetch("git", "info", path="missing"), 404)
    await expect_error(fetch("git", "branches", path="."), 404)  # not a repository


async def test_session_changes_diff_and_commits(fetch: Any, repos: Repos, sessions: dict[str, str]) -> None:
    sessions["s1"] = str(repos.work)
    (repos.work / "README.md").write_text("hello\nagent\n")
    (repos.work / "new.py").write_text("print('hi')\n")
    git(repos.work, "mv", "a.txt", "renamed.txt")
    changes = await fetch("sessions", "s1", "changes", base="head")
    files = {f["path"]: f for f in changes["files"]}
    assert files["README.md"]["status"] == "M"
    assert files["new.py"]["untracked"] is True
    assert files["renamed.txt"]["old_path"] == "a.txt"
    diff = await fetch("sessions", "s1", "diff", file="new.py")
    assert "+print('hi')" in diff["diff"] and diff["untracked"] is True
    diff = await fetch("sessions", "s1", "diff", file="README.md", base="last-commit")
    assert "+agent" in diff["diff"]
    commits = await fetch("sessions", "s1", "commits", limit="1")
    assert [c["summary"] for c in commits["commits"]] == ["add a"]
    default = await fetch("sessions", "s1", "changes", base="default-branch")
    assert default["base_ref"] == "refs/remotes/origin/main"


async def test_session_route_errors(
    fetch: Any, repos: Repos, sessions: dict[str, str], jp_root_dir: Path
) -> None:
    sessions["s1"] = str(repos.work)
    sessions["plain"] = str(jp_root_dir)
    assert "unknown session" in await expect_error(fetch("sessions", "nope", "changes"), 404)
    await expect_error(fetch("sessions", "s1", "changes", base="HEAD~1"), 400)
    await expect_error(fetch("sessions", "s1", "diff"), 400)
    await expect_error(fetch("sessions", "s1", "diff", file="../../etc/passwd"), 403)
    await expect_error(fetch("sessions", "s1", "diff", file="ghost.txt"), 404)
    await expect_error(fetch("sessions", "s1", "commits", limit="many"), 400)
    await expect_error(fetch("sessions", "plain", "changes"), 404)
    pr = await fetch("sessions", "plain", "pr")
    assert pr["available"] is False


async def test_pr_route_with_and_without_gh(
    fetch: Any,
    repos: Repos,
    sessions: dict[str, str],
    only_git_on_path: Path,  # noqa: F811
) -> None:
    sessions["s1"] = str(repos.work)
    assert await fetch("sessions", "s1", "pr") == {
        "available": False,
        "reason": "the GitHub CLI (gh) is not installed",
    }
    install_fake_gh(only_git_on_path)
    pr = await fetch("sessions", "s1", "pr")
    assert pr["available"] is True and pr["number"] == 42 and pr["branch"] == "main"
    assert pr["checks"]["state"] == "fail"
    install_fake_gh(only_git_on_path, view="broken")
    assert "502" in await expect_error(fetch("sessions", "s1", "pr"), 502)


async def test_worktree_session_outside_the_root(
    fetch: Any, repos: Repos, sessions: dict[str, str], tmp_path: Path
) -> None:
    result = await prepare_workspace(
        repos.root, "work", branch="main", worktree=True, worktrees_dir=tmp_path / "wts", session_id="wt1"
    )
    assert result.worktree_path and result.repo_root
    sessions["wt1"] = result.cwd
    (Path(result.cwd) / "agent.txt").write_text("written by the agent\n")
    changes = await fetch("sessions", "wt1", "changes")
    assert [f["path"] for f in changes["files"]] == ["agent.txt"]
    diff = await fetch("sessions", "wt1", "diff", file="agent.txt")
    assert "+written by the agent" in diff["diff"]
    out = await remove_worktree(
        result.repo_root, result.worktree_path, force=True, delete_branch=result.temp_branch
    )
    assert out["removed"] and out["branch_deleted"]


async def test_routes_require_authentication(
    fetch: Any, repos: Repos, jp_serverapp: Any, jp_base_url: str, jp_http_port: int
) -> None:
    url = f"http://localhost:{jp_http_port}{url_path_join(jp_base_url, 'companion/api/git/info')}?path=work"
    response = await AsyncHTTPClient().fetch(url, raise_error=False)
    assert response.code in (401, 403)
    assert b"main" not in response.body
    commit_file(repos.work, "still.txt", "fine\n")  # the repository is untouched and usable
    assert (await fetch("git", "info", path="work"))["git"]["branch"] == "main"

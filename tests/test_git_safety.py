"""Git run by the *server* never obeys what a repository's own configuration asks to run (an agent
working in the repository can write that configuration): no hooks, no fsmonitor, no clean/smudge
filter, no textconv, no configured upload-pack. A repository whose working tree lies above the
server's root is not one the routes may read; ``~`` in a path is a plain name."""

from __future__ import annotations

import json
import stat
from pathlib import Path
from typing import Any

import pytest

from jupyter_companion.gitops import changed_files, file_diff, prepare_workspace, repo_info
from jupyter_companion.gitops.info import is_dirty
from tests.test_git import commit_file, git, isolated_git, make_repos  # noqa: F401 - autouse

pytestmark = pytest.mark.timeout(120)


def tripwire(folder: Path, name: str) -> tuple[Path, Path]:
    """An executable script that leaves a marker file when run; returns (script, marker)."""
    marker = folder / f"{name}-ran"
    script = folder / f"{name}.sh"
    script.write_text(f"#!/bin/sh\ntouch '{marker}'\ncat\n")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return script, marker


async def test_repository_configuration_runs_nothing_in_the_server(tmp_path: Path) -> None:
    repos = make_repos(tmp_path)
    work = repos.work
    traps = tmp_path / "traps"
    traps.mkdir()
    hook, hook_ran = tripwire(traps, "hook")
    for name in ("post-checkout", "post-merge", "reference-transaction", "pre-auto-gc"):
        target = work / ".git" / "hooks" / name
        target.write_bytes(hook.read_bytes())
        target.chmod(0o755)
    hooks_dir = traps / "hooks"
    hooks_dir.mkdir()
    (hooks_dir / "post-checkout").write_bytes(hook.read_bytes())
    (hooks_dir / "post-checkout").chmod(0o755)
    monitor, monitor_ran = tripwire(traps, "fsmonitor")
    clean, clean_ran = tripwire(traps, "clean")
    textconv, textconv_ran = tripwire(traps, "textconv")
    upload, upload_ran = tripwire(traps, "uploadpack")
    upload.write_text(f"#!/bin/sh\ntouch '{upload_ran}'\nexec git-upload-pack \"$@\"\n")
    git(work, "config", "core.fsmonitor", str(monitor))
    git(work, "config", "filter.evil.clean", str(clean))
    git(work, "config", "filter.evil.process", str(clean))
    git(work, "config", "diff.conv.textconv", str(textconv))
    git(work, "config", "remote.origin.uploadpack", str(upload))
    (work / ".gitattributes").write_text("*.txt filter=evil diff=conv\n")
    git(work, "add", ".gitattributes")
    commit_file(work, "notes.txt", "one\n")
    git(work, "config", "core.hooksPath", str(hooks_dir))  # set last: the test's own commits run no hook
    for marker in (hook_ran, monitor_ran, clean_ran, textconv_ran, upload_ran):
        marker.unlink(missing_ok=True)

    (work / "notes.txt").write_text("one\ntwo\n")
    assert is_dirty(work)
    changes = changed_files(work)
    assert [f["path"] for f in changes["files"]] == ["notes.txt"]
    diff = file_diff(work, "notes.txt")
    assert "+two" in diff["diff"]
    (work / "notes.txt").write_text("one\n")  # clean again (without running git here)
    await prepare_workspace(repos.root, "work", branch="feature")  # fetch, checkout, pull
    await prepare_workspace(repos.root, "work", branch="main", worktree=True, worktrees_dir=repos.worktrees,
                            session_id="safe")
    assert repo_info(work)["branch"] == "feature"
    ran = [m.name for m in (hook_ran, monitor_ran, clean_ran, textconv_ran, upload_ran) if m.exists()]
    assert ran == []


def test_a_repository_above_the_ceiling_does_not_count(tmp_path: Path) -> None:
    outer = tmp_path / "outer"
    outer.mkdir()
    git(outer, "init", "-q", "-b", "main")
    root = outer / "jupyter-root"
    (root / "project").mkdir(parents=True)
    assert repo_info(root / "project")["repo_root"] == str(outer.resolve())
    assert repo_info(root / "project", ceiling=root) is None
    inner = root / "project"
    git(inner, "init", "-q", "-b", "main")
    assert repo_info(inner, ceiling=root)["repo_root"] == str(inner.resolve())


@pytest.fixture
def jp_root_dir(tmp_path: Path) -> Path:
    """The server's root lies inside a repository (a home folder under version control)."""
    outer = tmp_path / "versioned-home"
    outer.mkdir()
    git(outer, "init", "-q", "-b", "main")
    commit_file(outer, ".secret-dotfile", "TOP-SECRET\n")
    root = outer / "root"
    root.mkdir()
    return root


async def test_git_routes_do_not_read_a_repository_above_the_root(api: Any, jp_root_dir: Path) -> None:
    (jp_root_dir / "project").mkdir()
    status, body = await api("GET", "git", "info", params={"path": "project"})
    assert status == 200 and body["git"] is None
    for route in ("branches", "worktrees"):
        status, body = await api("GET", "git", route, params={"path": "project"})
        assert status == 404, (route, body)
    status, session = await api("POST", "sessions", body={"backend": "claude", "cwd": "project"})
    assert status == 201 and session["git"] is None
    for route, params in (("changes", {}), ("diff", {"file": "../.secret-dotfile"}), ("commits", {})):
        status, body = await api("GET", "sessions", session["id"], route, params=params)
        assert status == 404 and "TOP-SECRET" not in json.dumps(body), (route, body)
    status, body = await api("GET", "sessions", session["id"], "pr")
    assert status == 200 and body["available"] is False


@pytest.mark.parametrize("path", ["~", "~nosuchuser", "~root", "~nosuchuser/x"])
async def test_a_tilde_is_a_plain_name(api: Any, jp_root_dir: Path, path: str) -> None:
    for route in ("info", "branches", "worktrees"):
        status, body = await api("GET", "git", route, params={"path": path})
        assert status == 404 and "does not exist" in body["error"], (route, status, body)
    (jp_root_dir / "~nosuchuser").mkdir()
    status, body = await api("GET", "git", "info", params={"path": "~nosuchuser"})
    assert status == 200 and body["path"] == str((jp_root_dir / "~nosuchuser").resolve())

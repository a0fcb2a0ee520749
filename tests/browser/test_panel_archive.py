"""Real-browser test: archiving a session from the sidebar never loses the work in its worktree —
a notification says where the worktree was kept (with a way to discard it), the archived row says
"kept" — on the test plugin's in-process ``echo`` backend in a real git repository."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from tests.test_git import isolated_git, make_repos  # noqa: F401 - autouse git isolation

from .labserver import run_lab
from .test_panel import open_lab, open_sidebar

pytestmark = pytest.mark.browser


def test_archive_keeps_a_dirty_worktree_and_tells_where(tmp_path: Path, browser: Any, artifacts: Path) -> None:
    remote_side = tmp_path / "remote-side"
    remote_side.mkdir()
    (tmp_path / "root").mkdir()
    make_repos(remote_side, root=tmp_path / "root")
    with run_lab(tmp_path) as lab:
        created = lab.api("POST", "sessions", {"backend": "echo", "cwd": "work", "branch": "feature",
                                               "worktree": True, "name": "unsaved work"})
        sid, folder = created["id"], Path(created["worktree"]["path"])
        (folder / "draft.txt").write_text("not committed yet\n")

        # the worktree lies inside the server root, beside its repository: JupyterLab can open it
        assert folder.parent == (lab.root_dir / "work.worktrees").resolve()

        page = open_lab(browser, lab.lab_url())
        open_sidebar(page)
        row = page.locator(f'.jp-Companion-sessionRow[data-session-id="{sid}"]')
        # grouped under its main repository, and its changed file opens in JupyterLab's editor
        group = page.locator(".jp-Companion-group", has=row)
        assert group.get_attribute("data-project") == str((lab.root_dir / "work").resolve())
        row.locator(".jp-Companion-sessionOpen").click()
        chat = page.locator(f'.jp-Companion-chat[data-session-id="{sid}"]')
        chat.get_by_role("tab", name=re.compile("^Changes")).click()
        chat.locator('.jp-Companion-changedFile[data-path="draft.txt"] button').click()
        chat.get_by_role("button", name="Open draft.txt in the editor").click()
        editor = page.locator(".jp-FileEditor:visible")
        editor.locator("text=not committed yet").wait_for()
        page.screenshot(path=str(artifacts / "panel-worktree-file-opened.png"))
        open_sidebar(page)
        row.hover()  # the row actions show on hover
        row.get_by_role("button", name="Archive unsaved work").click()
        tail = "/".join(folder.parts[-2:])  # a toast is cut at 140 characters: the folder's end, full path on "Copy path"
        notice = page.locator(f".jp-toast-message:has-text('uncommitted changes and is kept in …/{tail}')")
        notice.wait_for()
        copy = page.get_by_role("button", name="Copy path")
        assert copy.get_attribute("title") == f"Copy {folder}"
        row.wait_for(state="detached")
        page.wait_for_timeout(500)  # the toast slides in
        page.screenshot(path=str(artifacts / "panel-archive-kept-worktree.png"))
        assert (folder / "draft.txt").read_text() == "not committed yet\n"
        info = lab.api("GET", f"sessions/{sid}")
        assert info["archived"] and info["worktree"]["removed"] is False

        # shown with the archived sessions, marked as keeping its worktree
        page.get_by_label("Show archived sessions").click()
        row.locator(f".jp-Companion-keptWorktree[aria-label='Worktree kept at {folder}']").wait_for()

        # "Discard changes…" asks first, then removes the worktree for good
        page.get_by_role("button", name="Discard changes…").click()
        page.get_by_role("dialog").get_by_role("button", name="Discard").click()
        notice.wait_for(state="detached")
        row.locator(".jp-Companion-keptWorktree").wait_for(state="detached")
        assert not folder.exists()
        assert lab.api("GET", f"sessions/{sid}")["worktree"]["removed"] is True
        assert page.errors == []

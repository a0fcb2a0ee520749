"""Real-browser tests of the panel's everyday behaviour with the REAL Claude Code CLI against a
scripted Messages API: what a turn shows while the model is slow or cannot be reached."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import pytest

from tests.test_git import isolated_git, make_repos  # noqa: F401 - autouse git isolation

from .labserver import run_lab
from .test_panel import open_command_palette, open_lab, open_sidebar

pytestmark = [pytest.mark.browser, pytest.mark.e2e]


def open_session(page: Any, session_id: str) -> Any:
    """Open a session from the sidebar; the chat once it is connected."""
    open_sidebar(page)
    page.locator(f'.jp-Companion-sessionRow[data-session-id="{session_id}"] .jp-Companion-sessionOpen').click()
    chat = page.locator(f'.jp-Companion-chat[data-session-id="{session_id}"]')
    chat.wait_for()
    page.wait_for_selector(f'.jp-Companion-chat[data-session-id="{session_id}"][data-connection="connected"]')
    return chat


def test_a_turn_shows_that_it_works_and_why_it_is_stuck(tmp_path: Path, browser: Any, artifacts: Path) -> None:
    """While nothing streams the chat says "Working…" with the elapsed time; when the CLI cannot
    reach its model it says why at the first retry, and Escape stops the turn."""
    from tests.support.anthropic_server import HttpError, ScriptedAnthropic, Stall, Text
    from tests.support.clis import claude_env, ensure_cli

    claude = ensure_cli("claude")
    home = tmp_path / "home"
    home.mkdir()
    with ScriptedAnthropic() as srv:
        srv.on(r"think hard", [Stall()])
        srv.on(r"refused", HttpError(401, "authentication_error", "invalid x-api-key"))
        srv.on(r"then say hello", Text("Hello after the wait."))
        with run_lab(tmp_path, env=claude_env(srv.base_url, home), config={"ClaudeBackend": {"binary": claude}}) as lab:
            session = lab.api("POST", "sessions", {"backend": "claude", "cwd": "", "name": "slow model"})
            page = open_lab(browser, lab.lab_url())
            chat = open_session(page, session["id"])
            composer = chat.get_by_label("Message to the agent")

            composer.fill("think hard about it")
            composer.press("Enter")
            working = chat.locator(".jp-Companion-working")
            working.wait_for()
            assert working.inner_text().startswith("Working…")
            first = working.get_attribute("data-elapsed")
            page.wait_for_function(
                "(first) => { const w = document.querySelector('.jp-Companion-working');"
                " return w && w.dataset.elapsed && w.dataset.elapsed !== first; }",
                arg=first,
            )
            assert working.get_attribute("role") == "status"
            # words, not internal names: the phase, the permission modes, one default model
            assert chat.locator(".jp-Companion-phase").inner_text() == "Working"
            dot = page.locator(f'.jp-Companion-sessionRow[data-session-id="{session["id"]}"] .jp-Companion-dot')
            assert dot.get_attribute("aria-label") == "Working"
            modes = chat.get_by_label("Permission mode").locator("option").all_inner_texts()
            assert modes == ["Ask first", "Accept edits", "Plan only", "Don't ask"]
            models = chat.get_by_label("Model", exact=True).locator("option").all_inner_texts()
            assert len([m for m in models if m.lower().startswith("default")]) == 1, models
            page.screenshot(path=str(artifacts / "panel-working.png"))

            # messages sent meanwhile wait below the answer, marked, and can be withdrawn
            composer.fill("and then say hello")
            composer.press("Enter")
            composer.fill("forget this one")
            composer.press("Enter")
            queued = chat.locator(".jp-Companion-queued")
            queued.get_by_role("button", name="Withdraw the queued message: forget this one").wait_for()
            assert queued.locator(".jp-Companion-queuedText").all_inner_texts() == ["and then say hello", "forget this one"]
            assert "and then say hello" not in chat.locator(".jp-Companion-transcript .jp-Companion-row").all_inner_texts()
            page.screenshot(path=str(artifacts / "panel-queued.png"))
            queued.get_by_role("button", name="Withdraw the queued message: forget this one").click()
            queued.locator(".jp-Companion-queuedText:text-is('forget this one')").wait_for(state="detached")

            composer.press("Escape")
            chat.locator(".jp-Companion-result.jp-mod-stopped").wait_for()
            # the waiting message goes after the stopped turn, in order
            chat.locator(".jp-Companion-assistant:has-text('Hello after the wait.')").wait_for()
            queued.wait_for(state="detached")
            rows = chat.locator(".jp-Companion-transcript .jp-Companion-row").all_inner_texts()
            stopped_at = next(i for i, r in enumerate(rows) if r.startswith("Stopped"))
            hello_at = next(i for i, r in enumerate(rows) if "and then say hello" in r)
            assert stopped_at < hello_at, rows
            assert not any("forget this one" in r for r in rows)
            chat.locator(".jp-Companion-result").nth(1).wait_for()
            working.wait_for(state="detached")

            composer.fill("refused, please")
            composer.press("Enter")
            trouble = chat.locator(".jp-Companion-working.jp-mod-trouble")
            trouble.wait_for()
            assert "could not be reached (the API key or login was refused, HTTP 401)" in trouble.inner_text()
            page.screenshot(path=str(artifacts / "panel-model-unreachable.png"))
            composer.press("Escape")
            chat.locator(".jp-Companion-result.jp-mod-stopped").nth(1).wait_for()
            trouble.wait_for(state="detached")
            # the retries are not transcript lines of their own, and nothing shows raw type names
            assert chat.locator(".jp-Companion-notice[data-code='model_retrying']").count() == 0
            assert "notice" not in chat.locator(".jp-Companion-transcript").inner_text()
            assert page.errors == []


def _type_in_terminal(page: Any, command: str) -> None:
    """Type a command into the terminal tab in front (once its screen shows)."""
    terminal = page.locator(".jp-Terminal:visible")
    terminal.locator(".xterm-screen").wait_for()
    terminal.locator(".xterm-helper-textarea").focus()
    page.keyboard.type(command)
    page.keyboard.press("Enter")


def test_the_terminal_opens_in_the_session_folder(tmp_path: Path, browser: Any, artifacts: Path) -> None:
    """The Terminal button of a session at the root and of a worktree session: the shell starts in
    the session's folder, not where the server was started."""
    (tmp_path / "remote-side").mkdir()
    (tmp_path / "root").mkdir()
    make_repos(tmp_path / "remote-side", root=tmp_path / "root")
    elsewhere = tmp_path / "started-here"  # the server's process starts outside its root
    elsewhere.mkdir()
    with run_lab(tmp_path, start_dir=elsewhere) as lab:
        at_root = lab.api("POST", "sessions", {"backend": "echo", "cwd": "", "name": "at the root"})
        in_worktree = lab.api("POST", "sessions", {"backend": "echo", "cwd": "work", "branch": "feature",
                                                   "worktree": True, "name": "in a worktree"})
        page = open_lab(browser, lab.lab_url())
        for session in (at_root, in_worktree):
            folder = Path(session["cwd"])
            chat = open_session(page, session["id"])
            chat.get_by_role("button", name="Open a terminal in the session folder").click()
            _type_in_terminal(page, "pwd > terminal-cwd.txt")
            marker = folder / "terminal-cwd.txt"
            deadline = time.monotonic() + 60
            while not (marker.exists() and marker.read_text().strip()) and time.monotonic() < deadline:
                time.sleep(0.2)  # readiness: the shell writes the file
            assert marker.read_text().strip() == str(folder.resolve())
        assert not list(elsewhere.iterdir())
        page.screenshot(path=str(artifacts / "panel-terminal-in-worktree.png"))
        assert page.errors == []


LONG_WORD = "x" * 20_000
LONG_URL = "https://example.org/" + "a/" * 400 + "end"


def test_composer_focus_growth_wrapping_and_deny_reason(tmp_path: Path, browser: Any, artifacts: Path) -> None:
    """After "Create session" the cursor is in the composer, which grows with a long prompt; long
    unbroken text wraps instead of widening the chat; after Deny the reason field has the
    keyboard and what is typed there reaches the agent."""
    from tests.support.anthropic_server import ScriptedAnthropic, Text, ToolUse
    from tests.support.clis import claude_env, ensure_cli

    claude = ensure_cli("claude")
    home = tmp_path / "home"
    home.mkdir()
    with ScriptedAnthropic() as srv:
        srv.on(r"long things", Text(f"A word: {LONG_WORD} and a link: {LONG_URL}\n\n```\n{LONG_WORD}\n```", chunks=4))
        srv.on(r"make a file", [Text("I will create it."),
                                ToolUse("Bash", {"command": "touch denied.txt", "description": "Create a file"})])
        srv.on_tool_result(Text("Understood, I will not."))
        with run_lab(tmp_path, env=claude_env(srv.base_url, home), config={"ClaudeBackend": {"binary": claude}}) as lab:
            page = open_lab(browser, lab.lab_url())
            open_sidebar(page)
            page.get_by_role("button", name="New session").click()
            page.get_by_role("dialog", name="New agent session").wait_for()
            page.locator('.jp-Companion-backend[data-backend="claude"] input').check()
            page.get_by_role("button", name="Create session").click()
            chat = page.locator(".jp-Companion-chat")
            chat.wait_for()
            page.wait_for_function(
                "() => document.activeElement && document.activeElement.getAttribute('aria-label') === 'Message to the agent'"
            )

            composer = chat.get_by_label("Message to the agent")
            # every command the CLI offers, with what it does, in a menu that scrolls
            composer.fill("/")
            menu = chat.get_by_role("listbox", name="Slash commands")
            menu.locator('[role="option"]').first.wait_for()
            options = menu.locator('[role="option"]')
            assert options.count() > 12
            assert menu.locator(".jp-Companion-commandDescription").count() > 0
            assert menu.evaluate("el => el.scrollHeight > el.clientHeight")
            composer.press("ArrowUp")  # wraps to the last command, which scrolls into view
            page.wait_for_function(
                "() => { const m = document.querySelector('.jp-Companion-slashMenu');"
                " const a = m && m.querySelector('.jp-mod-active'); if (!a) return false;"
                " const mr = m.getBoundingClientRect(), ar = a.getBoundingClientRect();"
                " return m.scrollTop > 0 && ar.bottom <= mr.bottom + 1 && ar.top >= mr.top - 1; }"
            )
            page.screenshot(path=str(artifacts / "panel-slash-menu-descriptions.png"))
            composer.press("Escape")
            menu.wait_for(state="detached")
            composer.fill("")
            empty_height = composer.evaluate("el => el.offsetHeight")
            composer.fill("\n".join(f"line {i}" for i in range(14)))
            grown = composer.evaluate("el => ({h: el.offsetHeight, scroll: el.scrollHeight, client: el.clientHeight})")
            assert grown["h"] > 3 * empty_height and grown["scroll"] <= grown["client"] + 1, grown
            page.screenshot(path=str(artifacts / "panel-composer-grown.png"))
            composer.fill(f"show me long things {LONG_WORD[:3000]}")
            composer.press("Enter")
            chat.locator(".jp-Companion-assistant:has-text('and a link')").wait_for()
            chat.locator(".jp-Companion-result").wait_for()
            assert composer.evaluate("el => el.offsetHeight") == empty_height  # shrinks back once sent
            transcript = chat.locator(".jp-Companion-transcript")
            widths = transcript.evaluate("el => ({scroll: el.scrollWidth, client: el.clientWidth})")
            assert widths["scroll"] <= widths["client"] + 1, widths
            page.screenshot(path=str(artifacts / "panel-long-lines.png"))

            composer.fill("please make a file")
            composer.press("Enter")
            chat.get_by_role("button", name="Deny Bash").click()
            page.wait_for_function(
                "() => document.activeElement && document.activeElement.getAttribute('aria-label') === 'Reason for denying'"
            )
            page.keyboard.type("not in this folder, please")
            page.keyboard.press("Enter")
            chat.locator(".jp-Companion-permission").wait_for(state="detached")
            chat.locator(".jp-Companion-assistant:has-text('Understood, I will not.')").wait_for()
            sid = chat.get_attribute("data-session-id")
            events = lab.api("GET", f"sessions/{sid}/events?after=0")["events"]
            [resolved] = [e for e in events if e["type"] == "permission_resolved"]
            assert resolved["behavior"] == "deny" and resolved["message"] == "not in this folder, please"
            [denied] = [e for e in events if e["type"] == "tool_result"]
            assert "not in this folder, please" in str(denied["content"])
            assert not (lab.root_dir / "denied.txt").exists()
            assert page.errors == []


def test_new_session_offers_folders_and_branches_and_open_lists_names(
    tmp_path: Path, browser: Any, artifacts: Path
) -> None:
    """The New-session form suggests recent folders and the branches of the chosen folder's
    repository, and picks a folder with JupyterLab's folder browser; "Open Agent Session…"
    lists sessions by name, never by id."""
    (tmp_path / "remote-side").mkdir()
    (tmp_path / "root").mkdir()
    make_repos(tmp_path / "remote-side", root=tmp_path / "root")
    with run_lab(tmp_path) as lab:
        earlier = lab.api("POST", "sessions", {"backend": "echo", "cwd": "work", "name": "earlier work"})
        page = open_lab(browser, lab.lab_url())
        open_sidebar(page)
        page.get_by_role("button", name="New session").click()
        dialog = page.get_by_role("dialog", name="New agent session")
        dialog.wait_for()
        options = dialog.locator("#jp-Companion-recentFolders option")
        options.first.wait_for(state="attached")
        assert options.evaluate_all("els => els.map(e => e.value)") == ["work"]

        dialog.get_by_role("button", name="Choose the folder").click()
        browser_dialog = page.locator(".jp-Dialog:has-text('Folder of the session')")
        browser_dialog.locator(".jp-DirListing-item[title*='work']").first.click()
        browser_dialog.get_by_role("button", name="Select").click()
        browser_dialog.wait_for(state="detached")
        folder = dialog.get_by_label("Folder (relative to the server root)")
        assert folder.input_value() == "work"
        branches = dialog.locator("#jp-Companion-branches option")
        branches.first.wait_for(state="attached")
        assert set(branches.evaluate_all("els => els.map(e => e.value)")) >= {"main", "feature"}
        assert dialog.get_by_label("Git branch").get_attribute("placeholder") == "(current: main)"
        page.screenshot(path=str(artifacts / "panel-new-session-branches.png"))
        dialog.get_by_role("button", name="Cancel").click()

        open_command_palette(page, "Open Agent Session")
        page.locator(".lm-CommandPalette-item:has-text('Open Agent Session')").click()
        choice = page.locator(".jp-Dialog select")
        choice.wait_for()
        labels = choice.locator("option").all_inner_texts()
        assert labels and labels[0].startswith("earlier work — echo · work")
        assert not any(earlier["id"] in label for label in labels)
        page.screenshot(path=str(artifacts / "panel-open-session-names.png"))
        page.locator(".jp-Dialog").get_by_role("button", name="Ok").click()
        sid = earlier["id"]
        chat = page.locator(f'.jp-Companion-chat[data-session-id="{sid}"]')
        chat.wait_for()
        chat.locator(".jp-Companion-branch").wait_for()

        # a narrow panel: the header stays one row, the views and the composer's menus stay whole
        header = chat.locator(".jp-Companion-chatHeader")
        one_row = header.evaluate("el => el.offsetHeight")
        for width in (900, 700):
            page.set_viewport_size({"width": width, "height": 800})
            page.wait_for_function("(w) => window.innerWidth === w", arg=width)
            assert header.evaluate("el => el.offsetHeight") <= one_row + 2, width
            box = header.bounding_box()
            for name in ("Changes", "Conversation"):
                tab = chat.get_by_role("tab", name=re.compile(f"^{name}")).bounding_box()
                assert tab and box and tab["x"] + tab["width"] <= box["x"] + box["width"] + 1, (width, name)
            for label in ("Export the conversation as a notebook", "Open a terminal in the session folder"):
                action = chat.get_by_role("button", name=label).bounding_box()
                assert action and box and action["x"] + action["width"] <= box["x"] + box["width"] + 1, (width, label)
            chat_box = chat.bounding_box()
            for control in (chat.get_by_label("Model", exact=True), chat.get_by_role("button", name="Send message")):
                edge = control.bounding_box()
                assert edge and chat_box and edge["x"] + edge["width"] <= chat_box["x"] + chat_box["width"] + 1, width
            page.screenshot(path=str(artifacts / f"panel-narrow-{width}.png"))
        assert page.errors == []


def test_export_opens_a_clean_notebook_without_a_kernel(tmp_path: Path, browser: Any, artifacts: Path) -> None:
    """Export opens the new notebook as saved (not marked unsaved) and starts no kernel."""
    with run_lab(tmp_path) as lab:
        session = lab.api("POST", "sessions", {"backend": "echo", "cwd": "", "name": "to export"})
        lab.api("POST", f"sessions/{session['id']}/messages", {"content": "hello there"})
        page = open_lab(browser, lab.lab_url())
        chat = open_session(page, session["id"])
        chat.locator(".jp-Companion-result").wait_for()
        chat.get_by_role("button", name="Export the conversation as a notebook").click()
        notebook = page.locator(".jp-NotebookPanel:visible")
        notebook.locator(".jp-MarkdownCell:has-text('hello there')").first.wait_for()
        notebook.locator(".jp-KernelName:has-text('No Kernel')").wait_for()
        page.wait_for_timeout(1500)  # anything that would mark it unsaved happens right after opening
        tab = page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab.lm-mod-current")
        assert "jp-mod-dirty" not in (tab.get_attribute("class") or "")
        assert lab.jupyter_get("api/kernels") == []
        page.screenshot(path=str(artifacts / "panel-export-clean.png"))
        # ipywidgets' lab extension (jupyterlab_widgets 3.0.17) assumes every open notebook has a
        # kernel session and throws "Cannot read properties of null (reading 'kernel')" for one
        # opened without: its error, harmless, and the only one allowed here
        assert [e for e in page.errors if "@jupyter-widgets/jupyterlab-manager" not in e] == []

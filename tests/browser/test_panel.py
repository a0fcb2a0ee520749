"""Real-browser tests of the JupyterLab panel: a real ``jupyter lab`` with the extension, Debian
chromium driven by Playwright, and (for the full flow) the real Claude Code CLI talking to a scripted
Messages API server on 127.0.0.1. Screenshots go to ``test-artifacts/``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from .labserver import run_lab

pytestmark = pytest.mark.browser

WAIT = 60_000  # ms: generous Playwright waits for a 2-core CI machine (not timing assertions)


def open_lab(browser: Any, url: str) -> Any:
    """A new page on JupyterLab, waiting until the shell and our sidebar tab exist."""
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    page.set_default_timeout(WAIT)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(url)
    page.wait_for_selector("#jp-main-dock-panel")
    page.errors = errors
    return page


def open_sidebar(page: Any) -> None:
    """Activate the sessions sidebar from the left tab bar (unless it is already shown)."""
    panel = page.locator("#jupyter-companion-sessions")
    if not panel.is_visible():
        page.locator('.jp-SideBar.jp-mod-left li[data-id="jupyter-companion-sessions"]').click()
    page.wait_for_selector("#jupyter-companion-sessions .jp-Companion-sidebarTitle")


def test_sidebar_and_new_session_dialog(tmp_path: Path, browser: Any, artifacts: Path) -> None:
    """The sidebar renders, lists sessions, and the New-session dialog lists the backends."""
    with run_lab(tmp_path) as lab:
        page = open_lab(browser, lab.lab_url())
        open_sidebar(page)
        # The list finished loading (empty state or rows), with no error banner.
        page.wait_for_selector(
            "#jupyter-companion-sessions .jp-Companion-empty, #jupyter-companion-sessions .jp-Companion-sessionRow"
        )
        assert page.locator("#jupyter-companion-sessions .jp-Companion-error").count() == 0
        page.screenshot(path=str(artifacts / "panel-sidebar.png"))

        # Every button of the sidebar has an accessible label.
        unlabeled = page.eval_on_selector_all(
            "#jupyter-companion-sessions button",
            "els => els.filter(b => !(b.getAttribute('aria-label') || b.textContent.trim())).length",
        )
        assert unlabeled == 0

        page.get_by_role("button", name="New session").click()
        dialog = page.get_by_role("dialog", name="New agent session")
        dialog.wait_for()
        backends = lab.api("GET", "backends")["backends"]
        assert backends, "the server lists no backend at all"
        page.wait_for_selector(".jp-Companion-backend")
        shown = page.eval_on_selector_all(".jp-Companion-backend", "els => els.map(e => e.dataset.backend)")
        assert sorted(shown) == sorted(b["name"] for b in backends)
        for b in backends:
            radio = page.locator(f'.jp-Companion-backend[data-backend="{b["name"]}"] input')
            assert radio.is_disabled() == (not b["available"])
            if not b["available"]:
                assert (
                    "unavailable"
                    in page.locator(f'.jp-Companion-backend[data-backend="{b["name"]}"]').inner_text()
                )
        page.screenshot(path=str(artifacts / "panel-new-session-dialog.png"))

        page.get_by_role("button", name="Cancel").click()
        dialog.wait_for(state="detached")

        # The launcher has our card, and the command palette lists our commands.
        page.wait_for_selector(".jp-LauncherCard:has-text('Agent Session')")
        page.locator(".jp-Launcher-body").click()
        page.keyboard.press("Control+Shift+C")
        page.wait_for_selector(".lm-CommandPalette-input:visible")
        page.fill(".lm-CommandPalette-input", "Agent Session")
        page.wait_for_selector(".lm-CommandPalette-item:has-text('New Agent Session')")
        page.keyboard.press("Escape")
        assert page.errors == []


@pytest.mark.e2e
def test_full_flow_with_real_claude(tmp_path: Path, browser: Any, artifacts: Path) -> None:
    """Create a Claude session, prompt, approve a Bash permission, see the tool card, reload, same history."""
    from tests.support.anthropic_server import ScriptedAnthropic, Text, ToolUse
    from tests.support.clis import claude_env, ensure_cli

    claude = ensure_cli("claude")
    home = tmp_path / "home"
    home.mkdir()
    with ScriptedAnthropic() as srv:
        srv.on(
            r"make a file",
            [
                Text("I will create the file now.", chunks=4),
                ToolUse("Bash", {"command": "touch created-by-agent.txt", "description": "Create the file"}),
            ],
        )
        srv.on_tool_result(Text("The file **created-by-agent.txt** is there."))
        env = claude_env(srv.base_url, home)
        config = {"ClaudeBackend": {"binary": claude}}
        with run_lab(tmp_path, env=env, config=config) as lab:
            page = open_lab(browser, lab.lab_url())
            open_sidebar(page)
            page.get_by_role("button", name="New session").click()
            page.get_by_role("dialog", name="New agent session").wait_for()
            page.locator('.jp-Companion-backend[data-backend="claude"] input').check()
            page.get_by_label("Session name").fill("browser flow")
            page.get_by_role("button", name="Create session").click()

            chat = page.locator(".jp-Companion-chat")
            chat.wait_for()
            session_id = chat.get_attribute("data-session-id")
            assert session_id
            page.wait_for_selector('.jp-Companion-chat[data-connection="connected"]')

            composer = page.get_by_label("Message to the agent")
            composer.fill("please make a file")
            composer.press("Enter")

            # The streamed answer, then the permission banner for the Bash command.
            page.wait_for_selector(".jp-Companion-assistant:has-text('I will create the file now.')")
            banner = page.locator('.jp-Companion-permission[data-tool="Bash"]')
            banner.wait_for()
            assert "touch created-by-agent.txt" in banner.inner_text()
            page.screenshot(path=str(artifacts / "panel-permission.png"))
            page.get_by_role("button", name="Allow Bash", exact=True).click()
            banner.wait_for(state="detached")

            card = page.locator('.jp-Companion-toolCard[data-tool="Bash"].jp-mod-done')
            card.wait_for()
            assert "touch created-by-agent.txt" in card.inner_text()
            page.wait_for_selector(".jp-Companion-result")
            page.wait_for_selector(".jp-Companion-assistant:has-text('is there.')")
            assert (lab.root_dir / "created-by-agent.txt").exists()
            page.screenshot(path=str(artifacts / "panel-tool-card.png"))
            before = page.locator(".jp-Companion-transcript").inner_text()

            # Reload: the same history comes back (from the server's event log).
            page.reload()
            page.wait_for_selector("#jp-main-dock-panel")
            restored = page.locator(f'.jp-Companion-chat[data-session-id="{session_id}"]')
            if not restored.is_visible():
                open_sidebar(page)
                page.locator(
                    f'.jp-Companion-sessionRow[data-session-id="{session_id}"] .jp-Companion-sessionOpen'
                ).click()
            restored.wait_for()
            page.wait_for_selector('.jp-Companion-toolCard[data-tool="Bash"].jp-mod-done')
            page.wait_for_selector(".jp-Companion-result")
            page.wait_for_selector(".jp-Companion-assistant:has-text('is there.')")
            after = page.locator(".jp-Companion-transcript").inner_text()
            assert after == before
            assert page.locator(".jp-Companion-user").count() == 1
            page.screenshot(path=str(artifacts / "panel-after-reload.png"))
            assert os.path.exists(lab.root_dir / "created-by-agent.txt")

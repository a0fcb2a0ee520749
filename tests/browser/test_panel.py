"""Real-browser tests of the JupyterLab panel: a real ``jupyter lab`` with the extension, Debian
chromium driven by Playwright, and (for the full flow) the real Claude Code CLI talking to a scripted
Messages API server on 127.0.0.1. Screenshots go to ``test-artifacts/``.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
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
    page.on("pageerror", lambda exc: errors.append(f"{exc}\n{exc.stack}"[:1500]))
    page.goto(url)
    page.wait_for_selector("#jp-main-dock-panel")
    page.errors = errors
    return page


def open_command_palette(page: Any, query: str) -> None:
    """Open the command palette with its shortcut and type `query` into it.

    The shortcut only works once the shell has the keyboard focus, which a dialog closing a moment
    earlier may still hold: the key press is repeated until the palette shows."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    page.locator(".jp-Dialog").wait_for(state="detached")
    palette = page.locator(".lm-CommandPalette-input:visible")
    for _ in range(5):
        page.locator("#jp-main-dock-panel").click()
        page.keyboard.press("Control+Shift+C")
        try:
            palette.wait_for(timeout=5_000)
            break
        except PlaywrightTimeout:
            continue
    palette.fill(query)


def open_sidebar(page: Any) -> None:
    """Activate the sessions sidebar from the left tab bar (unless it is already shown).

    Right after a (re)load the layout restorer may still be re-opening the sidebar it saved, and
    a click at that moment toggles it closed again: the click is repeated until the panel shows.
    """
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    title = page.locator("#jupyter-companion-sessions .jp-Companion-sidebarTitle")
    for _ in range(5):
        if title.is_visible():
            return
        page.locator('.jp-SideBar.jp-mod-left li[data-id="jupyter-companion-sessions"]').click()
        try:
            title.wait_for(state="visible", timeout=5_000)
            return
        except PlaywrightTimeout:
            continue
    title.wait_for(state="visible")


def test_sidebar_and_new_session_dialog(tmp_path: Path, browser: Any, artifacts: Path) -> None:
    """The sidebar renders, lists sessions, and the New-session dialog lists the backends, the env
    profiles and sandboxes, with the server's default permission mode preselected."""
    with run_lab(tmp_path) as lab:
        lab.api("PUT", "env-profiles/staging", {"env": {"STAGE": "one"}})
        lab.api("PATCH", "settings", {"default_permission_mode": "plan"})
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
        # Env profiles (names only) and sandboxes come from the server; its default mode is preselected.
        dialog.locator('select[aria-label="Environment profile"] option[value="staging"]').wait_for(state="attached")
        sandboxes = [s["name"] for s in lab.api("GET", "status")["sandboxes"]]
        offered = page.eval_on_selector_all(
            'select[aria-label="Sandbox"] option', "els => els.map(e => e.value).filter(Boolean)"
        )
        assert offered == sandboxes
        page.wait_for_function(
            "() => document.querySelector('.jp-Companion-newSession select[aria-label=\"Permission mode\"]').value === 'plan'"
        )
        page.screenshot(path=str(artifacts / "panel-new-session-dialog.png"))

        page.get_by_role("button", name="Cancel").click()
        dialog.wait_for(state="detached")

        # The launcher has our card, and the command palette lists our commands.
        page.wait_for_selector(".jp-LauncherCard:has-text('Agent Session')")
        open_command_palette(page, "Agent Session")
        page.wait_for_selector(".lm-CommandPalette-item:has-text('New Agent Session')")
        page.keyboard.press("Escape")
        assert page.errors == []


@pytest.mark.e2e
def test_full_flow_with_real_claude(tmp_path: Path, browser: Any, artifacts: Path) -> None:
    """Create a Claude session, prompt, approve a Bash permission, see the tool card and the
    Changes view (the agent's new file, an edited file's diff), reload, same history."""
    from tests.support.anthropic_server import ScriptedAnthropic, Text, ToolUse
    from tests.support.clis import claude_env, ensure_cli

    claude = ensure_cli("claude")
    home = tmp_path / "home"
    home.mkdir()
    root = tmp_path / "root"  # the lab's root folder is a git repository with one commit
    root.mkdir()
    (root / "notes.txt").write_text("one\n")
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", "-c", "commit.gpgsign=false", "-C", str(root)]
    subprocess.run(["git", "init", "-q", "-b", "main", str(root)], check=True)
    subprocess.run([*git, "add", "notes.txt"], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "first"], check=True)
    with ScriptedAnthropic() as srv:
        srv.on(
            r"make a file",
            [
                Text("I will create the file now.", chunks=4),
                ToolUse("Bash", {"command": "touch created-by-agent.txt", "description": "Create the file"}),
            ],
        )
        srv.on_tool_result(Text("The file **created-by-agent.txt** is there."))
        srv.on(r"tell a long story", Text(" ".join(f"tick{i}" for i in range(400)), chunks=400, delay=0.05))
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
            # The slash-command menu lists the commands the CLI reported for this session.
            composer.fill("/")
            menu = page.get_by_role("listbox", name="Slash commands")
            menu.locator('[role="option"]').first.wait_for()
            assert menu.locator('[role="option"]').count() >= 1
            page.screenshot(path=str(artifacts / "panel-slash-menu.png"))
            composer.press("Escape")
            menu.wait_for(state="detached")
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

            # The Changes view: the agent's new file (untracked) next to a tracked file edited since.
            (lab.root_dir / "notes.txt").write_text("one\ntwo\n")
            chat.get_by_role("tab", name=re.compile("^Changes")).click()
            changes = chat.locator(".jp-Companion-changes")
            changes.locator('.jp-Companion-changedFile[data-path="created-by-agent.txt"]').wait_for()
            changes.locator('.jp-Companion-changedFile[data-path="notes.txt"] button').click()
            changes.locator(".jp-Companion-udLine.jp-mod-add:has-text('two')").wait_for()
            assert changes.locator(".jp-Companion-udLine.jp-mod-del").count() == 0
            page.screenshot(path=str(artifacts / "panel-changes.png"))
            chat.get_by_role("tab", name="Conversation").click()
            page.wait_for_selector(".jp-Companion-assistant:has-text('is there.')")
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
            # the layout restorer and the click race to open it: still one tab for the session
            assert page.locator(f'.jp-Companion-chat[data-session-id="{session_id}"]').count() == 1
            page.wait_for_selector('.jp-Companion-toolCard[data-tool="Bash"].jp-mod-done')
            page.wait_for_selector(".jp-Companion-result")
            page.wait_for_selector(".jp-Companion-assistant:has-text('is there.')")
            after = page.locator(".jp-Companion-transcript").inner_text()
            assert after == before
            assert page.locator(".jp-Companion-user").count() == 1
            page.screenshot(path=str(artifacts / "panel-after-reload.png"))
            assert os.path.exists(lab.root_dir / "created-by-agent.txt")

            # Costs: a turn's footer shows that turn's cost; the header and the sidebar the session's
            # total, which is the sum of the turns' (the CLI itself reports a running total).
            restored.get_by_label("Message to the agent").fill("one more turn")
            restored.get_by_label("Message to the agent").press("Enter")
            restored.locator(".jp-Companion-assistant:has-text('Echo: one more turn')").wait_for()
            page.wait_for_function("() => document.querySelectorAll('.jp-Companion-chat .jp-Companion-result').length >= 2")
            results = [e for e in lab.api("GET", f"sessions/{session_id}/events?after=0")["events"] if e["type"] == "result"]
            total = lab.api("GET", f"sessions/{session_id}")["cost_usd"]
            assert len(results) == 2 and total == pytest.approx(sum(r["cost_usd"] for r in results))
            restored.locator(f".jp-Companion-sessionCost:text-is('{dollars(total)}')").wait_for()
            open_sidebar(page)
            row_cost = page.locator(f'.jp-Companion-sessionRow[data-session-id="{session_id}"] .jp-Companion-cost')
            row_cost.locator(f"text={dollars(total)}").wait_for()
            assert dollars(results[1]["cost_usd"]) in restored.locator(".jp-Companion-result").last.inner_text()

            # Escape in the composer stops a running turn, as in the CLI: "Stopped", not a failure.
            composer = restored.get_by_label("Message to the agent")
            composer.fill("tell a long story")
            composer.press("Enter")
            restored.locator(".jp-Companion-draft:has-text('tick1 tick2')").wait_for()
            composer.press("Escape")
            stopped = restored.locator(".jp-Companion-result.jp-mod-stopped")
            stopped.wait_for()
            assert stopped.inner_text().startswith("Stopped") and "failed" not in stopped.inner_text()
            assert restored.locator(".jp-Companion-result.jp-mod-error").count() == 0
            page.screenshot(path=str(artifacts / "panel-stopped.png"))

            # A reload while the answer streams: the reopened chat shows the start of the answer at
            # once (not only what streams after the reload), then goes on, with nothing twice.
            composer.fill("tell a long story again")
            composer.press("Enter")
            restored.locator(".jp-Companion-draft:has-text('tick30')").wait_for()
            page.reload()
            page.wait_for_selector("#jp-main-dock-panel")
            again = page.locator(f'.jp-Companion-chat[data-session-id="{session_id}"]')
            if not again.is_visible():
                open_sidebar(page)
                page.locator(f'.jp-Companion-sessionRow[data-session-id="{session_id}"] .jp-Companion-sessionOpen').click()
            draft = again.locator(".jp-Companion-draft")
            draft.wait_for()
            assert draft.inner_text().startswith("tick0 tick1 tick2"), draft.inner_text()[:80]
            assert again.locator(".jp-Companion-result").count() == 3  # still streaming
            again.locator(".jp-Companion-draft:has-text('tick60')").wait_for()
            assert draft.inner_text().count("tick10 ") == 1
            again.get_by_label("Message to the agent").press("Escape")
            again.locator(".jp-Companion-result.jp-mod-stopped").nth(1).wait_for()
            last_answer = again.locator(".jp-Companion-assistant").last.inner_text()
            assert last_answer.startswith("tick0 tick1") and last_answer.count("tick10 ") == 1

            # The CLI killed in the middle of an answer: what it wrote is kept, the error says so
            # in plain words, and Retry sends the prompt again to the relaunched CLI.
            composer = again.get_by_label("Message to the agent")
            composer.fill("tell a long story once more")
            composer.press("Enter")
            again.locator(".jp-Companion-draft:has-text('tick20')").wait_for()
            os.kill(lab.api("GET", f"sessions/{session_id}")["pid"], signal.SIGKILL)
            kept = again.locator(".jp-Companion-assistant.jp-mod-incomplete")
            kept.wait_for()
            assert kept.inner_text().startswith("tick0 tick1") and "The agent stopped here" in kept.inner_text()
            error = again.locator(".jp-Companion-error[data-code='cli_exited']")
            error.wait_for()
            assert "stopped in the middle of its answer (killed by SIGKILL)" in error.inner_text()
            page.screenshot(path=str(artifacts / "panel-crash-retry.png"))
            error.get_by_role("button", name="Send the last message again").click()
            again.locator(".jp-Companion-user:has-text('tell a long story once more')").nth(1).wait_for()
            error.get_by_role("button", name="Send the last message again").wait_for(state="detached")
            again.locator(".jp-Companion-draft:has-text('tick5')").wait_for()
            composer.press("Escape")
            again.locator(".jp-Companion-result.jp-mod-stopped").nth(2).wait_for()
            retried = [e for e in lab.api("GET", f"sessions/{session_id}/events?after=0")["events"]
                       if e["type"] == "user_message" and e.get("retry_of")]
            assert len(retried) == 1 and retried[0]["content"] == "tell a long story once more"

            # New session, continuing that conversation (listed from the CLI's transcripts).
            original = lab.api("GET", f"sessions/{session_id}")["cli_session_id"]
            open_sidebar(page)
            page.get_by_role("button", name="New session").click()
            dialog = page.get_by_role("dialog", name="New agent session")
            page.locator('.jp-Companion-backend[data-backend="claude"] input').check()
            choice = dialog.get_by_label("Conversation to continue")
            choice.locator(f'option[value="{original}"]').wait_for(state="attached")
            assert "please make a file" in choice.locator(f'option[value="{original}"]').inner_text()
            choice.select_option(original)
            assert dialog.get_by_label("Fork the conversation").is_checked()
            dialog.get_by_label("Session name").fill("continued")
            page.screenshot(path=str(artifacts / "panel-continue-conversation.png"))
            dialog.get_by_role("button", name="Create session").click()
            continued = page.locator(".jp-Companion-chat:has(.jp-Companion-chatTitle:text-is('continued'))")
            continued.wait_for()
            new_id = continued.get_attribute("data-session-id")
            info = lab.api("GET", f"sessions/{new_id}")
            # the CLI started on the listed conversation (the fork gets its own id with the first turn)
            assert info["phase"] == "ready" and info["cli_session_id"] == original
            events = lab.api("GET", f"sessions/{new_id}/events?after=0")["events"]
            assert not [e for e in events if e["type"] == "error"], events

            # Export: the first conversation becomes a notebook next to its files and opens.
            page.locator(f'.lm-TabBar-tab[data-id="jupyter-companion-chat-{session_id}"]').click()
            first_chat = page.locator(f'.jp-Companion-chat[data-session-id="{session_id}"]')
            first_chat.get_by_role("button", name="Export the conversation as a notebook").click()
            notebook = page.locator(".jp-NotebookPanel")
            notebook.locator(".jp-CodeCell:has-text('touch created-by-agent.txt')").first.wait_for()
            notebook.locator(".jp-MarkdownCell:has-text('please make a file')").first.wait_for()
            assert (lab.root_dir / "browser-flow-transcript.ipynb").exists()
            page.screenshot(path=str(artifacts / "panel-exported-notebook.png"))

            # Fork: a new session continuing a copy of the first conversation opens in its own tab.
            page.locator(f'.lm-TabBar-tab[data-id="jupyter-companion-chat-{session_id}"]').click()
            first_chat.get_by_role("button", name="Fork the session").click()
            fork = page.locator(".jp-Companion-chat:has(.jp-Companion-chatTitle:text-is('browser flow (fork)'))")
            fork.wait_for()
            fork_info = lab.api("GET", f"sessions/{fork.get_attribute('data-session-id')}")
            assert fork_info["phase"] == "ready" and fork_info["cli_session_id"] == original
            assert fork_info["cwd"] == lab.api("GET", f"sessions/{session_id}")["cwd"]


def dollars(cost: float) -> str:
    """A cost as the panel writes it (``formatCost``)."""
    return f"${cost:.4f}" if 0 < cost < 0.01 else f"${cost:.2f}"


HISTORY_TURNS = 400  # x ~7 stored events each: a history of a few thousand events


def _wait_until(condition: Any, what: str, timeout: float = 60.0) -> Any:
    """Poll ``condition()`` until it returns a truthy value (readiness, not a timed assertion)."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


def test_echo_session_history_live_sidebar_and_composer(tmp_path: Path, browser: Any, artifacts: Path) -> None:
    """On the in-process ``echo`` backend of the test plugin: a history of thousands of events is
    virtualized (few DOM rows, scrolling works), the sidebar's badge and phase dot follow the chat's
    socket and the sessions feed for sessions not open (fallback polling is set to 10 minutes), the permission-mode switcher round-trips through
    ``session_update``, a pasted image is sent with the prompt, and "Terminal" opens a JupyterLab
    terminal in the session's folder."""
    settings = {"jupyter-companion:plugin": {"refreshInterval": 600}}
    with run_lab(tmp_path, lab_settings=settings) as lab:
        (lab.root_dir / "proj").mkdir()
        created = lab.api("POST", "sessions", {"backend": "echo", "cwd": "proj", "name": "echo history"})
        sid = created["id"]
        for n in range(HISTORY_TURNS):
            lab.api("POST", f"sessions/{sid}/messages", {"content": f"message number {n}"})
        _wait_until(lambda: lab.api("GET", f"sessions/{sid}")["num_turns"] >= HISTORY_TURNS, "the echo turns")
        last_seq = lab.api("GET", f"sessions/{sid}/events?after=0&limit=1")["last_seq"]
        assert last_seq >= 2000, last_seq

        page = open_lab(browser, lab.lab_url())
        open_sidebar(page)
        row = page.locator(f'.jp-Companion-sessionRow[data-session-id="{sid}"]')
        row.locator(".jp-Companion-sessionOpen").click()
        chat = page.locator(f'.jp-Companion-chat[data-session-id="{sid}"]')
        chat.wait_for()
        transcript = chat.locator(".jp-Companion-transcript")
        # The whole history is in the model, the newest answer is shown, only a window is in the DOM.
        page.wait_for_function(
            "n => Number(document.querySelector('.jp-Companion-transcript').dataset.total) >= n",
            arg=3 * HISTORY_TURNS,
        )
        chat.locator(f".jp-Companion-assistant:has-text('echo: message number {HISTORY_TURNS - 1}')").wait_for()
        rows = transcript.locator(".jp-Companion-row").count()
        total = int(transcript.get_attribute("data-total") or 0)
        assert 0 < rows < 150 < total, (rows, total)
        page.screenshot(path=str(artifacts / "panel-long-history-bottom.png"))

        # Scroll to the top: the first prompt renders, still only a window of rows.
        transcript.evaluate("el => { el.scrollTop = 0; }")
        chat.locator(".jp-Companion-user:has-text('message number 0')").first.wait_for()
        assert transcript.locator(".jp-Companion-row").count() < 150
        assert chat.locator(f".jp-Companion-assistant:has-text('echo: message number {HISTORY_TURNS - 1}')").count() == 0
        # New events while the user reads old ones do not yank the view to the bottom.
        total_before = int(transcript.get_attribute("data-total") or 0)
        lab.api("POST", f"sessions/{sid}/messages", {"content": "arrives while scrolled up"})
        page.wait_for_function(
            "n => Number(document.querySelector('.jp-Companion-transcript').dataset.total) >= n",
            arg=total_before + 3,
        )
        assert transcript.evaluate("el => el.scrollTop") < 2000
        assert chat.locator(".jp-Companion-user:has-text('message number 0')").count() >= 1
        # And back to the bottom (following new messages again).
        transcript.evaluate("el => { el.scrollTop = el.scrollHeight; }")
        chat.locator(f".jp-Companion-assistant:has-text('echo: message number {HISTORY_TURNS - 1}')").wait_for()
        page.wait_for_selector(f'.jp-Companion-chat[data-session-id="{sid}"][data-connection="connected"]')

        # Permission mode switcher: the select follows the session_update coming back from the server.
        mode = chat.get_by_label("Permission mode")
        mode.select_option("acceptEdits")
        page.wait_for_function(
            "() => document.querySelector('.jp-Companion-chat select[aria-label=\"Permission mode\"]').value === 'acceptEdits'"
        )
        assert lab.api("GET", f"sessions/{sid}")["permission_mode"] == "acceptEdits"
        assert chat.locator(".jp-Companion-commandError").count() == 0

        # Live sidebar: a permission request shows the badge and the waiting dot with no poll.
        composer = chat.get_by_label("Message to the agent")
        composer.fill("ask Bash now")
        composer.press("Enter")
        chat.locator('.jp-Companion-permission[data-tool="Bash"]').wait_for()
        # The banner area keeps its size next to a very tall (virtual) transcript.
        assert (chat.locator(".jp-Companion-permissions").bounding_box() or {}).get("height", 0) > 60
        row.locator(".jp-Companion-pendingBadge").wait_for()
        assert row.get_attribute("data-phase") == "awaiting_permission"
        page.screenshot(path=str(artifacts / "panel-live-sidebar-badge.png"))
        chat.get_by_role("button", name="Allow Bash", exact=True).click()
        chat.locator(".jp-Companion-assistant:has-text('echo: ask Bash now -> allow')").wait_for()
        row.locator(".jp-Companion-pendingBadge").wait_for(state="detached")
        page.wait_for_selector(f'.jp-Companion-sessionRow[data-session-id="{sid}"][data-phase="ready"]')

        # Sessions feed: a session created elsewhere, never opened here, appears at once, shows its
        # permission badge, is renamed and disappears when deleted, all with polling set to 10 min.
        other = lab.api("POST", "sessions", {"backend": "echo", "cwd": "proj", "name": "made elsewhere"})
        other_row = page.locator(f'.jp-Companion-sessionRow[data-session-id="{other["id"]}"]')
        other_row.wait_for()
        # the sidebar filter narrows the list as one types
        page.get_by_label("Filter sessions").fill("elsewhere")
        row.wait_for(state="detached")
        assert other_row.is_visible()
        page.get_by_label("Filter sessions").fill("")
        row.wait_for()
        lab.api("POST", f"sessions/{other['id']}/messages", {"content": "ask Bash elsewhere"})
        other_row.locator(".jp-Companion-pendingBadge").wait_for()
        # not the session in view: a notification says so, with a button to open it
        notice = page.locator(".jp-toast-message:has-text('“made elsewhere” asks permission to use Bash.')")
        notice.wait_for()
        page.wait_for_timeout(500)  # let the toast finish sliding in before the screenshot
        page.screenshot(path=str(artifacts / "panel-feed-badge.png"))
        request = lab.api("GET", f"sessions/{other['id']}")["pending_permissions"][0]
        lab.api("POST", f"sessions/{other['id']}/permissions/{request['request_id']}", {"behavior": "deny"})
        other_row.locator(".jp-Companion-pendingBadge").wait_for(state="detached")
        notice.wait_for(state="detached")  # answered elsewhere: the notification goes away
        page.locator(".jp-toast-message:has-text('“made elsewhere” finished its turn.')").wait_for()
        lab.api("PATCH", f"sessions/{other['id']}", {"name": "renamed elsewhere"})
        other_row.locator("text=renamed elsewhere").wait_for()
        lab.api("DELETE", f"sessions/{other['id']}")
        other_row.wait_for(state="detached")

        # Image paste: the attachment shows, is sent with the prompt and stored in the user message.
        composer.evaluate(
            """(el, b64) => {
                const bytes = Uint8Array.from(atob(b64), c => c.charCodeAt(0));
                const data = new DataTransfer();
                data.items.add(new File([bytes], 'dot.png', { type: 'image/png' }));
                el.dispatchEvent(new ClipboardEvent('paste', { clipboardData: data, bubbles: true, cancelable: true }));
            }""",
            PNG_1PX,
        )
        chat.locator(".jp-Companion-attachment img").wait_for()
        composer.fill("with a picture")
        composer.press("Enter")
        chat.locator(".jp-Companion-user:has-text('with a picture') .jp-Companion-userImage").wait_for()
        chat.locator(".jp-Companion-assistant:has-text('echo: with a picture')").wait_for()
        stored = lab.api("GET", f"sessions/{sid}/events?after={last_seq}")["events"]
        pictures = [e for e in stored if e["type"] == "user_message" and e["content"] == "with a picture"]
        assert pictures and pictures[0]["images"][0]["media_type"] == "image/png"
        # Up in the empty composer recalls the last prompt, Down goes back to the (empty) draft
        composer.press("ArrowUp")
        page.wait_for_function("el => el.value === 'with a picture'", arg=composer.element_handle())
        composer.press("ArrowUp")
        page.wait_for_function("el => el.value === 'ask Bash now'", arg=composer.element_handle())
        composer.press("ArrowDown")
        page.wait_for_function("el => el.value === 'with a picture'", arg=composer.element_handle())
        composer.press("ArrowDown")
        page.wait_for_function("el => el.value === ''", arg=composer.element_handle())

        # "Open terminal here": a JupyterLab terminal whose shell starts in the session's folder.
        chat.get_by_role("button", name="Open a terminal in the session folder").click()
        terminal = page.locator(".jp-Terminal").first
        terminal.wait_for()
        page.wait_for_selector(".jp-Terminal .xterm-helper-textarea", state="attached")
        terminal.click()
        page.keyboard.type("pwd > where-am-i.txt\n")
        marker = lab.root_dir / "proj" / "where-am-i.txt"
        _wait_until(lambda: marker.exists() and marker.read_text().strip(), "the terminal to run pwd")
        assert Path(marker.read_text().strip()).resolve() == (lab.root_dir / "proj").resolve()
        page.screenshot(path=str(artifacts / "panel-terminal.png"))

        # A command the server refuses: the error frame (with our client_msg_id) shows on that message.
        lab.api("POST", f"sessions/{sid}/archive")
        page.locator(f'.lm-TabBar-tab[data-id="jupyter-companion-chat-{sid}"]').click()
        composer.fill("too late")
        composer.press("Enter")
        failed = chat.locator('.jp-Companion-user[data-delivery="failed"]:has-text("too late")')
        failed.locator(".jp-Companion-commandError:has-text('archived')").wait_for()
        failed.get_by_role("button", name="Send this message again").wait_for()
        row.wait_for(state="detached")  # archived: gone from the sidebar at once (live session_update)
        page.screenshot(path=str(artifacts / "panel-refused-message.png"))

        # Deleted by another client: its chat tab closes (sessions feed), no endless reconnecting.
        lab.api("DELETE", f"sessions/{sid}")
        chat.wait_for(state="detached")
        assert page.locator(f'.lm-TabBar-tab[data-id="jupyter-companion-chat-{sid}"]').count() == 0
        assert page.errors == []


PNG_1PX = (
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)

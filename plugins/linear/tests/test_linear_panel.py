"""Real browser: the Linear plugin's parts of the panel, against the Linear stand-in -- the key
entered on the Integrations page (a wrong one refused with Linear's words), the issue picker of the
New-session form (search as you type), the issue's badge on the session with its link, and the
question asked when the session is archived. The session runs the test plugin's in-process echo
backend: only the Linear parts are under test here."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from linear_standin import LinearStandIn

from tests.browser.conftest import artifacts, browser, chromium_path  # noqa: F401 - the browser fixtures
from tests.browser.labserver import run_lab
from tests.browser.test_panel import open_command_palette, open_lab, open_sidebar

pytestmark = [pytest.mark.browser, pytest.mark.timeout(300)]


def _wait(predicate: Any, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.2)


def test_connect_pick_an_issue_see_it_and_move_it_on_archive(
        tmp_path: Path, browser: Any, artifacts: Path, linear: LinearStandIn) -> None:  # noqa: F811
    with run_lab(tmp_path) as lab:
        (lab.root_dir / "project").mkdir()
        lab.api("PATCH", "settings", {"linear_api_url": linear.url, "linear_archive_state": "In Review"})
        page = open_lab(browser, lab.lab_url())

        open_command_palette(page, "Integrations")
        page.locator(".lm-CommandPalette-item:has-text('Integrations…')").click()
        section = page.get_by_role("region", name="Linear")
        section.wait_for()
        section.locator("summary:has-text('Settings')").click()
        key = section.get_by_label("API key")
        key.fill("lin_api_not_the_key")
        section.get_by_role("button", name="Save").click()
        assert "Linear did not accept this key" in section.get_by_role("alert").inner_text()
        key.fill(linear.api_key)
        section.get_by_role("button", name="Save").click()
        section.locator("dd:has-text('Ada Lovelace')").wait_for()
        page.screenshot(path=str(artifacts / "linear-integrations.png"))

        open_sidebar(page)
        page.get_by_role("button", name="New session").click()
        dialog = page.get_by_role("dialog", name="New agent session")
        dialog.wait_for()
        dialog.locator('.jp-Companion-backend[data-backend="echo"] input').check()
        dialog.get_by_label("Folder (relative to the server root)").fill("project")
        dialog.get_by_label("Linear issue", exact=True).fill("safari login")
        dialog.get_by_role("option", name="ENG-1 Login button does nothing on Safari Todo").click()
        dialog.locator(".jp-Companion-pickerChosen:has-text('ENG-1')").wait_for()
        page.screenshot(path=str(artifacts / "linear-picker.png"))
        dialog.get_by_role("button", name="Create session").click()

        chat = page.locator(".jp-Companion-chat")
        chat.wait_for(timeout=60_000)
        badge = chat.locator(".jp-Companion-pluginBadge")
        badge.locator("text=ENG-1 · In Progress").wait_for()
        assert badge.get_attribute("href") == linear.by_identifier("ENG-1")["url"]
        assert badge.get_attribute("title") == "Login button does nothing on Safari"
        sid = chat.get_attribute("data-session-id")
        row = page.locator(f'.jp-Companion-sessionRow[data-session-id="{sid}"]')
        row.locator(".jp-Companion-pluginBadge:has-text('ENG-1')").wait_for()
        page.screenshot(path=str(artifacts / "linear-session.png"))

        row.hover()
        row.get_by_role("button", name=f"Archive {row.locator('.jp-Companion-sessionName').inner_text()}").click()
        question = page.locator(".jp-Dialog")
        question.get_by_text("The session's Linear issue (ENG-1)").wait_for()
        assert question.get_by_label("The session's Linear issue").input_value() == "configured"
        page.screenshot(path=str(artifacts / "linear-archive-question.png"))
        question.get_by_role("button", name="Archive").click()
        _wait(lambda: linear.by_identifier("ENG-1")["state"]["name"] == "In Review")
        assert lab.api("GET", f"sessions/{sid}")["archived"] is True
        assert page.errors == []

"""Real browser, real Docker engine: a profile made in the panel's profile manager, a session
created in it from the New-session form (its steps shown), the container badge, and the terminal
button opening a shell inside the container. The session runs the test plugin's in-process echo
backend, so only the sandbox is under test here."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import artifacts, browser, chromium_path  # noqa: F401 - the browser fixtures
from tests.browser.labserver import run_lab
from tests.browser.test_panel import open_command_palette, open_lab, open_sidebar
from tests.support.docker_engine import MARKER_TEXT, our_containers

pytestmark = [pytest.mark.browser, pytest.mark.timeout(300)]


def test_profiles_sessions_badge_and_terminal_in_the_container(
    tmp_path: Path, browser: Any, artifacts: Path, docker_url: str, test_base_image: str  # noqa: F811
) -> None:
    config = {"DockerSandbox": {"docker_host": docker_url, "keep_on_server_stop": False}}
    with run_lab(tmp_path, config=config) as lab:
        (lab.root_dir / "boxed").mkdir()
        page = open_lab(browser, lab.lab_url())

        open_command_palette(page, "Sandbox Profiles")
        page.locator(".lm-CommandPalette-item:has-text('Sandbox Profiles…')").click()
        form = page.get_by_role("form", name="Sandbox profile")
        form.wait_for()
        form.get_by_label("Profile name").fill("box")
        form.get_by_label("Image", exact=True).fill("companion-test/does-not-matter:1 x")
        form.get_by_role("button", name="Save profile").click()
        assert "'image' must be an image reference" in form.get_by_role("alert").inner_text()  # the server's words
        form.get_by_label("Image", exact=True).fill(test_base_image)
        form.get_by_label("Network").select_option("none")
        form.get_by_label("Environment").fill("GREETING=hello from the profile")
        form.get_by_role("button", name="Save profile").click()
        page.get_by_role("list", name="Sandbox profiles").get_by_role("button", name="box", exact=True).wait_for()
        page.screenshot(path=str(artifacts / "docker-profiles.png"))

        open_sidebar(page)
        page.get_by_role("button", name="New session").click()
        dialog = page.get_by_role("dialog", name="New agent session")
        dialog.wait_for()
        dialog.locator('.jp-Companion-backend[data-backend="echo"] input').check()
        dialog.get_by_label("Folder (relative to the server root)").fill("boxed")
        dialog.get_by_label("Sandbox", exact=True).select_option("docker")
        assert dialog.get_by_label("Sandbox profile").input_value() == "box"
        dialog.get_by_label("Session name").fill("in a box")
        dialog.get_by_role("button", name="Create session").click()

        chat = page.locator(".jp-Companion-chat")
        chat.wait_for(timeout=120_000)
        badge = chat.locator(".jp-Companion-sandboxBadge")
        badge.wait_for()
        assert badge.inner_text() == "docker" and "container companion-" in (badge.get_attribute("title") or "")
        sid = chat.get_attribute("data-session-id")
        page.screenshot(path=str(artifacts / "docker-session.png"))

        chat.get_by_role("button", name="Open a terminal in the session folder").click()
        terminal = page.locator(".jp-Terminal:visible")
        terminal.locator(".xterm-screen").wait_for()
        marker = lab.root_dir / "boxed" / "where.txt"
        deadline = time.monotonic() + 60
        while not (marker.exists() and marker.read_text().strip()) and time.monotonic() < deadline:
            terminal.locator(".xterm-helper-textarea").focus()
            page.keyboard.type('cat /etc/companion-test-image "$HOME/missing" 2>/dev/null > where.txt; echo "$GREETING" >> where.txt')
            page.keyboard.press("Enter")
            time.sleep(2)  # readiness: the container's shell writes the file once it has started
        lines = marker.read_text().splitlines()
        assert lines[0] == MARKER_TEXT and lines[-1] == "hello from the profile"
        page.screenshot(path=str(artifacts / "docker-terminal.png"))

        assert lab.api("POST", f"sessions/{sid}/archive", {})["ok"] is True
        assert our_containers(docker_url) == []
        assert page.errors == []

"""The panel under a REAL JupyterHub (issue 16): ada logs in at the hub, JupyterLab opens at
``/user/ada/lab`` through configurable-http-proxy, she starts a session with the real Claude CLI,
prompts it and answers its permission request; bob, to whom she shared her server watch-only,
opens the same lab and follows the session without a way to drive it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.anthropic_server import ScriptedAnthropic, Text, ToolUse
from tests.support.clis import claude_cli_env, ensure_cli
from tests.support.hub import PASSWORD, Hub

from .test_panel import WAIT, open_sidebar

pytestmark = [pytest.mark.browser, pytest.mark.e2e, pytest.mark.timeout(600)]


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[Hub]:
    """A hub with ada and bob; the agents talk to a scripted Messages API."""
    with ScriptedAnthropic() as srv:
        srv.on(r"make a file", [Text("I will create the file now.", chunks=4),
                                ToolUse("Bash", {"command": "touch from-the-hub.txt", "description": "Create it"})])
        srv.on_tool_result(Text("The file is there."))
        settings = {"ClaudeBackend": {"binary": ensure_cli("claude")},
                    "CompanionApp": {"cli_env": claude_cli_env(srv.base_url, tmp_path / "cli-home")}}
        deployment = Hub(tmp_path / "hub", ["ada", "bob"], server_settings=settings).start()
        try:
            (deployment.home("ada") / "project").mkdir(parents=True)
            yield deployment
        finally:
            deployment.stop()


def log_in(browser: Any, hub: Hub, user: str, lab_of: str) -> Any:
    """A page of ``user``, logged in at the hub, on ``lab_of``'s JupyterLab."""
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    page.set_default_timeout(WAIT)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)[:1500]))
    page.goto(f"{hub.url}hub/login")
    page.locator("#username_input").fill(user)
    page.locator("#password_input").fill(PASSWORD)
    page.locator("#login_submit").click()
    page.wait_for_url(lambda url: "/hub/login" not in url)  # the hub sends you on (home, or your lab)
    page.goto(f"{hub.url}user/{lab_of}/lab")
    authorize = page.get_by_role("button", name="Authorize")
    page.wait_for_selector("#jp-main-dock-panel, button:has-text('Authorize')")
    if authorize.count():  # a server shared with you asks once before it is opened
        authorize.click()
    page.wait_for_selector("#jp-main-dock-panel")
    page.errors = errors
    return page


def test_the_panel_under_a_hub_and_a_watch_only_teammate(hub: Hub, browser: Any, artifacts: Path) -> None:
    hub.start_server("ada")
    ada = log_in(browser, hub, "ada", "ada")
    assert "/user/ada/lab" in ada.url
    open_sidebar(ada)
    ada.get_by_role("button", name="New session").click()
    ada.get_by_role("dialog", name="New agent session").wait_for()
    ada.locator('.jp-Companion-backend[data-backend="claude"] input').check()
    ada.get_by_label("Session name").fill("hub flow")
    ada.get_by_role("button", name="Create session").click()
    ada.wait_for_selector('.jp-Companion-chat[data-connection="connected"]')
    composer = ada.get_by_label("Message to the agent")
    composer.fill("please make a file")
    composer.press("Enter")
    banner = ada.locator('.jp-Companion-permission[data-tool="Bash"]')
    banner.wait_for()
    ada.screenshot(path=str(artifacts / "hub-permission.png"))
    ada.get_by_role("button", name="Allow Bash", exact=True).click()
    ada.wait_for_selector(".jp-Companion-assistant:has-text('The file is there.')")
    assert (hub.home("ada") / "project" / "from-the-hub.txt").exists() or (
        hub.home("ada") / "from-the-hub.txt").exists()
    ada.screenshot(path=str(artifacts / "hub-panel.png"))

    # ada shares her server watch-only with bob (the hub's shares API, her own token)
    token = hub.token("ada")
    scopes = ["access:servers!server=ada/", "custom:jupyter_server:read:*!server=ada/"]
    status, answer = hub.api("POST", "shares/ada/", {"user": "bob", "scopes": scopes}, token=token)
    assert status == 200, answer
    bob = log_in(browser, hub, "bob", "ada")
    open_sidebar(bob)
    sidebar = bob.locator("#jupyter-companion-sessions")
    sidebar.locator(".jp-Companion-sessionRow:has-text('hub flow')").wait_for()
    assert sidebar.get_by_role("button", name="New session").count() == 0
    assert sidebar.get_by_role("button", name="Archive hub flow").count() == 0  # nor tidy it
    assert "Watch-only" in sidebar.inner_text()
    sidebar.locator(".jp-Companion-sessionRow:has-text('hub flow')").click()
    chat = bob.locator(".jp-Companion-chat")
    chat.locator(".jp-Companion-assistant:has-text('The file is there.')").wait_for()
    chat.locator(".jp-Companion-watchOnly").wait_for()
    assert bob.get_by_label("Message to the agent").count() == 0
    assert chat.get_by_role("button", name="Fork the session").count() == 0  # it would run an agent
    bob.screenshot(path=str(artifacts / "hub-watch-only.png"))
    assert ada.errors == [] and bob.errors == []

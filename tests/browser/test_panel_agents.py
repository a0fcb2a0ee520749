"""Real-browser test of agents in the panel (the in-process ``echo`` backend answers): the sidebar's
Agents entry, running an agent with an input, its run in Agent Runs and its session opened from
there; a prompt saved on the Agents page and inserted with ``@`` in a composer."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from .labserver import run_lab
from .test_panel import open_lab, open_sidebar

pytestmark = [pytest.mark.browser, pytest.mark.e2e]


def test_agents_runs_and_saved_prompts(tmp_path: Path, browser: Any, artifacts: Path) -> None:
    with run_lab(tmp_path) as lab:
        (lab.root_dir / "project").mkdir()
        agent = lab.api("POST", "agents", {"name": "Greeter", "prompt": "Greet {{input}}", "backend": "echo",
                                           "cwd": "project", "triggers": {"schedule": {"cron": "0 7 * * 1-5"}}})
        page = open_lab(browser, lab.lab_url())
        open_sidebar(page)
        page.locator("#jupyter-companion-sessions").get_by_role("button", name="Agents").click()
        manager = page.locator(".jp-Companion-agents")
        manager.get_by_role("button", name="Greeter", exact=True).click()
        assert manager.get_by_label("Prompt", exact=True).input_value() == "Greet {{input}}"
        manager.get_by_text("At 07:00, Monday through Friday").first.wait_for()
        saved = manager.get_by_role("region", name="Saved prompts")
        saved.get_by_label("Prompt name").fill("Review")
        saved.get_by_label("Prompt text").fill("Review the diff for bugs.")
        saved.get_by_role("button", name="Save prompt").click()
        saved.get_by_text("Saved @Review.").wait_for()
        assert [p["name"] for p in lab.api("GET", "prompts")["prompts"]] == ["Review"]
        manager.get_by_label("Run input").fill("the team")
        manager.get_by_role("button", name="Run now").click()

        runs = page.locator(".jp-Companion-runs")
        runs.locator(".jp-Companion-run.jp-mod-success").wait_for()
        assert "Greeter" in runs.inner_text() and "manual" in runs.inner_text()
        page.screenshot(path=str(artifacts / "panel-agent-runs.png"))
        runs.get_by_role("button", name="Open the session of run").first.click()
        listed = lab.api("GET", f"runs?agent_id={agent['id']}")
        session_id = listed["runs"][0]["session_id"]
        chat = page.locator(f'.jp-Companion-chat[data-session-id="{session_id}"]')
        chat.get_by_text("echo: Greet the team").first.wait_for()

        composer = chat.get_by_label("Message to the agent")
        composer.fill("Then: @rev")
        chat.get_by_role("listbox", name="Saved prompts").wait_for()
        composer.press("Enter")
        assert composer.input_value() == "Then: Review the diff for bugs."
        assert page.errors == []

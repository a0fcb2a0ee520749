"""Real browser: the demo as Binder serves it (binder/config, no agent CLI, no API key) -- open
*Demo: fix the mean* from the sidebar and play the recorded session to its end: the explanation
with the file read, the edit's permission request allowed in the panel, the fix."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from .labserver import run_lab
from .test_panel import open_lab, open_sidebar

BINDER = Path(__file__).resolve().parents[2] / "binder"
pytestmark = [pytest.mark.browser, pytest.mark.timeout(300)]


def test_the_demo_plays_to_its_end(tmp_path: Path, browser: Any, artifacts: Path) -> None:
    (tmp_path / "root").mkdir()
    shutil.copytree(BINDER, tmp_path / "root" / "binder")
    config = json.loads((BINDER / "config" / "jupyter_server_config.json").read_text())
    with run_lab(tmp_path, config=config) as lab:
        page = open_lab(browser, lab.lab_url())
        open_sidebar(page)
        row = page.locator(".jp-Companion-sessionRow", has_text="Demo: fix the mean")
        row.locator(".jp-Companion-sessionOpen").click()
        chat = page.locator(".jp-Companion-chat:visible")
        composer = chat.get_by_label("Message to the agent")
        composer.fill("What does this project do?")
        composer.press("Enter")
        chat.get_by_text("This is a tiny statistics module").wait_for(timeout=60_000)
        composer.fill("Please fix mean().")
        composer.press("Enter")
        chat.get_by_role("button", name="Allow Edit", exact=True).click(timeout=60_000)
        chat.get_by_text("now divides by").wait_for(timeout=60_000)
        chat.get_by_text("Turn done").nth(1).wait_for(timeout=60_000)  # the recording played to its end
        page.screenshot(path=str(artifacts / "demo-replay.png"))
        assert "len(values) - 1" in (lab.root_dir / "binder" / "demo" / "stats.py").read_text()
        assert page.errors == []

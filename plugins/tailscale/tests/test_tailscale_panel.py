"""Real browser: the Tailscale part of the Integrations page against the ``tailscale`` stand-in --
the machine's state, Funnel turned on (the public address with a copy button and a QR code), then
off again, and Linux's operator problem explained with its fix."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from tailscale_support import Tailscale

from tests.browser.conftest import artifacts, browser, chromium_path  # noqa: F401 - the browser fixtures
from tests.browser.labserver import run_lab
from tests.browser.test_panel import open_command_palette, open_lab

pytestmark = [pytest.mark.browser, pytest.mark.timeout(300)]


def test_funnel_on_with_its_qr_code_then_off(tmp_path: Path, browser: Any, artifacts: Path,  # noqa: F811
                                            tailscale: Tailscale) -> None:
    with run_lab(tmp_path, config={"TailscaleFunnel": {"binary": str(tailscale.path)}}) as lab:
        page = open_lab(browser, lab.lab_url())
        open_command_palette(page, "Integrations")
        page.locator(".lm-CommandPalette-item:has-text('Integrations…')").click()
        section = page.get_by_role("region", name="Tailscale")
        section.locator("dd:has-text('devbox.tail1234.ts.net')").wait_for()
        assert section.locator(".jp-Companion-stateBadge").inner_text() == "Running"

        tailscale.set(operator=False)
        section.get_by_role("button", name="Turn Funnel on").click()
        assert "sudo tailscale set --operator=$USER" in section.get_by_role("alert").inner_text()

        tailscale.set(operator=True)
        section.get_by_role("button", name="Turn Funnel on").click()
        qr = section.get_by_role("img", name="QR code of Public address")
        qr.wait_for()
        link = section.get_by_role("link", name="https://devbox.tail1234.ts.net/")
        assert link.get_attribute("href") == "https://devbox.tail1234.ts.net/"
        assert ["funnel", "--bg", str(lab.url.rstrip("/").rsplit(":", 1)[1])] in tailscale.calls()
        qr.scroll_into_view_if_needed()
        page.screenshot(path=str(artifacts / "tailscale-funnel-on.png"))

        section.get_by_role("button", name="Turn Funnel off").click()
        qr.wait_for(state="detached")
        assert lab.api("GET", "tailscale/status")["funnel"] == {"enabled": False}
        assert page.errors == []

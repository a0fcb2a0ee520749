"""Fixtures of the real-browser tests: Debian chromium driven by Playwright, artifacts dir."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .labserver import ARTIFACTS

CHROMIUM = os.environ.get("COMPANION_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture
def chromium_path() -> str:
    """Debian's chromium binary; the browser tests are skipped only when it is absent."""
    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        if os.environ.get("COMPANION_REQUIRE_BROWSER"):  # scripts/test installs it: never skip there
            pytest.fail("chromium not installed (Debian package 'chromium')", pytrace=False)
        pytest.skip(reason="chromium not installed (Debian package 'chromium')")
    return CHROMIUM


@pytest.fixture
def artifacts() -> Path:
    """The directory screenshots and logs are saved into."""
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """Remember each phase's report on the item so fixtures can see whether the test failed."""
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


@pytest.fixture
def browser(chromium_path: str, request: pytest.FixtureRequest) -> Iterator[Any]:
    """A headless Debian chromium driven by Playwright (no browser download).

    When the test fails, every open page is saved as ``test-artifacts/<test>-failure-<n>.png``.
    """
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        instance = pw.chromium.launch(executable_path=chromium_path, headless=True, args=CHROMIUM_ARGS)
        try:
            yield instance
        finally:
            report = getattr(request.node, "rep_call", None)
            if report is not None and report.failed:
                ARTIFACTS.mkdir(exist_ok=True)
                pages = [p for ctx in instance.contexts for p in ctx.pages]
                for n, page in enumerate(pages):
                    try:
                        page.screenshot(path=str(ARTIFACTS / f"{request.node.name}-failure-{n}.png"))
                    except Exception as exc:  # a crashed page must not hide the test's own failure
                        print(f"could not save a failure screenshot: {exc}")
            instance.close()

"""Fixtures of the tests that drive the REAL Claude Code CLI against a scripted Messages API: the
pinned binary as the server's ``claude_binary``, and ``companion_config`` pointing the CLIs at the
module's ``model_server`` with a home of their own. Import the ones a module needs::

    from tests.support.real_claude import claude_binary, companion_config, real_claude  # noqa: F401
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from .anthropic_server import ScriptedAnthropic
from .clis import claude_cli_env, ensure_cli


@pytest.fixture(scope="module")
def real_claude() -> str:
    """The pinned claude binary (installed into the test cache on first use)."""
    return ensure_cli("claude")


@pytest.fixture
def claude_binary(real_claude: str) -> str:
    """The server runs the real CLI."""
    return real_claude


@pytest.fixture
def companion_config(companion_config: dict[str, Any], model_server: ScriptedAnthropic, tmp_path: Path) -> dict[str, Any]:
    """The core's test settings, the CLIs pointed at ``model_server``."""
    return {**companion_config, "cli_env": claude_cli_env(model_server.base_url, tmp_path / "home")}

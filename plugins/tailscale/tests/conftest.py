"""Fixtures of the Tailscale plugin's tests: the ``tailscale`` stand-in and the core's server
fixtures, the server configured to use the stand-in."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from tailscale_support import Tailscale

from tests.conftest import (  # noqa: F401 - the core's server fixtures, shared
    _no_claudecode_env,
    api,
    authorizer_mode,
    claude_binary,
    companion_config,
    fake_claude_bin,
    raw,
    workdir,
)

pytest_plugins = ["pytest_jupyter.jupyter_server"]


@pytest.fixture
def tailscale(tmp_path_factory: pytest.TempPathFactory) -> Tailscale:
    """A fresh ``tailscale`` stand-in: running, logged in, Funnel allowed, operator rights."""
    return Tailscale(tmp_path_factory.mktemp("tailscale"))


@pytest.fixture
def jp_server_config(companion_config: dict[str, Any], claude_binary: str, tailscale: Tailscale) -> dict[str, Any]:  # noqa: F811
    """The core's server configuration with the stand-in as the tailscale binary."""
    return {
        "ServerApp": {"jpserver_extensions": {"jupyter_companion": True}},
        "CompanionApp": companion_config,
        "ClaudeBackend": {"binary": claude_binary},
        "TailscaleFunnel": {"binary": str(tailscale.path)},
    }


@pytest.fixture
def no_tailscale(tmp_path: Path) -> str:
    """A binary name that is nowhere."""
    assert shutil.which("tailscale-not-installed") is None
    return "tailscale-not-installed"

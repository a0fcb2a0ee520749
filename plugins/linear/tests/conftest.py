"""Fixtures of the Linear plugin's tests: the Linear stand-in and the core's server fixtures."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from linear_standin import WEBHOOK_SECRET, LinearStandIn

from tests.conftest import (  # noqa: F401 - the core's server fixtures, shared
    _no_claudecode_env,
    api,
    authorizer_mode,
    claude_binary,
    companion_config,
    connect,
    fake_claude_bin,
    jp_server_config,
    raw,
    workdir,
)

pytest_plugins = ["pytest_jupyter.jupyter_server"]


@pytest.fixture
def linear() -> Iterator[LinearStandIn]:
    """Linear's API as a stand-in on 127.0.0.1."""
    with LinearStandIn() as standin:
        yield standin


@pytest.fixture
def connected(jp_serverapp: Any, linear: LinearStandIn) -> LinearStandIn:
    """The server connected to the stand-in, with a webhook secret (saving a key through the API,
    where it is checked first, is tested on its own)."""
    orchestrator = jp_serverapp.web_app.settings["companion_orchestrator"]
    orchestrator.settings.update({"linear_api_url": linear.url, "linear_api_key": linear.api_key,
                                  "linear_webhook_secret": WEBHOOK_SECRET})
    orchestrator.store.flush()  # stored before the server's start-up reads the settings again
    return linear

"""Fixtures of the docker sandbox's tests: a real Docker engine (started here when none is given),
test images imported from a local root filesystem, and the core's server fixtures."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import (  # noqa: F401 - the core's server fixtures, shared
    _no_claudecode_env,
    api,
    claude_binary,
    companion_config,
    connect,
    fake_claude_bin,
    raw,
    workdir,
)
from tests.support.docker_engine import (
    base_image,
    claude_image,
    docker,
    engine_or_skip,
    our_containers,
)

pytest_plugins = ["pytest_jupyter.jupyter_server"]


@pytest.fixture(scope="session")
def docker_url() -> Iterator[str]:
    """A running engine; after the whole suite no container of the companion may be left on it."""
    url = engine_or_skip()
    for name in our_containers(url):  # left by an aborted earlier run
        docker(url, "rm", "-f", name)
    yield url
    left = our_containers(url)
    assert left == [], f"containers left behind: {left}"


@pytest.fixture(scope="session")
def test_claude_image(docker_url: str) -> str:
    """busybox + the pinned Claude CLI on PATH, imported (no registry)."""
    from tests.support.clis import ensure_cli

    return claude_image(docker_url, ensure_cli("claude"))


@pytest.fixture(scope="session")
def test_base_image(docker_url: str) -> str:
    """busybox only."""
    return base_image(docker_url)


@pytest.fixture
def docker_host(docker_url: str) -> str:
    """The engine the server under test is configured with (override to break it)."""
    return docker_url


@pytest.fixture
def jp_server_config(companion_config: dict[str, Any], claude_binary: str, docker_host: str) -> dict[str, Any]:  # noqa: F811
    """The core's test server, with the docker sandbox pointed at the test engine."""
    return {
        "ServerApp": {"jpserver_extensions": {"jupyter_companion": True}},
        "CompanionApp": companion_config,
        "ClaudeBackend": {"binary": claude_binary},
        "DockerSandbox": {"docker_host": docker_host, "keep_on_server_stop": False},
    }


@pytest.fixture
def session_folder(jp_root_dir: Path) -> Path:
    """The folder sessions of these tests run in."""
    folder = jp_root_dir / "project"
    folder.mkdir(exist_ok=True)
    return folder

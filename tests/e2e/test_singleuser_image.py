"""The single-user image of docs/deployment.md (``deploy/singleuser/Dockerfile``) built by the real
Docker engine from a local base image with the network off, then run: the extension enabled with
the JupyterHub authorizer importable, the pinned CLIs, the user and home a hub expects, and a
server in the container answering ``companion/api/status`` with Claude Code available."""

from __future__ import annotations

import json
import time
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.docker_engine import docker, engine_or_skip
from tests.support.singleuser_image import build

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(2400)]


@pytest.fixture(scope="module")
def image(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """``(engine url, tag)`` of the image, built for this module and removed after it."""
    url = engine_or_skip()
    tag = f"companion-test/singleuser:{uuid.uuid4().hex[:8]}"
    build(url, tmp_path_factory.mktemp("context"), tag)
    try:
        yield url, tag
    finally:
        docker(url, "rmi", "-f", tag)


def test_the_image_has_the_extension_the_clis_and_the_hub_user(image: tuple[str, str]) -> None:
    url, tag = image
    script = ("jupyter server extension list 2>&1 | grep jupyter_companion; claude --version; codex --version; "
              "python3 -c 'import jupyter_companion.hub, jupyterhub; print(\"hub\", jupyterhub.__version__)'; "
              "id -un; echo $HOME; command -v jupyterhub-singleuser")
    out = docker(url, "run", "--rm", "--network", "none", tag, "sh", "-c", script)
    assert "jupyter_companion" in out and "enabled" in out, out
    assert "2.1.197 (Claude Code)" in out and "codex-cli 0.169.0" in out, out
    assert "hub 6." in out and "jovyan\n/home/jovyan\n" in out, out
    assert out.strip().endswith("/jupyterhub-singleuser"), out
    inspect = json.loads(docker(url, "image", "inspect", tag))[0]["Config"]
    assert inspect["User"] == "1000" and inspect["Cmd"] == ["jupyterhub-singleuser"]


def test_a_server_in_the_image_serves_the_companion_api(image: tuple[str, str], tmp_path: Path) -> None:
    url, tag = image
    token = uuid.uuid4().hex
    name = f"companion-test-singleuser-{uuid.uuid4().hex[:8]}"
    docker(url, "run", "-d", "--name", name, "-p", "127.0.0.1::8888", tag, "jupyter", "server", "--ip=0.0.0.0",
           f"--IdentityProvider.token={token}", "--ServerApp.port=8888")
    try:
        port = docker(url, "port", name, "8888/tcp").strip().splitlines()[0].rsplit(":", 1)[1]
        status = _wait_for_status(f"http://127.0.0.1:{port}/companion/api/status", token)
        claude = next(b for b in status["backends"] if b["name"] == "claude")
        assert claude["available"] is True and claude["version"].startswith("2.1.197"), claude
        codex = next(b for b in status["backends"] if b["name"] == "codex")
        assert codex["available"] is True, codex
        # the SQLite file is in the user's home (the volume a hub mounts there)
        listing = docker(url, "exec", name, "sh", "-c", "ls -l ~/.local/share/jupyter/companion/companion.db")
        assert "jovyan" in listing and listing.startswith("-rw-------"), listing
    finally:
        docker(url, "rm", "-f", name)


def _wait_for_status(address: str, token: str, timeout: float = 120.0) -> dict:  # type: ignore[type-arg]
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        request = urllib.request.Request(address, headers={"Authorization": f"token {token}"})
        try:
            with urllib.request.urlopen(request, timeout=10) as resp:  # noqa: S310 - local container
                return dict(json.loads(resp.read()))
        except OSError as exc:
            last = exc
            time.sleep(1)
    raise AssertionError(f"the server in the image did not answer: {last}")

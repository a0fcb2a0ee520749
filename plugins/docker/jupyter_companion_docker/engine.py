"""The connection to the Docker engine (Docker SDK for Python) and what to say when it fails.

Every call here blocks: callers run them in a thread (``asyncio.to_thread``).
"""

from __future__ import annotations

import os
import shutil
import threading
from typing import Any

import docker
import docker.errors

from jupyter_companion.backends.base import Availability

from .config import DockerSandbox

DEFAULT_SOCKET = "unix:///var/run/docker.sock"


def engine_url(config: DockerSandbox) -> str:
    """The engine's URL as configured, else ``$DOCKER_HOST``, else the default socket."""
    return config.docker_host or os.environ.get("DOCKER_HOST") or DEFAULT_SOCKET


def explain(exc: BaseException, url: str) -> str:
    """A sentence for a user about why the engine cannot be used."""
    text = str(exc)
    if "PermissionError" in text or "Permission denied" in text:
        return (f"no permission on the Docker socket {url}: add the server's user to the 'docker' group "
                "(or run the engine rootless) and restart the server")
    if any(s in text for s in ("FileNotFoundError", "No such file", "Connection refused", "ConnectionRefused")):
        return f"no Docker engine is running at {url}: start dockerd (or set c.DockerSandbox.docker_host)"
    if "timed out" in text.lower():
        return f"the Docker engine at {url} does not answer (timed out)"
    return f"the Docker engine at {url} failed: {text[:300]}"


class Engine:
    """A lazily created, shared Docker client."""

    def __init__(self, config: DockerSandbox):
        self.config = config
        self._client: docker.DockerClient | None = None
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        """The engine's URL."""
        return engine_url(self.config)

    def client(self) -> docker.DockerClient:
        """The Docker client (created on first use; raises DockerException when unreachable)."""
        with self._lock:
            if self._client is None:
                self._client = docker.DockerClient(base_url=self.url, timeout=120)
            return self._client

    def cli_env(self) -> dict[str, str]:
        """Variables the ``docker`` command-line client needs to reach the same engine."""
        env = {k: v for k, v in os.environ.items() if k.startswith("DOCKER_") and k != "DOCKER_HOST"}
        env["DOCKER_HOST"] = self.url
        return env

    def check(self) -> Availability:
        """Whether sessions can run in containers now, and why not."""
        binary = shutil.which(self.config.docker_binary)
        if binary is None:
            return Availability(False, reason=f"the docker command-line client ({self.config.docker_binary!r}) is not "
                                              "installed (Debian: apt install docker.io)")
        try:
            client = self.client()
            client.ping()
            version: dict[str, Any] = client.version()
        except Exception as exc:
            with self._lock:
                self._client = None
            return Availability(False, reason=explain(exc, self.url))
        return Availability(True, version=str(version.get("Version") or ""), binary=binary)

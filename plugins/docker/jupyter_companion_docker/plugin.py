"""The plugin module of ``jupyter-companion-docker`` (entry point ``docker`` of the
``jupyter_companion`` group): registers the ``docker`` sandbox."""

from __future__ import annotations

from typing import Any

from jupyter_companion.hookspecs import hookimpl

from .config import DockerSandbox
from .sandbox import DockerProvider


@hookimpl
def register_sandboxes(register: Any, app: Any) -> None:
    """Register the ``docker`` sandbox, configured by ``c.DockerSandbox`` of the server's config."""
    register(DockerProvider(DockerSandbox(config=app.config)).spec())

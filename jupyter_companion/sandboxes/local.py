"""The ``local`` sandbox: the CLI runs as a child of the Jupyter server, in the session's folder."""

from __future__ import annotations

from typing import Any

from ..backends.base import CommandWrapper, no_wrapper
from ..hookspecs import hookimpl
from .base import SandboxSpec


def _wrapper(session: Any) -> CommandWrapper:
    return no_wrapper


@hookimpl
def register_sandboxes(register: Any, app: Any) -> None:
    """Register the ``local`` sandbox."""
    register(
        SandboxSpec(
            name="local",
            label="Local",
            wrapper=_wrapper,
            description="Run the agent CLI on this machine, as the Jupyter server's user.",
        )
    )

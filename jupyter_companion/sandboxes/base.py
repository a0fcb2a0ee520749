"""The contract of a sandbox provider: where and how a session's CLI runs."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from ..backends.base import CommandWrapper


@dataclass
class SandboxSpec:
    """A sandbox as registered by a plugin through ``register_sandboxes``.

    ``wrapper(session)`` returns the :class:`~jupyter_companion.backends.base.CommandWrapper`
    that turns the CLI's argv/env/cwd into what really runs; ``teardown(session)`` releases
    whatever the sandbox created for the session (called on archive and delete).
    """

    name: str
    label: str
    wrapper: Callable[[Any], CommandWrapper]
    teardown: Callable[[Any], Awaitable[None]] | None = None
    description: str = ""

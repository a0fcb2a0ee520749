"""Codex test helpers: a per-test ``CODEX_HOME`` pointing at a scripted server, a recording sink.

Codex reads its model provider from ``$CODEX_HOME/config.toml``; a custom provider with
``wire_api = "responses"`` and ``supports_websockets = false`` makes it ``POST
{base_url}/responses`` over plain HTTP (the built-in ``openai`` provider cannot be redirected).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

FAKE_MODEL = "fake-model"
FAKE_API_KEY = "sk-test-not-a-real-key"


def write_codex_home(
    home: str | os.PathLike[str], base_url: str, *, model: str = FAKE_MODEL, retries: int = 0
) -> Path:
    """Create ``home`` with a ``config.toml`` using the scripted server at ``base_url``.

    Retries are off by default so a broken stream fails fast instead of reconnecting for minutes;
    ``retries`` sets how often Codex retries a failed request or stream.
    Returns the folder.
    """
    path = Path(home)
    path.mkdir(parents=True, exist_ok=True)
    config = f"""\
model = "{model}"
model_provider = "scripted"

[model_providers.scripted]
name = "scripted"
base_url = "{base_url}"
wire_api = "responses"
env_key = "OPENAI_API_KEY"
supports_websockets = false
request_max_retries = {retries}
stream_max_retries = {retries}
stream_idle_timeout_ms = 300000
"""
    (path / "config.toml").write_text(config)
    return path


def codex_env(home: str | os.PathLike[str]) -> dict[str, str]:
    """The extra environment for a Codex launched against ``home`` (for ``LaunchSpec.env``)."""
    return {"CODEX_HOME": str(home), "OPENAI_API_KEY": FAKE_API_KEY, "RUST_LOG": "warn"}


class RecordingSink:
    """An :class:`~jupyter_companion.backends.base.AdapterSink` that records everything it gets.

    ``wait_for`` lets async tests wait (with a generous safety timeout) until a recorded event
    satisfies a predicate.
    """

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self.phases: list[str] = []
        self.cli_session_ids: list[str] = []
        self.updates: list[dict[str, Any]] = []
        self.drifts: list[tuple[str, str]] = []
        self.exits: list[tuple[int | None, str]] = []
        self._changed: asyncio.Event | None = None

    def _notify(self) -> None:
        if self._changed is not None:
            self._changed.set()

    def emit(self, event: dict[str, Any]) -> None:
        """Record an event."""
        self.events.append(event)
        self._notify()

    def set_phase(self, phase: str) -> None:
        """Record a phase request."""
        self.phases.append(phase)
        self._notify()

    def set_cli_session_id(self, cli_session_id: str) -> None:
        """Record the CLI conversation id."""
        self.cli_session_ids.append(cli_session_id)

    def update(self, fields: dict[str, Any]) -> None:
        """Record a session update."""
        self.updates.append(fields)
        self._notify()

    def drift(self, what: str, detail: str = "") -> None:
        """Record a drift report."""
        self.drifts.append((what, detail))

    def on_exit(self, returncode: int | None, stderr_tail: str) -> None:
        """Record the process exit."""
        self.exits.append((returncode, stderr_tail))
        self._notify()

    def of_type(self, kind: str) -> list[dict[str, Any]]:
        """Recorded events of one type."""
        return [event for event in self.events if event.get("type") == kind]

    async def wait_for(self, predicate: Callable[[RecordingSink], Any], timeout: float = 90.0) -> Any:
        """Wait until ``predicate(self)`` is truthy and return its value (TimeoutError otherwise)."""
        if self._changed is None:
            self._changed = asyncio.Event()
        changed = self._changed

        async def poll() -> Any:
            while True:
                value = predicate(self)
                if value:
                    return value
                changed.clear()
                await changed.wait()

        return await asyncio.wait_for(poll(), timeout)

    async def wait_event(self, kind: str, after: int = 0, timeout: float = 90.0) -> dict[str, Any]:
        """Wait for the first event of type ``kind`` at index ``after`` or later."""

        def found(sink: RecordingSink) -> dict[str, Any] | None:
            return next((e for e in sink.events[after:] if e.get("type") == kind), None)

        return await self.wait_for(found, timeout)

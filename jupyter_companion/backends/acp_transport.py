"""The ACP SDK's message transport over our :class:`~.ndjson.LineProcess`.

The SDK's ``Connection`` takes any object with ``send``/``receive``/``close`` of decoded messages.
Ours sits on the process that frames lines of any size and keeps stderr, and filters on the way
in: update kinds and methods this client does not know are reported as protocol drift (and
unknown update kinds dropped, so the SDK never fails to validate them), and while a
``session/load`` runs the agent's replay of the conversation is dropped.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from .acp_protocol import CLIENT_METHODS, KNOWN_UPDATES
from .ndjson import LineProcess


class LineTransport:
    """The SDK's message ``Transport`` over a :class:`LineProcess`, dropping what it must not see:
    update kinds this client does not know (reported as drift) and, while a ``session/load``
    runs, the agent's replay of the conversation."""

    def __init__(self, drift: Callable[[str, str], None]):
        self.drift = drift
        self.proc: LineProcess | None = None
        self.replaying = False
        self._inbox: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue()

    def deliver(self, message: dict[str, Any]) -> None:
        """One message from the agent (called in the order the agent wrote them)."""
        method = message.get("method")
        if method is None:
            if "id" not in message:
                self.drift("acp message without method or id", str(message)[:300])
                return
            self.replaying = False  # the answer to session/load: what follows is new
        elif method == "session/update":
            update = (message.get("params") or {}).get("update")
            kind = update.get("sessionUpdate") if isinstance(update, dict) else None
            if kind not in KNOWN_UPDATES:
                self.drift(f"acp update {kind}", str(update)[:300])
                return
            if self.replaying:
                return
        elif method not in CLIENT_METHODS and not str(method).startswith("_"):
            self.drift(f"acp {'request' if 'id' in message else 'notification'} {method}", str(message)[:300])
        self._inbox.put_nowait(message)

    def closed(self) -> None:
        """The agent's output ended."""
        self._inbox.put_nowait(None)

    async def send(self, message: dict[str, Any]) -> None:
        """Write one message to the agent."""
        if self.proc is None:
            raise ConnectionError("the agent was not started")
        await self.proc.send(message)

    async def receive(self) -> dict[str, Any] | None:
        """The next message for the SDK (None at the end)."""
        return await self._inbox.get()

    async def close(self) -> None:
        """Nothing to do: the adapter stops the process."""

"""Idempotency of commands: the ``client_msg_id`` values a session has processed.

The newest ids are kept in memory; the store keeps all of them, so a repeat is also recognised
after a restart (read once, off the event loop, on first use).
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict

from ..store import Store

#: Ids kept in memory per session (the store has every one).
MAX_REMEMBERED_IDS = 5000


class ClientMessageIds:
    """The command ids one session has processed."""

    def __init__(self, store: Store, session_id: str):
        self.store = store
        self.session_id = session_id
        self._ids: OrderedDict[str, None] = OrderedDict()
        self._loaded = False

    async def seen(self, client_msg_id: str | None) -> bool:
        """True if a command with this id was processed before."""
        if not client_msg_id:
            return False
        if not self._loaded:
            ids = await asyncio.to_thread(self.store.client_msg_ids, self.session_id)
            for known in reversed(ids):
                self._ids.setdefault(known, None)
            self._loaded = True
        return client_msg_id in self._ids

    def remember(self, client_msg_id: str | None) -> None:
        """Record an id as processed (once the command succeeded)."""
        if not client_msg_id or client_msg_id in self._ids:
            return
        self._ids[client_msg_id] = None
        while len(self._ids) > MAX_REMEMBERED_IDS:
            self._ids.popitem(last=False)
        self.store.remember_client_msg(self.session_id, client_msg_id)

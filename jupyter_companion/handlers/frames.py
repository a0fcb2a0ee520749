"""Batched WebSocket text frames: every frame queued during one event-loop iteration goes out in
a single write.

Tornado's ``write_message`` costs a task and a ``send()`` per frame; a replay of 10k events or
50 busy sessions would spend most of the loop's time there. Frames stay one JSON event each
(API.md); only the writes are coalesced. Server-to-client frames are unmasked (RFC 6455 §5.1)
and these sockets never negotiate compression, so encoding them here is exact.
"""

from __future__ import annotations

import asyncio
import struct
from typing import Any

from tornado.iostream import StreamClosedError
from tornado.websocket import WebSocketClosedError

_TEXT_FIN = 0x81


def encode_text_frame(text: str) -> bytes:
    """One final, unmasked text frame carrying ``text``."""
    data = text.encode("utf-8")
    size = len(data)
    if size < 126:
        return struct.pack("!BB", _TEXT_FIN, size) + data
    if size < 1 << 16:
        return struct.pack("!BBH", _TEXT_FIN, 126, size) + data
    return struct.pack("!BBQ", _TEXT_FIN, 127, size) + data


class FrameBatcher:
    """Queues text frames for one WebSocket and flushes them once per loop iteration."""

    def __init__(self, handler: Any):
        self.handler = handler
        self._pending: list[bytes] = []

    def send(self, text: str) -> None:
        """Queue one frame; raises WebSocketClosedError when the socket is gone."""
        conn = self.handler.ws_connection
        if conn is None or conn.is_closing():
            raise WebSocketClosedError()
        if not self._pending:
            asyncio.get_running_loop().call_soon(self.flush)
        self._pending.append(encode_text_frame(text))

    def flush(self) -> None:
        """Write every queued frame at once."""
        pending, self._pending = self._pending, []
        conn = self.handler.ws_connection
        if not pending or conn is None or conn.is_closing():
            return
        try:
            written = conn.stream.write(b"".join(pending))
        except StreamClosedError:
            return
        written.add_done_callback(_consume_error)


def _consume_error(future: asyncio.Future[None]) -> None:
    if not future.cancelled():
        future.exception()  # a closed stream is noticed by on_close; nothing to report here

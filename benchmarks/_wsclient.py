"""A minimal asyncio WebSocket client for latency measurements (RFC 6455, text frames only).

General-purpose clients spend tens of microseconds per message in Python; when fifty frames
arrive together the last one would be stamped a millisecond late by the client alone. This one
stamps the arrival time once per socket read (``data_received``), before parsing, so the figure
is the server's latency plus the kernel's, not the client library's.
"""

from __future__ import annotations

import asyncio
import base64
import os
import struct
import time
from collections.abc import Callable


def _mask(payload: bytes) -> bytes:
    key = os.urandom(4)
    masked = bytes(b ^ key[i % 4] for i, b in enumerate(payload))
    return key + masked


def client_frame(text: str, opcode: int = 0x1) -> bytes:
    """A masked client frame."""
    payload = text.encode()
    size = len(payload)
    if size < 126:
        head = struct.pack("!BB", 0x80 | opcode, 0x80 | size)
    elif size < 1 << 16:
        head = struct.pack("!BBH", 0x80 | opcode, 0x80 | 126, size)
    else:
        head = struct.pack("!BBQ", 0x80 | opcode, 0x80 | 127, size)
    return head + _mask(payload)


class _Protocol(asyncio.Protocol):
    def __init__(self, on_text: Callable[[int, bytes], None]):
        self.on_text = on_text
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.handshake = True
        self.opened: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.closed: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.fragments = bytearray()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.opened.done():
            self.opened.set_exception(ConnectionError("closed during the handshake"))
        if not self.closed.done():
            self.closed.set_result(None)

    def data_received(self, data: bytes) -> None:
        now = time.monotonic_ns()
        buf = self.buffer
        buf += data
        if self.handshake:
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                return
            status = bytes(buf[:end]).split(b"\r\n", 1)[0]
            del buf[: end + 4]
            self.handshake = False
            if b" 101 " not in status:
                self.opened.set_exception(ConnectionError(status.decode(errors="replace")))
                return
            self.opened.set_result(None)
        pos = 0
        size = len(buf)
        while size - pos >= 2:
            b0, b1 = buf[pos], buf[pos + 1]
            length = b1 & 0x7F
            head = 2
            if length == 126:
                if size - pos < 4:
                    break
                length = struct.unpack_from("!H", buf, pos + 2)[0]
                head = 4
            elif length == 127:
                if size - pos < 10:
                    break
                length = struct.unpack_from("!Q", buf, pos + 2)[0]
                head = 10
            if size - pos < head + length:
                break
            payload = bytes(buf[pos + head: pos + head + length])
            pos += head + length
            opcode = b0 & 0x0F
            if opcode == 0x9 and self.transport is not None:  # ping -> pong
                self.transport.write(client_frame(payload.decode("latin-1"), 0xA))
            elif opcode == 0x8:
                if self.transport is not None:
                    self.transport.close()
            elif opcode in (0x1, 0x0):
                if not b0 & 0x80:
                    self.fragments += payload
                    continue
                if self.fragments:
                    payload = bytes(self.fragments) + payload
                    self.fragments.clear()
                self.on_text(now, payload)
        del buf[:pos]


class RawWebSocket:
    """One connection; ``on_text(arrival_ns, payload_bytes)`` is called for every text frame."""

    def __init__(self, protocol: _Protocol):
        self._protocol = protocol

    @classmethod
    async def connect(cls, host: str, port: int, path: str, headers: dict[str, str],
                      on_text: Callable[[int, bytes], None]) -> RawWebSocket:
        """Open the socket and complete the upgrade."""
        loop = asyncio.get_running_loop()
        _, protocol = await loop.create_connection(lambda: _Protocol(on_text), host, port)
        key = base64.b64encode(os.urandom(16)).decode()
        lines = [f"GET {path} HTTP/1.1", f"Host: {host}:{port}", "Upgrade: websocket", "Connection: Upgrade",
                 f"Sec-WebSocket-Key: {key}", "Sec-WebSocket-Version: 13"]
        lines += [f"{k}: {v}" for k, v in headers.items()]
        assert protocol.transport is not None
        protocol.transport.write(("\r\n".join(lines) + "\r\n\r\n").encode())
        await protocol.opened
        return cls(protocol)

    def send_text(self, text: str) -> None:
        """Send one text frame."""
        assert self._protocol.transport is not None
        self._protocol.transport.write(client_frame(text))

    def close(self) -> None:
        """Close the connection."""
        if self._protocol.transport is not None:
            self._protocol.transport.write(client_frame("", 0x8))
            self._protocol.transport.close()

    async def wait_closed(self) -> None:
        """Until the connection is gone."""
        await self._protocol.closed

"""Asyncio client: tornado's ``AsyncHTTPClient`` for REST and ``tornado.websocket`` for events."""

from __future__ import annotations

import asyncio
import json
import urllib.parse
from collections.abc import AsyncGenerator, Awaitable, Callable
from typing import Any

from tornado.httpclient import AsyncHTTPClient, HTTPClientError, HTTPRequest
from tornado.websocket import WebSocketClosedError, websocket_connect

from .errors import CompanionHTTPError, CompanionNotFound, CompanionProtocolError
from .routes import API_PREFIX, Routes, new_client_msg_id, session_body
from .sync import EventCallback, ProgressCallback, error_message, handle_progress_line, ws_url
from .turns import TurnOutcome, TurnTracker, is_pending


class AsyncCompanionClient(Routes[Awaitable[Any]]):
    """Asyncio twin of :class:`~jupyter_companion.client.CompanionClient`: same methods, awaited."""

    def _http_request(
        self,
        method: str,
        path: str,
        body: Any,
        query: dict[str, Any] | None,
        accept: str,
        streaming_callback: Callable[[bytes], None] | None = None,
    ) -> HTTPRequest:
        url = self.server.url + API_PREFIX + path
        if query:
            url += "?" + urllib.parse.urlencode(query)
        headers = {"Accept": accept}
        if self.server.token:
            headers["Authorization"] = f"token {self.server.token}"
        data: bytes | None = None
        if body is not None:
            data = json.dumps(body).encode("utf-8")
            headers["Content-Type"] = "application/json"
        elif method in ("POST", "PATCH", "PUT"):
            data = b""
        return HTTPRequest(
            url,
            method=method,
            headers=headers,
            body=data,
            request_timeout=self.timeout,
            streaming_callback=streaming_callback,
            allow_nonstandard_methods=True,
        )

    async def _fetch(self, request: HTTPRequest, method: str, path: str) -> Any:
        try:
            response = await AsyncHTTPClient().fetch(request, raise_error=False)
        except (OSError, HTTPClientError) as exc:
            raise CompanionNotFound(
                f"Could not reach the Jupyter server at {self.server.url}: {exc}"
            ) from None
        if response.code == 599:
            raise CompanionNotFound(
                f"Could not reach the Jupyter server at {self.server.url}: {response.error}"
            )
        return response

    async def _call(
        self,
        method: str,
        path: str,
        body: dict[str, Any] | None = None,
        query: dict[str, Any] | None = None,
        key: str | None = None,
    ) -> Any:
        request = self._http_request(method, path, body, query, "application/json")
        response = await self._fetch(request, method, path)
        raw = response.body or b""
        if response.code >= 400:
            message, decoded = error_message(raw, response.reason or "error")
            raise CompanionHTTPError(response.code, message, decoded, method=method, path=path)
        try:
            decoded = json.loads(raw.decode("utf-8")) if raw.strip() else {}
        except ValueError as exc:
            raise CompanionProtocolError(f"{method} {path}: answer is not JSON: {raw[:200]!r}") from exc
        return decoded.get(key, []) if key is not None and isinstance(decoded, dict) else decoded

    async def create_session(
        self,
        backend: str = "claude",
        *,
        on_progress: ProgressCallback | None = None,
        **fields: Any,
    ) -> dict[str, Any]:
        """``POST sessions``, optionally streaming NDJSON progress lines to ``on_progress``."""
        body = session_body(backend, **fields)
        if on_progress is None:
            return dict(await self._call("POST", "sessions", body=body))
        chunks: list[bytes] = []
        buffer = bytearray()
        found: list[dict[str, Any]] = []
        failure: list[BaseException] = []

        def on_chunk(chunk: bytes) -> None:
            chunks.append(chunk)
            buffer.extend(chunk)
            while b"\n" in buffer:
                line, _, rest = bytes(buffer).partition(b"\n")
                buffer[:] = rest
                _line(line)

        def _line(line: bytes) -> None:
            if not line.strip() or found or failure:
                return
            try:
                outcome = handle_progress_line(json.loads(line.decode("utf-8")), on_progress)
            except (ValueError, CompanionHTTPError, CompanionProtocolError) as exc:
                failure.append(exc)
                return
            if outcome is not None:
                found.append(outcome)

        request = self._http_request("POST", "sessions", body, None, "application/x-ndjson", on_chunk)
        response = await self._fetch(request, "POST", "sessions")
        if response.code >= 400:
            message, decoded = error_message(b"".join(chunks), response.reason or "error")
            raise CompanionHTTPError(response.code, message, decoded, method="POST", path="sessions")
        _line(bytes(buffer))
        if failure:
            raise failure[0]
        if found:
            return found[0]
        raise CompanionProtocolError("session creation stream ended without 'done' or 'error'")

    async def stream(
        self, session_id: str, after: int = 0, *, reconnect: int = 3
    ) -> AsyncGenerator[dict[str, Any], None]:
        """Async-iterate the session's events over the WebSocket (stored after ``after``, then live)."""
        last = after
        failures = 0
        while True:
            headers = {"Authorization": f"token {self.server.token}"} if self.server.token else {}
            request = HTTPRequest(ws_url(self.server, session_id, last), headers=headers)
            try:
                conn = await websocket_connect(request)
            except HTTPClientError as exc:
                raw = exc.response.body if exc.response is not None and exc.response.body else b""
                message, decoded = error_message(raw, str(exc))
                raise CompanionHTTPError(exc.code, message, decoded, method="WS", path=session_id) from None
            except OSError as exc:
                failures += 1
                if failures > reconnect:
                    raise CompanionNotFound(
                        f"Could not open the event stream of {session_id}: {exc}"
                    ) from None
                await asyncio.sleep(0.2 * failures)
                continue
            try:
                while True:
                    try:
                        frame = await conn.read_message()
                    except WebSocketClosedError:
                        frame = None
                    if frame is None:
                        break
                    failures = 0
                    event = json.loads(frame)
                    seq = event.get("seq")
                    if isinstance(seq, int):
                        if seq <= last:
                            continue
                        last = seq
                    yield event
            finally:
                conn.close()
            failures += 1
            if failures > reconnect:
                return
            await asyncio.sleep(0.2 * failures)

    async def follow(
        self,
        session_id: str,
        after: int,
        *,
        client_msg_id: str | None = None,
        on_event: EventCallback | None = None,
    ) -> TurnOutcome:
        """Follow events after ``after`` until the turn ends or stops at a pending permission."""
        tracker = TurnTracker(client_msg_id=client_msg_id, last_seq=after)
        events = self.stream(session_id, after)
        try:
            async for event in events:
                stop = tracker.feed(event)
                if on_event is not None:
                    on_event(event)
                if stop == "permission":
                    session = await self.get_session(session_id)
                    if not is_pending(session, str(event.get("request_id"))):
                        continue
                if stop is not None:
                    return TurnOutcome(stop, event, tracker.last_seq, session_id)
        finally:
            await events.aclose()
        return TurnOutcome("closed", None, tracker.last_seq, session_id)

    async def run_turn(
        self,
        session_id: str,
        text: str,
        on_event: EventCallback | None = None,
        *,
        images: list[dict[str, str]] | None = None,
    ) -> TurnOutcome:
        """Send ``text`` and follow the turn until its ``result`` or a pending permission request."""
        session = await self.get_session(session_id)
        after = int(session.get("last_seq") or 0)
        msg_id = new_client_msg_id()
        await self.send_message(session_id, text, images=images, client_msg_id=msg_id)
        return await self.follow(session_id, after, client_msg_id=msg_id, on_event=on_event)

    async def answer_and_follow(
        self,
        session_id: str,
        request_id: str,
        behavior: str,
        on_event: EventCallback | None = None,
        *,
        message: str | None = None,
    ) -> TurnOutcome:
        """Answer a permission request, then follow the rest of the turn."""
        session = await self.get_session(session_id)
        after = int(session.get("last_seq") or 0)
        await self.respond_permission(session_id, request_id, behavior, message=message)
        return await self.follow(session_id, after, on_event=on_event)

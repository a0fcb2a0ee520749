"""Blocking client: stdlib ``urllib`` for REST, ``websocket-client`` for the event stream."""

from __future__ import annotations

import contextlib
import json
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Generator
from typing import Any

from .discovery import ServerInfo
from .errors import CompanionError, CompanionHTTPError, CompanionNotFound, CompanionProtocolError
from .routes import API_PREFIX, WS_PREFIX, Routes, new_client_msg_id, quote, session_body
from .turns import TurnOutcome, TurnTracker, is_pending

EventCallback = Callable[[dict[str, Any]], None]
ProgressCallback = Callable[[dict[str, Any]], None]


def error_message(raw: bytes, fallback: str) -> tuple[str, Any]:
    """The ``error`` field of a JSON error body (and the decoded body), or ``fallback``."""
    try:
        body = json.loads(raw.decode("utf-8"))
    except (ValueError, UnicodeDecodeError):
        text = raw.decode("utf-8", "replace").strip()
        return (text[:500] or fallback), None
    if isinstance(body, dict):
        return str(body.get("error") or body.get("message") or fallback), body
    return fallback, body


def _ws_base(server: ServerInfo) -> str:
    base = server.url
    if base.startswith("https://"):
        return "wss://" + base[len("https://") :]
    if base.startswith("http://"):
        return "ws://" + base[len("http://") :]
    return base


def ws_url(server: ServerInfo, session_id: str, after: int) -> str:
    """The WebSocket URL of a session's event stream. The token travels in the ``Authorization``
    header only: a URL ends up in proxy and server logs."""
    return f"{_ws_base(server)}{WS_PREFIX}{quote(session_id)}?{urllib.parse.urlencode({'after': str(after)})}"


def feed_url(server: ServerInfo) -> str:
    """The WebSocket URL of the sessions feed (``companion/ws/sessions``); token in the header."""
    return f"{_ws_base(server)}{WS_PREFIX.rstrip('/')}"


def apply_feed_frame(sessions: dict[str, dict[str, Any]], frame: dict[str, Any]) -> bool:
    """Fold one sessions-feed frame into ``sessions`` (by id); True when it changed anything."""
    kind = frame.get("type")
    if kind == "sessions" and isinstance(frame.get("sessions"), list):
        sessions.clear()
        sessions.update((str(s["id"]), s) for s in frame["sessions"] if isinstance(s, dict) and "id" in s)
        return True
    if kind == "session_changed" and isinstance(frame.get("session"), dict) and "id" in frame["session"]:
        sessions[str(frame["session"]["id"])] = frame["session"]
        return True
    if kind == "session_removed" and sessions.pop(str(frame.get("session_id")), None) is not None:
        return True
    return False


class CompanionClient(Routes[Any]):
    """Synchronous client of one companion server.

    ``CompanionClient()`` discovers the server (see :func:`discover`); pass ``url``/``token`` or
    a :class:`ServerInfo` to choose it. Every REST route of API.md is a method; :meth:`stream`
    iterates a session's events over the WebSocket and :meth:`run_turn` sends a message and
    follows it to its end or to a pending permission request.
    """

    # -- transport -----------------------------------------------------------------------------
    def _request(self, method: str, path: str, body: Any, query: dict[str, Any] | None, accept: str) -> Any:
        url = self.server.url + API_PREFIX + path
        if query:
            url += "?" + urllib.parse.urlencode(query)
        data = None if body is None else json.dumps(body).encode("utf-8")
        req = urllib.request.Request(url, data=data, method=method)
        req.add_header("Accept", accept)
        if data is not None:
            req.add_header("Content-Type", "application/json")
        if self.server.token:
            req.add_header("Authorization", f"token {self.server.token}")
        try:
            return urllib.request.urlopen(req, timeout=self.timeout)  # noqa: S310 - http(s) URL
        except urllib.error.HTTPError as exc:
            message, decoded = error_message(exc.read(), exc.reason or "error")
            raise CompanionHTTPError(exc.code, message, decoded, method=method, path=path) from None
        except (urllib.error.URLError, ConnectionError) as exc:
            raise CompanionNotFound(
                f"Could not reach the Jupyter server at {self.server.url}: {getattr(exc, 'reason', exc)}"
            ) from None

    def _call(
        self,
        method: str,
        path: str,
        body: dict[str, Any] | None = None,
        query: dict[str, Any] | None = None,
        key: str | None = None,
    ) -> Any:
        with self._request(method, path, body, query, "application/json") as resp:
            raw = resp.read()
        try:
            decoded = json.loads(raw.decode("utf-8")) if raw.strip() else {}
        except ValueError as exc:
            raise CompanionProtocolError(f"{method} {path}: answer is not JSON: {raw[:200]!r}") from exc
        return decoded.get(key, []) if key is not None and isinstance(decoded, dict) else decoded

    def download_recording(self, rec_id: str) -> bytes:
        """``GET recordings/{id}``: the recording's JSON lines."""
        with self._request("GET", f"recordings/{urllib.parse.quote(rec_id, safe='')}", None, None,
                           "application/x-ndjson") as resp:
            return bytes(resp.read())

    # -- sessions with progress ------------------------------------------------------------------
    def create_session(
        self,
        backend: str = "claude",
        *,
        on_progress: ProgressCallback | None = None,
        **fields: Any,
    ) -> dict[str, Any]:
        """``POST sessions``; with ``on_progress`` the NDJSON progress lines are passed to it.

        Answers the session object; a failed creation raises :class:`CompanionHTTPError`.
        """
        body = session_body(backend, **fields)
        if on_progress is None:
            result: dict[str, Any] = self._call("POST", "sessions", body=body)
            return result
        with self._request("POST", "sessions", body, None, "application/x-ndjson") as resp:
            ctype = resp.headers.get("Content-Type", "")
            if "ndjson" not in ctype:
                return dict(json.loads(resp.read().decode("utf-8")))
            for raw_line in resp:
                line = raw_line.strip()
                if not line:
                    continue
                try:
                    item = json.loads(line.decode("utf-8"))
                except ValueError as exc:
                    raise CompanionProtocolError(f"bad progress line: {line[:200]!r}") from exc
                outcome = handle_progress_line(item, on_progress)
                if outcome is not None:
                    return outcome
        raise CompanionProtocolError("session creation stream ended without 'done' or 'error'")

    # -- events -----------------------------------------------------------------------------------
    def all_events(self, session_id: str, after: int = 0, page: int = 500) -> list[dict[str, Any]]:
        """Every stored event with ``seq > after`` (pages through ``GET events``)."""
        out: list[dict[str, Any]] = []
        while True:
            answer = self.events(session_id, after=after, limit=page)
            batch = answer.get("events", [])
            out.extend(batch)
            if len(batch) < page or not batch:
                return out
            after = max(int(e.get("seq") or after) for e in batch)

    def stream(
        self,
        session_id: str,
        after: int = 0,
        *,
        idle_timeout: float | None = None,
        reconnect: int = 3,
        stop: threading.Event | None = None,
    ) -> Generator[dict[str, Any], None, None]:
        """Iterate the session's events over the WebSocket: stored ones after ``after``, then live.

        Reconnects (up to ``reconnect`` times, resuming after the last seq seen) when the socket
        drops; never yields a stored event twice. ``idle_timeout`` ends the iteration with
        ``TimeoutError`` when nothing arrives for that long; setting ``stop`` (checked at least
        once a second) ends it quietly, from any thread.
        """
        try:
            import websocket  # noqa: F401  (websocket-client, from the "notebook" extra)
        except ImportError:  # still works without it, by polling (no live text deltas)
            yield from self.poll(session_id, after, idle_timeout=idle_timeout, stop=stop)
            return

        last = after

        def url() -> str:  # resumes after the last stored event seen
            return ws_url(self.server, session_id, last)

        for event in self._frames(url, session_id, f"the event stream of {session_id}",
                                  stop=stop, reconnect=reconnect, idle_timeout=idle_timeout):
            seq = event.get("seq")
            if isinstance(seq, int):
                if seq <= last:
                    continue
                last = seq
            yield event

    def _frames(
        self,
        url: Callable[[], str],
        path: str,
        what: str,
        *,
        stop: threading.Event | None,
        reconnect: int,
        idle_timeout: float | None = None,
    ) -> Generator[dict[str, Any], None, None]:
        """The JSON frames of a WebSocket, reopened at ``url()`` (up to ``reconnect`` times in a row)
        when it drops; ``idle_timeout`` raises TimeoutError after that long without a frame and
        ``stop`` (checked at least once a second) ends the iteration quietly."""
        import websocket  # websocket-client, from the "notebook" extra

        failures = 0
        headers = [f"Authorization: token {self.server.token}"] if self.server.token else []
        poll = min(idle_timeout or 1.0, 1.0) if stop is not None else idle_timeout
        while stop is None or not stop.is_set():
            try:
                conn = websocket.create_connection(url(), header=headers, timeout=poll)
            except websocket.WebSocketBadStatusException as exc:
                message, decoded = error_message(getattr(exc, "resp_body", b"") or b"", str(exc))
                raise CompanionHTTPError(exc.status_code, message, decoded, method="WS", path=path) from None
            except (OSError, websocket.WebSocketException) as exc:
                failures += 1
                if failures > reconnect:
                    raise CompanionNotFound(f"Could not open {what}: {exc}") from None
                time.sleep(0.2 * failures)
                continue
            quiet_since = time.monotonic()
            try:
                while stop is None or not stop.is_set():
                    try:
                        frame = conn.recv()
                    except websocket.WebSocketTimeoutException:
                        if idle_timeout is not None and time.monotonic() - quiet_since >= idle_timeout:
                            raise TimeoutError(f"nothing from {what} for {idle_timeout}s") from None
                        continue
                    except (websocket.WebSocketConnectionClosedException, ConnectionError, OSError):
                        break
                    if not frame:
                        break
                    failures = 0
                    quiet_since = time.monotonic()
                    yield json.loads(frame)
            finally:
                conn.close()
            if stop is not None and stop.is_set():
                return
            failures += 1
            if failures > reconnect:
                return
            time.sleep(0.2 * failures)

    def watch_sessions(
        self, *, stop: threading.Event | None = None, reconnect: int = 3
    ) -> Generator[list[dict[str, Any]], None, None]:
        """Yield every session (archived ones included, oldest first) now and after each change.

        Follows the sessions feed (``companion/ws/sessions``); a dropped socket is reopened (up
        to ``reconnect`` times in a row) and starts again from a fresh snapshot. Setting ``stop``
        (checked at least once a second) ends the iteration from any thread.
        """
        sessions: dict[str, dict[str, Any]] = {}
        for frame in self._frames(lambda: feed_url(self.server), "sessions", "the sessions feed",
                                  stop=stop, reconnect=reconnect):
            if apply_feed_frame(sessions, frame):
                yield sorted(sessions.values(), key=lambda s: str(s.get("created_at") or ""))

    def poll(
        self,
        session_id: str,
        after: int = 0,
        *,
        interval: float = 0.5,
        idle_timeout: float | None = None,
        stop: threading.Event | None = None,
    ) -> Generator[dict[str, Any], None, None]:
        """Like :meth:`stream` over ``GET events`` polling (stored events only, no deltas)."""
        last = after
        quiet_since = time.monotonic()
        while stop is None or not stop.is_set():
            batch = self.events(session_id, after=last, limit=500).get("events", [])
            for event in batch:
                last = max(last, int(event.get("seq") or last))
                yield event
            if batch:
                quiet_since = time.monotonic()
                continue
            if idle_timeout is not None and time.monotonic() - quiet_since >= idle_timeout:
                raise TimeoutError(f"no event from session {session_id} for {idle_timeout}s")
            if stop is not None:
                stop.wait(interval)
            else:
                time.sleep(interval)

    def follow(
        self,
        session_id: str,
        after: int,
        *,
        client_msg_id: str | None = None,
        on_event: EventCallback | None = None,
        idle_timeout: float | None = None,
    ) -> TurnOutcome:
        """Follow events after ``after`` until the turn ends or stops at a pending permission."""
        tracker = TurnTracker(client_msg_id=client_msg_id, last_seq=after)
        with contextlib.closing(self.stream(session_id, after, idle_timeout=idle_timeout)) as events:
            for event in events:
                stop = tracker.feed(event)
                if on_event is not None:
                    on_event(event)
                if stop == "permission":
                    request_id = str(event.get("request_id"))
                    if not is_pending(self.get_session(session_id), request_id):
                        continue
                if stop is not None:
                    return TurnOutcome(stop, event, tracker.last_seq, session_id)
        return TurnOutcome("closed", None, tracker.last_seq, session_id)

    def run_turn(
        self,
        session_id: str,
        text: str,
        on_event: EventCallback | None = None,
        *,
        images: list[dict[str, str]] | None = None,
        idle_timeout: float | None = None,
    ) -> TurnOutcome:
        """Send ``text`` and follow the turn until its ``result`` or a pending permission request."""
        after = int(self.get_session(session_id).get("last_seq") or 0)
        msg_id = new_client_msg_id()
        self.send_message(session_id, text, images=images, client_msg_id=msg_id)
        return self.follow(
            session_id, after, client_msg_id=msg_id, on_event=on_event, idle_timeout=idle_timeout
        )

    def retry_and_follow(
        self, session_id: str, on_event: EventCallback | None = None, *, idle_timeout: float | None = None
    ) -> TurnOutcome:
        """Send the last prompt again and follow that turn (as :meth:`run_turn`)."""
        after = int(self.get_session(session_id).get("last_seq") or 0)
        msg_id = new_client_msg_id()
        self.retry_prompt(session_id, client_msg_id=msg_id)
        return self.follow(session_id, after, client_msg_id=msg_id, on_event=on_event, idle_timeout=idle_timeout)

    def answer_and_follow(
        self,
        session_id: str,
        request_id: str,
        behavior: str,
        on_event: EventCallback | None = None,
        *,
        message: str | None = None,
        idle_timeout: float | None = None,
    ) -> TurnOutcome:
        """Answer a permission request, then follow the rest of the turn."""
        after = int(self.get_session(session_id).get("last_seq") or 0)
        self.respond_permission(session_id, request_id, behavior, message=message)
        return self.follow(session_id, after, on_event=on_event, idle_timeout=idle_timeout)


def handle_progress_line(item: Any, on_progress: ProgressCallback) -> dict[str, Any] | None:
    """Dispatch one NDJSON line of a create stream; answer the session when it is ``done``."""
    if not isinstance(item, dict):
        raise CompanionProtocolError(f"bad progress line: {item!r}")
    kind = item.get("type")
    if kind == "progress":
        on_progress(item)
        return None
    if kind == "done":
        return dict(item.get("session") or {})
    if kind == "error":
        raise CompanionHTTPError(
            int(item.get("status") or 500),
            str(item.get("error") or "session creation failed"),
            item,
            method="POST",
            path="sessions",
        )
    if "id" in item and "backend" in item:  # a plain session object
        return dict(item)
    return None


_default: CompanionClient | None = None


def connect(url: str | None = None, token: str | None = None, **kwargs: Any) -> CompanionClient:
    """Connect to a server (explicitly, or by discovery) and make it the default client."""
    global _default
    _default = CompanionClient(url, token, **kwargs)
    return _default


def default_client() -> CompanionClient:
    """The client set by :func:`connect`, else a newly discovered one (which becomes the default)."""
    global _default
    if _default is None:
        _default = CompanionClient()
    return _default


def reset_default() -> None:
    """Forget the default client (the next :func:`default_client` discovers again)."""
    global _default
    _default = None


__all__ = ["CompanionClient", "CompanionError", "connect", "default_client", "reset_default"]

"""``companion/api/recordings``: list the CLI protocol recordings, download one, upload one.

A recording holds what an agent CLI and this server said to each other (prompts and answers
included), so reading one needs the same ``read`` permission as a session's events; uploading one
(it can become a replay session) needs ``write``.
"""

from __future__ import annotations

import asyncio
import re

from jupyter_server.auth.decorator import authorized
from tornado import web

from ..errors import ApiError
from ..export import content_disposition
from .base import CompanionAPIHandler

_SESSION_ID = re.compile(r"[0-9a-f]{32}")


class RecordingsHandler(CompanionAPIHandler):
    """``GET recordings?session_id=`` and ``POST recordings`` (a JSONL body)."""

    @web.authenticated
    @authorized
    async def get(self) -> None:
        """``{recordings: [{id, session_id, backend, started_at, lines, bytes}]}``, newest first
        (``query``: those whose id or backend contains it)."""
        session_id = self.get_argument("session_id", "") or None
        if session_id is not None and not _SESSION_ID.fullmatch(session_id):
            raise ApiError(400, "'session_id' must be a session id")
        query = self.get_argument("query", "")[:200]
        await asyncio.to_thread(self.orch.recorder.flush)
        found = await asyncio.to_thread(self.orch.recordings.summaries, session_id, query)
        self.send_json({"recordings": found})

    @web.authenticated
    @authorized
    async def post(self) -> None:
        """Store an uploaded recording: 201 ``{id, backend, lines}``."""
        self.send_json(await asyncio.to_thread(self.orch.recordings.upload, self.request.body or b""), status=201)


class RecordingHandler(CompanionAPIHandler):
    """``GET recordings/{id}``: the JSONL file."""

    @web.authenticated
    @authorized
    async def get(self, rec_id: str) -> None:
        """The recording as a download."""
        path = self.orch.recordings.path(rec_id)
        await asyncio.to_thread(self.orch.recorder.flush)
        data = await asyncio.to_thread(_read, path)
        self.set_header("Content-Type", "application/x-ndjson; charset=utf-8")
        self.set_header("Content-Disposition", content_disposition(f"{rec_id}.jsonl"))
        self.finish(data)


def _read(path: str) -> bytes:
    with open(path, "rb") as handle:
        return handle.read()


def recordings_handlers() -> list[tuple[str, type]]:
    """Route table (patterns relative to ``base_url``)."""
    api = r"/companion/api"
    return [
        (rf"{api}/recordings", RecordingsHandler),
        (rf"{api}/recordings/(?P<rec_id>[^/]{{1,200}})", RecordingHandler),
    ]

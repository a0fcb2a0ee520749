"""The recordings on disk: listing, reading one, and taking an upload (a recording from someone
else's bug report). Every id is checked and every path stays inside the recordings folder."""

from __future__ import annotations

import datetime as dt
import json
import os
import secrets
from typing import Any

from ..errors import ApiError
from .recorder import RECORDING_ID, count_lines

#: Largest upload accepted (bytes).
MAX_UPLOAD = 64 * 1024 * 1024
DIRECTIONS = ("in", "out", "err")


def read_header(path: str) -> dict[str, Any] | None:
    """A recording file's header line, or None when it has none (blocking)."""
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            first = handle.readline(1_000_000)
        header = json.loads(first)
    except (OSError, ValueError):
        return None
    return header if isinstance(header, dict) and header.get("_header") else None


class RecordingLibrary:
    """The recordings folder as the API sees it."""

    def __init__(self, folder: str):
        self.folder = folder

    def path(self, rec_id: str) -> str:
        """The file of a recording (404 when there is none such)."""
        if not isinstance(rec_id, str) or not RECORDING_ID.fullmatch(rec_id) or rec_id.startswith("."):
            raise ApiError(404, "no such recording")
        path = os.path.join(self.folder, rec_id + ".jsonl")
        real = os.path.realpath(path)
        if os.path.dirname(real) != os.path.realpath(self.folder) or not os.path.isfile(real):
            raise ApiError(404, f"no recording {rec_id[:80]!r}")
        return real

    def header(self, rec_id: str) -> dict[str, Any]:
        """A recording's header (404 when there is none such or it has none; blocking)."""
        header = read_header(self.path(rec_id))
        if header is None:
            raise ApiError(404, f"the recording {rec_id[:80]!r} has no header")
        return header

    def summaries(self, session_id: str | None = None, query: str = "") -> list[dict[str, Any]]:
        """``[{id, session_id, backend, started_at, lines, bytes}]``, newest first, those of a
        session or whose id or backend contains ``query`` (blocking)."""
        try:
            names = [n for n in os.listdir(self.folder) if n.endswith(".jsonl")]
        except OSError:
            return []
        found = []
        for name in names:
            path = os.path.join(self.folder, name)
            header = read_header(path)
            if header is None or (session_id and header.get("session_id") != session_id):
                continue
            if query and query.casefold() not in f"{name} {header.get('backend')}".casefold():
                continue
            try:
                size = os.path.getsize(path)
            except OSError:
                continue
            found.append({"id": name[: -len(".jsonl")], "session_id": header.get("session_id"),
                          "backend": header.get("backend"), "started_at": header.get("started_at"),
                          "cli": header.get("cli"), "uploaded": bool(header.get("uploaded")),
                          "lines": count_lines(path), "bytes": size})
        return sorted(found, key=lambda r: str(r.get("started_at") or ""), reverse=True)

    def load(self, rec_id: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        """A recording's header and entries (blocking)."""
        path = self.path(rec_id)
        with open(path, encoding="utf-8", errors="replace") as handle:
            lines = handle.read().splitlines()
        header, entries = parse(lines)
        return header, entries

    def upload(self, body: bytes) -> dict[str, Any]:
        """Store an uploaded recording under a new id; ApiError 400/413 for anything that is not one."""
        if len(body) > MAX_UPLOAD:
            raise ApiError(413, f"a recording may be at most {MAX_UPLOAD // (1024 * 1024)} MB")
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ApiError(400, "a recording is UTF-8 JSON lines") from exc
        header, entries = parse(text.splitlines())
        source = str(header.get("session_id") or "unknown")
        safe = "".join(c for c in source if c.isalnum())[:40] or "unknown"
        stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%S")
        rec_id = f"upload_{safe}_{header['backend']}_{stamp}_{secrets.token_hex(3)}"
        header = {**header, "id": rec_id, "uploaded": True}
        os.makedirs(self.folder, mode=0o700, exist_ok=True)
        fd = os.open(os.path.join(self.folder, rec_id + ".jsonl"), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            for entry in [header, *entries]:
                handle.write(json.dumps(entry, ensure_ascii=False) + "\n")
        return {"id": rec_id, "backend": header["backend"], "lines": len(entries) + 1}


def parse(lines: list[str]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Header and entries of a recording's lines; ApiError 400 naming the first bad line."""
    lines = [line for line in lines if line.strip()]
    if not lines:
        raise ApiError(400, "the recording is empty")
    try:
        header = json.loads(lines[0])
    except ValueError as exc:
        raise ApiError(400, "line 1 of the recording is not JSON") from exc
    if not isinstance(header, dict) or header.get("_header") is not True or header.get("version") != 1:
        raise ApiError(400, "line 1 must be the recording's header ({\"_header\": true, \"version\": 1, ...})")
    backend = header.get("backend")
    if not isinstance(backend, str) or not RECORDING_ID.fullmatch(backend):
        raise ApiError(400, "the header must name the backend it recorded")
    entries = []
    for number, line in enumerate(lines[1:], start=2):
        try:
            entry = json.loads(line)
        except ValueError as exc:
            raise ApiError(400, f"line {number} of the recording is not JSON") from exc
        if not isinstance(entry, dict) or not isinstance(entry.get("t"), (int, float)):
            raise ApiError(400, f"line {number} of the recording has no time 't'")
        if "event" in entry:
            entries.append(entry)
            continue
        if entry.get("dir") not in DIRECTIONS or not isinstance(entry.get("raw"), str):
            raise ApiError(400, f"line {number} of the recording needs 'dir' (in, out, err) and 'raw'")
        entries.append(entry)
    return header, entries

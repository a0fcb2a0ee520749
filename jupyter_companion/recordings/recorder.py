"""The raw protocol of every CLI process, one JSONL file per process, written off the event loop.

A file starts with a header ``{"_header": true, "version": 1, "id", "session_id", "backend",
"started_at", "cwd", "cli"}`` followed by one line per message: ``{"t": seconds since the process
started, "dir": "in" (to the CLI) | "out" (from the CLI) | "err" (its stderr), "raw": the line as
it crossed the pipe}`` and, last, ``{"t", "event": "exit", "code"}`` (or ``"truncated"`` when the
file reached its line limit). Values of the CLI's secret-looking environment variables are
replaced by ``[redacted:NAME]`` before anything is written; the environment itself is never
recorded.

Taps only put ``(handle, t, dir, bytes)`` on a queue: a writer thread encodes and writes, and
enforces the per-file limit; rotation (total lines, age) runs at start and every few minutes.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import queue
import re
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger("jupyter_companion.recordings")

#: Names of environment variables whose values are never written.
SECRET_NAME = re.compile(r"KEY|TOKEN|SECRET|PASSW|CREDENTIAL|AUTH", re.I)
#: Shortest value redacted (shorter ones would replace ordinary words).
MIN_SECRET_CHARS = 8
RECORDING_ID = re.compile(r"[A-Za-z0-9_.-]{1,160}")
ROTATE_EVERY = 300.0
#: Most queued entries encoded before one write per file.
MAX_BATCH = 5000
#: The writer's pause after a batch (seconds).
BATCH_PAUSE = 0.05
#: A str as a JSON string (the C encoder json.dumps uses).
_json_string = json.encoder.encode_basestring


@dataclass
class RecorderConfig:
    """Where and how much is recorded."""

    folder: str
    enabled: bool = True
    max_lines: int = 1_000_000
    max_lines_per_file: int = 200_000
    max_age_days: float = 30.0


@dataclass
class _File:
    path: str
    started: float
    redactions: list[tuple[bytes, bytes]]
    lines: int = 0
    closed: bool = False
    handle: Any = None
    #: Encoded lines not written yet.
    pending: list[str] = field(default_factory=list)


class Tap:
    """What a session's CLI process records through: ``tap(direction, raw)`` for each line,
    ``close(code)`` when it ends. Cheap: it only queues. A file exists from the first line on (a
    launch that never ran a process leaves nothing); lines after a ``close`` (an adapter that
    starts its CLI again) go to a new file."""

    def __init__(self, recorder: Recorder, session_id: str, backend: str, cwd: str, cli: str,
                 redactions: list[tuple[bytes, bytes]]):
        self.recorder = recorder
        self.meta = {"session_id": session_id, "backend": backend, "cwd": cwd, "cli": os.path.basename(cli)}
        self.redactions = redactions
        self.file: _File | None = None
        #: The ids of the files this tap wrote, oldest first.
        self.ids: list[str] = []

    def __call__(self, direction: str, raw: bytes) -> None:
        """Record one line (``in``, ``out`` or ``err``)."""
        file = self.file
        if file is None:
            file = self.file = self._new_file()
        self.recorder._queue.put((file, time.monotonic() - file.started, direction, raw))

    def close(self, code: int | None = None) -> None:
        """The process ended: note it and close its file."""
        file, self.file = self.file, None
        if file is not None:
            self.recorder._queue.put((file, time.monotonic() - file.started, "exit", code))

    def _new_file(self) -> _File:
        stamp = dt.datetime.now(dt.timezone.utc)
        rec_id = (f"{self.meta['session_id']}_{self.meta['backend']}_{stamp.strftime('%Y%m%dT%H%M%S')}_"
                  f"{secrets.token_hex(3)}")
        file = _File(os.path.join(self.recorder.config.folder, rec_id + ".jsonl"), time.monotonic(), self.redactions)
        header = {"_header": True, "version": 1, "id": rec_id, **self.meta, "started_at": stamp.isoformat()}
        self.recorder._queue.put((file, 0.0, "header", header))
        self.ids.append(rec_id)
        return file


def _redactions(env: dict[str, str]) -> list[tuple[bytes, bytes]]:
    pairs = [(value.encode(), f"[redacted:{name}]".encode()) for name, value in env.items()
             if SECRET_NAME.search(name) and len(value) >= MIN_SECRET_CHARS]
    return sorted(pairs, key=lambda p: -len(p[0]))


class Recorder:
    """Opens a recording per CLI process and writes them all from one thread."""

    def __init__(self, config: RecorderConfig):
        self.config = config
        self._queue: queue.SimpleQueue[tuple[_File | None, float, str, Any] | None] = queue.SimpleQueue()
        self._open: dict[str, _File] = {}
        self._thread: threading.Thread | None = None
        self._last_rotation = 0.0

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> None:
        """Create the folder (0700), rotate, and start the writer thread (blocking: off the loop)."""
        if not self.config.enabled or self._thread is not None:
            return
        os.makedirs(self.config.folder, mode=0o700, exist_ok=True)
        os.chmod(self.config.folder, 0o700)
        self.rotate()
        self._thread = threading.Thread(target=self._write_loop, name="companion-recorder", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Write what is queued and close every file."""
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join(timeout)
            self._thread = None

    def open(self, session_id: str, backend: str, cwd: str, cli: str, env: dict[str, str]) -> Tap | None:
        """A tap for a session's CLI process (None when recording is off)."""
        if not self.config.enabled or self._thread is None:
            return None
        return Tap(self, session_id, backend, cwd, cli, _redactions(env))

    # -- the writer ------------------------------------------------------------------------

    def _write_loop(self) -> None:
        while True:
            batch = [self._queue.get()]
            while len(batch) < MAX_BATCH:  # what queued meanwhile goes out with one write per file
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            written: dict[str, _File] = {}
            stop = False
            for item in batch:
                if item is None:
                    stop = True
                    continue
                file, t, direction, payload = item
                if file is None:  # a flush marker: everything before it is written
                    self._write_out(written)
                    for open_file in list(self._open.values()):
                        open_file.handle.flush()
                    payload.set()
                    continue
                try:
                    self._add(file, t, direction, payload)
                    written[file.path] = file
                except Exception:  # a full disk must not stop the recorder for the other sessions
                    log.exception("recording write failed")
            self._write_out(written)
            if stop:
                break
            time.sleep(BATCH_PAUSE)  # let lines gather: fewer, larger batches take the GIL less often
            if time.monotonic() - self._last_rotation > ROTATE_EVERY:
                self.rotate()
        for file in list(self._open.values()):
            self._close(file)

    def _write_out(self, files: dict[str, _File]) -> None:
        for file in files.values():
            if file.pending and file.handle is not None:
                try:
                    file.handle.write("".join(file.pending))
                except (OSError, ValueError):
                    log.exception("recording write failed")
            file.pending.clear()
            if file.closed and file.handle is not None:
                file.handle.close()
                file.handle = None
        files.clear()

    def _add(self, file: _File, t: float, direction: str, payload: Any) -> None:
        """Encode one entry onto its file's pending lines (written by :meth:`_write_out`)."""
        if file.closed:
            return
        if direction == "header":
            fd = os.open(file.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            file.handle = os.fdopen(fd, "w", encoding="utf-8")
            self._open[file.path] = file
            line = json.dumps(payload, ensure_ascii=False)
        elif file.lines >= self.config.max_lines_per_file or direction == "exit":
            if direction == "exit":
                line = json.dumps({"t": round(t, 6), "event": "exit", "code": payload})
            else:
                line = json.dumps({"t": round(t, 6), "event": "truncated", "limit": self.config.max_lines_per_file})
            direction = "exit"
        else:
            raw = payload
            for secret, replacement in file.redactions:
                if secret in raw:
                    raw = raw.replace(secret, replacement)
            line = f'{{"t": {t:.6f}, "dir": "{direction}", "raw": {_json_string(raw.decode("utf-8", "replace"))}}}'
        file.pending.append(line + "\n")
        file.lines += 1
        if direction == "exit":
            file.closed = True
            self._open.pop(file.path, None)

    def _close(self, file: _File) -> None:
        file.closed = True
        if file.handle is not None:
            if file.pending:
                file.handle.write("".join(file.pending))
                file.pending.clear()
            file.handle.close()
            file.handle = None
        self._open.pop(file.path, None)

    def flush(self, timeout: float = 10.0) -> None:
        """Wait until everything queued so far is written (blocking: off the loop)."""
        if self._thread is None:
            return
        done = threading.Event()
        self._queue.put((None, 0.0, "flush", done))
        done.wait(timeout)

    # -- rotation --------------------------------------------------------------------------

    def rotate(self) -> None:
        """Delete recordings older than the age limit, then the oldest ones while all of them
        hold more lines than the limit (never a file being written)."""
        self._last_rotation = time.monotonic()
        folder = self.config.folder
        try:
            names = [n for n in os.listdir(folder) if n.endswith(".jsonl")]
        except OSError:
            return
        now = time.time()
        files = []
        for name in names:
            path = os.path.join(folder, name)
            try:
                stat = os.stat(path)
            except OSError:
                continue
            if path in self._open:
                continue
            if now - stat.st_mtime > self.config.max_age_days * 86400:
                _remove(path)
                continue
            files.append((stat.st_mtime, path))
        files.sort()
        total = sum(count_lines(p) for _, p in files) + sum(f.lines for f in self._open.values())
        for _, path in files:
            if total <= self.config.max_lines:
                break
            total -= count_lines(path)
            _remove(path)


_line_counts: dict[str, tuple[int, int, int]] = {}
_counts_lock = threading.Lock()


def count_lines(path: str) -> int:
    """Lines in a file (0 when it cannot be read); a file unchanged since it was last counted
    (same size and mtime) is not read again -- listings and rotation count every recording."""
    try:
        stat = os.stat(path)
        with _counts_lock:
            known = _line_counts.get(path)
        if known is not None and known[:2] == (stat.st_size, stat.st_mtime_ns):
            return known[2]
        with open(path, "rb") as handle:
            lines = sum(chunk.count(b"\n") for chunk in iter(lambda: handle.read(1 << 20), b""))
    except OSError:
        return 0
    with _counts_lock:
        if len(_line_counts) > 10_000:
            _line_counts.clear()
        _line_counts[path] = (stat.st_size, stat.st_mtime_ns, lines)
    return lines


def _remove(path: str) -> None:
    try:
        os.remove(path)
    except OSError:
        pass

"""A child process that speaks one JSON object per line on stdin/stdout.

Used by every stdio backend (Claude Code's stream-json, Codex's JSON-RPC). It frames lines
itself (so a 50 MB line is fine), skips non-JSON lines, keeps the tail of stderr for error
messages, and never runs a shell.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from . import leftovers

log = logging.getLogger("jupyter_companion.ndjson")

#: Lines longer than this are dropped (reported, not fatal).
MAX_LINE_BYTES = 256 * 1024 * 1024
_READ_CHUNK = 1024 * 1024
#: A stderr line is kept up to this many characters.
STDERR_LINE_CHARS = 2000
#: ``time.perf_counter()`` when the CLI line being handled now was read (0.0 between lines): the
#: start of the relay time the metrics measure.
line_started = 0.0


class LineProcess:
    """Spawn ``argv`` and call ``on_message`` for every JSON object it prints."""

    def __init__(
        self,
        argv: list[str],
        *,
        cwd: str,
        env: dict[str, str],
        on_message: Callable[[dict[str, Any]], None],
        on_exit: Callable[[int | None, str], None],
        on_bad_line: Callable[[str], None] | None = None,
        stderr_lines: int = 200,
        pidfile: str | None = None,
        tap: Any = None,
    ):
        self.argv = argv
        self.cwd = cwd
        self.env = env
        self.on_message = on_message
        self.on_exit = on_exit
        self.on_bad_line = on_bad_line or (lambda line: log.debug("non-JSON line: %.200s", line))
        self.stderr_tail: deque[str] = deque(maxlen=stderr_lines)
        #: Where the running process is noted, so a later server can stop it if this one dies
        #: first (see :mod:`.leftovers`).
        self.pidfile = pidfile
        #: Records every line both ways (``LaunchSpec.tap``), or None.
        self.tap = tap
        self.proc: asyncio.subprocess.Process | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._write_lock = asyncio.Lock()
        self._exited = asyncio.Event()

    @property
    def pid(self) -> int | None:
        """Process id, or None before start."""
        return self.proc.pid if self.proc else None

    @property
    def running(self) -> bool:
        """True while the child has not exited."""
        return self.proc is not None and self.proc.returncode is None and not self._exited.is_set()

    async def start(self) -> None:
        """Spawn the process (raises OSError when the binary cannot be executed)."""
        self.proc = await asyncio.create_subprocess_exec(
            *self.argv,
            cwd=self.cwd,
            env=self.env,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            start_new_session=True,
        )
        if self.pidfile:
            leftovers.remember(self.pidfile, self.proc.pid)
        self._tasks = [
            asyncio.ensure_future(self._read_stdout()),
            asyncio.ensure_future(self._read_stderr()),
            asyncio.ensure_future(self._reap_group()),
        ]

    async def send(self, message: dict[str, Any]) -> None:
        """Write one JSON line; raises ConnectionError when the process is gone."""
        if not self.running or self.proc is None or self.proc.stdin is None:
            raise ConnectionError("the CLI process is not running")
        data = (json.dumps(message, separators=(",", ":")) + "\n").encode()
        async with self._write_lock:
            if self.tap is not None:
                self.tap("in", data[:-1])
            try:
                self.proc.stdin.write(data)
                await self.proc.stdin.drain()
            except (BrokenPipeError, ConnectionResetError) as exc:
                raise ConnectionError("the CLI process closed its input") from exc

    def stderr_text(self) -> str:
        """The last lines the process wrote to stderr."""
        return "\n".join(self.stderr_tail)

    async def _read_stdout(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        stream = self.proc.stdout
        buffer = bytearray()
        skipping = False
        try:
            while True:
                chunk = await stream.read(_READ_CHUNK)
                if not chunk:
                    break
                start = 0
                while True:
                    newline = chunk.find(b"\n", start)
                    if newline < 0:
                        if not skipping:
                            buffer += chunk[start:]
                            if len(buffer) > MAX_LINE_BYTES:
                                self.on_bad_line(f"line longer than {MAX_LINE_BYTES} bytes dropped")
                                buffer.clear()
                                skipping = True
                        break
                    if skipping:
                        skipping = False
                    else:
                        buffer += chunk[start:newline]
                        self._dispatch(bytes(buffer))
                    buffer.clear()
                    start = newline + 1
            if buffer and not skipping:
                self._dispatch(bytes(buffer))
        except Exception:  # a reader must never die silently
            log.exception("stdout reader failed")
        finally:
            await self._finish()

    def _dispatch(self, raw: bytes) -> None:
        global line_started
        line_started = time.perf_counter()
        try:
            self._handle_line(raw)
        finally:
            line_started = 0.0

    def _handle_line(self, raw: bytes) -> None:
        if self.tap is not None:
            self.tap("out", raw)
        line = raw.strip()
        if not line:
            return
        if not line.startswith(b"{"):
            self.on_bad_line(line[:500].decode("utf-8", "replace"))
            return
        try:
            message = json.loads(line)
        except ValueError:
            self.on_bad_line(line[:500].decode("utf-8", "replace"))
            return
        if not isinstance(message, dict):
            self.on_bad_line(line[:500].decode("utf-8", "replace"))
            return
        try:
            self.on_message(message)
        except Exception:
            log.exception("handler failed for a CLI message of type %r", message.get("type"))

    async def _read_stderr(self) -> None:
        """Keep draining stderr in chunks whatever it holds (a CLI blocked on a full stderr pipe
        would never exit); the last lines are kept, each cut to :data:`STDERR_LINE_CHARS`."""
        assert self.proc is not None and self.proc.stderr is not None
        stream = self.proc.stderr
        line = bytearray()
        cap = STDERR_LINE_CHARS * 4  # bytes enough for that many UTF-8 characters
        try:
            while True:
                chunk = await stream.read(_READ_CHUNK)
                if not chunk:
                    break
                *complete, rest = chunk.split(b"\n")
                for piece in complete:
                    if len(line) < cap:
                        line += piece[: cap - len(line)]
                    self._keep_stderr_line(bytes(line))
                    line.clear()
                if len(line) < cap:
                    line += rest[: cap - len(line)]
            if line:
                self._keep_stderr_line(bytes(line))
        except Exception:  # a reader must never die silently (the pipe would fill up)
            log.exception("stderr reader failed")

    def _keep_stderr_line(self, raw: bytes) -> None:
        if self.tap is not None:
            self.tap("err", raw)
        self.stderr_tail.append(raw.decode("utf-8", "replace").rstrip()[:STDERR_LINE_CHARS])

    async def _reap_group(self) -> None:
        """When the CLI itself exits, stop what it left behind in its process group.

        Wrappers (e.g. a Node.js launcher) may leave their real binary running with our pipes
        open; without this, the exit would go unnoticed and the orphan would live on.
        """
        assert self.proc is not None
        group = self.proc.pid
        await _process_gone(group)
        try:
            os.killpg(group, signal.SIGTERM)
        except (ProcessLookupError, PermissionError):
            return  # nothing left behind
        asyncio.get_running_loop().call_later(1.0, _kill_group, group)

    async def _finish(self) -> None:
        assert self.proc is not None
        returncode = await self.proc.wait()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self._tasks[1], 2)
        if self.pidfile:
            leftovers.forget(self.pidfile)
        if self.tap is not None:
            self.tap.close(returncode)
        if not self._exited.is_set():
            self._exited.set()
            self.on_exit(returncode, self.stderr_text())

    async def wait(self) -> None:
        """Wait until the process has exited and its exit was reported."""
        await self._exited.wait()

    async def stop(self, grace: float = 3.0) -> None:
        """Close stdin, then SIGTERM, then SIGKILL the process group; never raises."""
        proc = self.proc
        if proc is None:
            return
        if proc.returncode is not None:
            for task in self._tasks:
                task.cancel()
            return
        with contextlib.suppress(Exception):
            if proc.stdin is not None:
                proc.stdin.close()
        for sig, wait in ((None, 0.5), (signal.SIGTERM, grace), (signal.SIGKILL, 5.0)):
            if sig is not None:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(proc.pid, sig)
            try:
                await asyncio.wait_for(asyncio.shield(proc.wait()), wait)
                break
            except asyncio.TimeoutError:
                continue
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self._exited.wait(), 5)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)  # whatever the CLI left behind in its group
        for task in self._tasks:
            task.cancel()


def _kill_group(group: int) -> None:
    """SIGKILL whatever is still in a process group."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(group, signal.SIGKILL)


async def _process_gone(pid: int) -> None:
    """Wait until process ``pid`` has exited, even while others still hold its pipes open.

    (``Process.wait()`` only returns once every pipe is closed.) Uses a pidfd where the kernel
    offers one, else polls.
    """
    loop = asyncio.get_running_loop()
    try:
        fd = os.pidfd_open(pid)
    except (AttributeError, OSError):
        fd = -1
    if fd >= 0:
        gone: asyncio.Future[None] = loop.create_future()

        def on_readable() -> None:
            loop.remove_reader(fd)
            if not gone.done():
                gone.set_result(None)

        loop.add_reader(fd, on_readable)
        try:
            await gone
        finally:
            loop.remove_reader(fd)
            os.close(fd)
        return
    while True:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        except PermissionError:
            pass
        await asyncio.sleep(0.5)

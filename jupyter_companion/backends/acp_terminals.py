"""The ``terminal/*`` side of an ACP client: commands an agent asks this client to run.

Each terminal is one process started from an argument list (never a shell), in a folder
confined to the session's, through the session's sandbox wrapper (so in a Docker sandbox it runs
in the container), in its own process group. Its output (stdout and stderr together) is kept up
to a byte limit, dropping the oldest bytes first as ACP asks, cut at a character boundary.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import uuid
from collections.abc import Callable
from typing import Any

from .acp_fs import OutsideFolder, confine
from .base import CommandWrapper

#: Output kept per terminal when the agent names no limit.
DEFAULT_OUTPUT_LIMIT = 1024 * 1024
#: The most output an agent may ask to keep per terminal.
MAX_OUTPUT_LIMIT = 16 * 1024 * 1024
#: Terminals one session may hold at once.
MAX_TERMINALS = 16
_READ_CHUNK = 64 * 1024


class TerminalError(Exception):
    """A terminal request that cannot be carried out (the message goes back to the agent)."""


def _signal_name(returncode: int) -> str | None:
    if returncode >= 0:
        return None
    with contextlib.suppress(ValueError):
        return signal.Signals(-returncode).name
    return str(-returncode)


def _working_folder(root: str, cwd: str) -> str:
    """A terminal's folder: ``cwd`` resolved, inside ``root`` and existing (else TerminalError)."""
    try:
        folder = confine(root, cwd)
    except OutsideFolder as exc:
        raise TerminalError(str(exc)) from exc
    if not os.path.isdir(folder):
        raise TerminalError(f"{cwd} is not a folder")
    return folder


class Terminal:
    """One command and what it printed."""

    def __init__(self, proc: asyncio.subprocess.Process, limit: int):
        self.proc = proc
        self.limit = limit
        self.output = bytearray()
        self.truncated = False
        self._reader = asyncio.ensure_future(self._read())

    async def _read(self) -> None:
        assert self.proc.stdout is not None
        while True:
            chunk = await self.proc.stdout.read(_READ_CHUNK)
            if not chunk:
                break
            self.output += chunk
            if len(self.output) > self.limit:
                del self.output[: len(self.output) - self.limit]
                while self.output and (self.output[0] & 0xC0) == 0x80:  # a cut character
                    del self.output[0]
                self.truncated = True

    @property
    def exit_status(self) -> dict[str, Any] | None:
        """``{exitCode, signal}`` once the command ended, else None."""
        code = self.proc.returncode
        if code is None:
            return None
        return {"exitCode": code if code >= 0 else None, "signal": _signal_name(code)}

    def text(self) -> str:
        """The output kept so far."""
        return self.output.decode("utf-8", "replace")

    async def wait(self) -> dict[str, Any]:
        """Wait for the command to end (and its output to be read); its exit status."""
        await self.proc.wait()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(asyncio.shield(self._reader), 5)
        status = self.exit_status
        assert status is not None
        return status

    def kill(self) -> None:
        """SIGKILL the command's process group (nothing happens when it has ended)."""
        if self.proc.returncode is None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.proc.pid, signal.SIGKILL)


class Terminals:
    """The terminals of one session's agent, by id."""

    def __init__(self, root: str, env: Callable[[], dict[str, str]], wrap: CommandWrapper):
        self.root = root
        self.env = env
        self.wrap = wrap
        self._terminals: dict[str, Terminal] = {}
        #: Output of released terminals that a tool call still shows, by id.
        self._released_output: dict[str, str] = {}

    async def create(
        self, command: str, args: list[str], env: dict[str, str], cwd: str | None, limit: int | None
    ) -> str:
        """Start ``command args…``; its terminal id. Raises TerminalError."""
        if len(self._terminals) >= MAX_TERMINALS:
            raise TerminalError(f"at most {MAX_TERMINALS} terminals may be open at once; release one first")
        if not command:
            raise TerminalError("no command given")
        folder = await asyncio.to_thread(_working_folder, self.root, cwd or self.root)
        argv, run_env, run_cwd = self.wrap([command, *args], {**self.env(), **env}, folder)
        try:
            proc = await asyncio.create_subprocess_exec(
                *argv,
                cwd=run_cwd,
                env=run_env,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.STDOUT,
                start_new_session=True,
            )
        except OSError as exc:
            raise TerminalError(f"could not run {command}: {exc.strerror or exc}") from exc
        keep = min(max(int(limit), 0), MAX_OUTPUT_LIMIT) if limit is not None else DEFAULT_OUTPUT_LIMIT
        terminal_id = f"term-{uuid.uuid4().hex[:12]}"
        self._terminals[terminal_id] = Terminal(proc, keep)
        return terminal_id

    def get(self, terminal_id: str) -> Terminal:
        """The terminal of an id; TerminalError when there is none (or it was released)."""
        terminal = self._terminals.get(terminal_id)
        if terminal is None:
            raise TerminalError(f"no terminal {terminal_id}")
        return terminal

    async def release(self, terminal_id: str) -> None:
        """Kill the command if it still runs and forget the terminal (its output stays readable
        for the tool call that shows it)."""
        terminal = self._terminals.pop(terminal_id, None)
        if terminal is None:
            return
        terminal.kill()
        self._released_output[terminal_id] = terminal.text()
        while len(self._released_output) > 64:
            self._released_output.pop(next(iter(self._released_output)))

    def outputs(self) -> dict[str, str]:
        """The output of every terminal, open or released, by id."""
        shown = dict(self._released_output)
        shown.update({tid: t.text() for tid, t in self._terminals.items()})
        return shown

    async def close(self) -> None:
        """Kill every command (the agent stopped)."""
        for terminal_id in list(self._terminals):
            await self.release(terminal_id)

"""The ``tailscale`` command line, run as argument lists (never a shell) with a timeout.

Subcommands used: ``status --json`` (``BackendState``, ``Self.DNSName``), ``funnel status --json``
(the serve config: ``Web``, ``AllowFunnel``), ``funnel --bg PORT`` and ``funnel PORT off``.
"""

from __future__ import annotations

import asyncio
import json
import shutil
from dataclasses import dataclass
from typing import Any

#: What Linux's tailscale says when the user may not change the serve config.
_OPERATOR_HINTS = ("access denied", "--operator", "permission denied")
_NOT_RUNNING_HINTS = ("failed to connect to local tailscaled", "doesn't appear to be running")
_NO_FUNNEL_HINTS = ("funnel not available", "node attribute not set", "s/no-funnel")


class TailscaleError(Exception):
    """A tailscale command that failed; ``kind`` says which problem it is for the API."""

    def __init__(self, message: str, kind: str = "failed"):
        super().__init__(message)
        self.message = message
        self.kind = kind


@dataclass
class Result:
    """A finished command."""

    code: int
    stdout: str
    stderr: str


def classify(stderr: str, stdout: str = "") -> str:
    """The kind of a failure from what tailscale printed: ``operator``, ``not_running``,
    ``funnel_not_allowed`` or ``failed``."""
    text = f"{stderr}\n{stdout}".lower()
    if any(h in text for h in _NOT_RUNNING_HINTS):
        return "not_running"
    if any(h in text for h in _NO_FUNNEL_HINTS):
        return "funnel_not_allowed"
    if any(h in text for h in _OPERATOR_HINTS):
        return "operator"
    return "failed"


class TailscaleCli:
    """Runs one ``tailscale`` binary."""

    def __init__(self, binary: str = "tailscale", timeout: float = 15.0):
        self.binary = binary
        self.timeout = timeout

    def path(self) -> str | None:
        """The binary's full path, or None when it is not found."""
        return shutil.which(self.binary)

    async def run(self, *args: str) -> Result:
        """Run ``tailscale ARGS``; TailscaleError when it cannot start or takes too long."""
        path = self.path()
        if path is None:
            raise TailscaleError(f"the tailscale command ({self.binary}) is not installed or not on PATH "
                                 "(https://tailscale.com/download)", "missing")
        try:
            proc = await asyncio.create_subprocess_exec(
                path, *args, stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        except OSError as exc:
            raise TailscaleError(f"could not run {path}: {exc}", "missing") from exc
        try:
            out, err = await asyncio.wait_for(proc.communicate(), self.timeout)
        except asyncio.TimeoutError as exc:
            proc.kill()
            await proc.wait()
            raise TailscaleError(f"tailscale {' '.join(args)} did not finish within {self.timeout:g} s", "timeout") from exc
        return Result(proc.returncode or 0, out.decode(errors="replace"), err.decode(errors="replace"))

    async def json(self, *args: str) -> Any:
        """Run a ``--json`` command and decode its output."""
        result = await self.run(*args)
        if result.code != 0:
            raise TailscaleError(_first_line(result.stderr or result.stdout) or f"exit code {result.code}",
                                 classify(result.stderr, result.stdout))
        try:
            return json.loads(result.stdout or "{}")
        except ValueError as exc:
            raise TailscaleError(f"tailscale {' '.join(args)} printed no JSON") from exc

    async def checked(self, *args: str) -> Result:
        """Run a command that must succeed."""
        result = await self.run(*args)
        if result.code != 0:
            raise TailscaleError(_first_line(result.stderr or result.stdout) or f"exit code {result.code}",
                                 classify(result.stderr, result.stdout))
        return result


def _first_line(text: str) -> str:
    return next((line.strip() for line in text.splitlines() if line.strip()), "")[:300]

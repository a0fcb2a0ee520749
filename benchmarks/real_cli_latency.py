"""Latency of the REAL Claude Code CLI, driven directly over stdio and through the extension, in one run.

Both sides run the pinned ``claude`` (``tests/support/clis.py``) with the same argv
(``build_argv``), environment and folder, against one scripted Messages API on 127.0.0.1, and both
keep their CLI warm across turns. Turns alternate between the two sides (which one goes first
alternates too), so machine noise hits both alike.

- direct: the benchmark writes the ``user`` line to the CLI's stdin itself and reads its stdout;
  time from the write to the first text delta line, and to the ``result`` line.
- extension: a real ``jupyter server`` with the extension; the prompt is a ``user_message`` frame
  on the session's WebSocket; time from sending the frame to the first ``stream_delta`` frame, and
  to the ``result`` frame (arrival stamped once per socket read, ``_wsclient.py``).

Target (issue 9): extension ≤ 1.05 × direct + 5 ms (first delta, median).

    python benchmarks/real_cli_latency.py [--turns 40] [--chunks 30]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # tests.support (scripted server, pinned CLIs)

from _common import (  # noqa: E402
    disabled_plugin_args,
    emit_result,
    median,
    percentile,
    start_server,
    verdict,
    wait_quiet,
)
from _wsclient import RawWebSocket  # noqa: E402

from jupyter_companion.backends.base import LaunchSpec  # noqa: E402
from jupyter_companion.backends.claude import build_argv  # noqa: E402
from tests.support.anthropic_server import ScriptedAnthropic, Text  # noqa: E402
from tests.support.clis import claude_env, ensure_cli  # noqa: E402


class DirectCli:
    """The pinned CLI driven over stdio by this process (the floor)."""

    def __init__(self, argv: list[str], env: dict[str, str], cwd: Path):
        self.argv, self.env, self.cwd = argv, env, cwd
        self.proc: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        self.proc = await asyncio.create_subprocess_exec(
            *self.argv, cwd=str(self.cwd), env=self.env, stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL, limit=1 << 26,
            start_new_session=True,
        )
        # the same handshake as the extension's adapter
        await self._write({"type": "control_request", "request_id": "req_init", "request": {"subtype": "initialize"}})
        while True:
            message = await self._read()
            if message.get("type") == "control_response":
                return

    async def _write(self, message: dict[str, Any]) -> None:
        assert self.proc is not None and self.proc.stdin is not None
        self.proc.stdin.write((json.dumps(message, separators=(",", ":")) + "\n").encode())
        await self.proc.stdin.drain()

    async def _read(self) -> dict[str, Any]:
        assert self.proc is not None and self.proc.stdout is not None
        line = await self.proc.stdout.readline()
        if not line:
            raise ConnectionError("the CLI exited")
        return dict(json.loads(line))

    async def turn(self, prompt: str) -> tuple[float, float]:
        """(ms to the first text delta, ms to the result)."""
        start = time.monotonic_ns()
        await self._write({"type": "user", "message": {"role": "user", "content": prompt},
                           "parent_tool_use_id": None, "session_id": ""})
        first = 0
        while True:
            message = await self._read()
            kind = message.get("type")
            if not first and kind == "stream_event":
                event = message.get("event") or {}
                if event.get("type") == "content_block_delta" and (event.get("delta") or {}).get("type") == "text_delta":
                    first = time.monotonic_ns()
            elif kind == "result":
                return (first - start) / 1e6, (time.monotonic_ns() - start) / 1e6

    async def stop(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            assert self.proc.stdin is not None
            self.proc.stdin.close()
            try:
                await asyncio.wait_for(self.proc.wait(), 10)
            except asyncio.TimeoutError:
                self.proc.kill()


class ExtensionSession:
    """A session of a real Jupyter server with the extension, driven over its WebSocket."""

    def __init__(self, server: Any, session_id: str):
        self.server, self.session_id = server, session_id
        self.socket: RawWebSocket | None = None
        self.waiting: asyncio.Future[None] | None = None
        self.first = 0
        self.done = 0

    def _on_text(self, arrival_ns: int, payload: bytes) -> None:
        if self.waiting is None or self.waiting.done():
            return
        frame = json.loads(payload)
        if not self.first and frame.get("type") == "stream_delta" and frame.get("kind") == "text":
            self.first = arrival_ns
        if frame.get("type") == "result":
            self.done = arrival_ns
            self.waiting.set_result(None)

    async def connect(self) -> None:
        last = self.server.api("GET", f"sessions/{self.session_id}")["last_seq"]
        self.socket = await RawWebSocket.connect(
            "127.0.0.1", self.server.port, f"/companion/ws/sessions/{self.session_id}?after={last}",
            self.server.headers, self._on_text)

    async def turn(self, prompt: str) -> tuple[float, float]:
        assert self.socket is not None
        self.first = self.done = 0
        self.waiting = asyncio.get_running_loop().create_future()
        start = time.monotonic_ns()
        self.socket.send_text(json.dumps({"type": "user_message", "content": prompt}))
        await asyncio.wait_for(self.waiting, 120)
        return (self.first - start) / 1e6, (self.done - start) / 1e6


def summary(values: list[float]) -> dict[str, float]:
    return {"median": round(median(values), 1), "p90": round(percentile(values, 90), 1),
            "min": round(min(values), 1), "max": round(max(values), 1)}


async def run(args: argparse.Namespace) -> dict[str, Any]:
    claude = ensure_cli("claude")
    base = Path(tempfile.mkdtemp(prefix="companion-real-cli-"))
    (base / "home").mkdir()
    with ScriptedAnthropic() as model:
        model.on(None, lambda req: Text(" ".join(f"word{i}" for i in range(args.chunks)), chunks=args.chunks))
        env = claude_env(model.base_url, base / "home")
        server = start_server(base=base / "server", env_extra=env, extra_args=[
            f"--ClaudeBackend.binary={claude}", "--CompanionApp.pr_poll_interval=0",
            *disabled_plugin_args(["echo", "broken_on_import", "raises_in_hook", "careless_routes"])])
        try:
            folder = server.root / "project"
            folder.mkdir()
            session = server.api("POST", "sessions", {"backend": "claude", "cwd": "project"})
            spec = LaunchSpec(session_id="direct", cwd=str(folder))
            direct = DirectCli(build_argv(claude, spec, []), {k: v for k, v in env.items() if k != "CLAUDECODE"},
                               folder)
            await direct.start()
            ext = ExtensionSession(server, session["id"])
            await ext.connect()
            result = await alternate(direct, ext, args.turns, args.warmup)
            await direct.stop()
        finally:
            server.stop()
    return result


async def alternate(direct: Any, ext: Any, turns: int, warmup: int) -> dict[str, Any]:
    """Warm both sides up, then time ``turns`` turns of each, alternating (and alternating who goes
    first); the summaries and the verdict against ``1.05 x direct + 5 ms``."""
    for n in range(warmup):
        await direct.turn(f"warm-up {n}")
        await ext.turn(f"warm-up {n}")
    wait_quiet(quiet=True)
    firsts: dict[str, list[float]] = {"direct": [], "extension": []}
    totals: dict[str, list[float]] = {"direct": [], "extension": []}
    for n in range(turns):
        order = [("direct", direct), ("extension", ext)]
        for name, side in order if n % 2 == 0 else reversed(order):
            first, total = await side.turn(f"turn {n} of {name}")
            firsts[name].append(first)
            totals[name].append(total)
    result: dict[str, Any] = {name: {"first_delta_ms": summary(firsts[name]), "turn_ms": summary(totals[name])}
                              for name in firsts}
    result["target_first_delta_ms"] = round(1.05 * result["direct"]["first_delta_ms"]["median"] + 5, 1)
    result["verdict"] = verdict(result["extension"]["first_delta_ms"]["median"], result["target_first_delta_ms"])
    return result


def report(name: str, metric: str, result: dict[str, Any]) -> None:
    """Print a direct-vs-extension comparison and emit it as benchmark ``name``."""
    for side in ("direct", "extension"):
        first, turn = result[side]["first_delta_ms"], result[side]["turn_ms"]
        print(f"{side:>9}: first delta median {first['median']} ms (p90 {first['p90']}), "
              f"turn median {turn['median']} ms (p90 {turn['p90']})")
    print(f"target: extension first delta <= {result['target_first_delta_ms']} ms -> {result['verdict']}")
    direct, ext = result["direct"], result["extension"]
    emit_result(
        name,
        metric=metric,
        target="extension <= 1.05 x direct + 5 ms",
        measured=f"first delta: direct {direct['first_delta_ms']['median']} ms, extension "
                 f"{ext['first_delta_ms']['median']} ms (target {result['target_first_delta_ms']} ms); turn: "
                 f"direct {direct['turn_ms']['median']} ms, extension {ext['turn_ms']['median']} ms",
        ok=result["verdict"] == "ok",
        details=result,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=40, help="measured turns per side (default 40)")
    parser.add_argument("--warmup", type=int, default=3, help="unmeasured turns per side first (default 3)")
    parser.add_argument("--chunks", type=int, default=30, help="text deltas per answer (default 30)")
    args = parser.parse_args()
    os.environ.pop("CLAUDECODE", None)
    result = asyncio.run(run(args))
    report("real_cli_latency", f"Real Claude CLI, prompt -> first streamed delta, through the extension vs direct, "
                               f"{args.turns} alternating warm turns each", result)

if __name__ == "__main__":
    main()

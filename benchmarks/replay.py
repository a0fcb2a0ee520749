"""Replay time of a 10k-event session: WebSocket connect with ``after=0`` -> last stored event received.

A real server with the Claude adapter and ``synthetic_claude.py`` records a session of
``--events`` stored ``assistant`` events (plus the few phase/init/result events of the turn).
Then a client connects ``--runs`` times with ``after=0`` and times, from just before the TCP
connect, until the frame carrying the session's ``last_seq`` has arrived. The minimal raw client
(``_wsclient.py``) is the figure that counts; the ``websockets`` library is shown for reference.

Target (issue 2): at most 200 ms for 10k events.

    python benchmarks/replay.py [--events 10000] [--runs 7]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import pstats
import signal
import sys
import tempfile
import time
from pathlib import Path

import websockets

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (  # noqa: E402
    HERE,
    TEST_PLUGINS,
    Server,
    disabled_plugin_args,
    emit_result,
    install_synthetic_claude,
    median,
    start_server,
    verdict,
    wait_quiet,
)
from _wsclient import RawWebSocket  # noqa: E402

TARGET_MS = 200.0


def record_session(server: Server, events: int) -> tuple[str, int]:
    """Create a session and let the synthetic CLI emit ``events`` stored events; return (id, last_seq)."""
    session = server.api("POST", "sessions", {"backend": "claude", "name": "replay"})
    sid = session["id"]
    server.api("POST", f"sessions/{sid}/messages", {"content": json.dumps({"mode": "burst", "count": events})})
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        info = server.api("GET", f"sessions/{sid}")
        if info["phase"] == "ready" and info.get("num_turns"):
            return sid, int(info["last_seq"])
        time.sleep(0.2)
    raise TimeoutError("the session did not finish recording")


async def replay_raw(server: Server, sid: str, last_seq: int) -> tuple[float, int, int]:
    """Seconds until ``last_seq`` arrived, frames received, bytes received (raw client)."""
    done = asyncio.get_running_loop().create_future()
    counts = [0, 0]
    tail = f'{{"seq":{last_seq},'.encode()

    def on_text(_now: int, payload: bytes) -> None:
        counts[0] += 1
        counts[1] += len(payload)
        if payload.startswith(tail) and not done.done():
            done.set_result(time.perf_counter())

    started = time.perf_counter()
    ws = await RawWebSocket.connect("127.0.0.1", server.port, f"/companion/ws/sessions/{sid}?after=0",
                                    server.headers, on_text)
    try:
        finished = await asyncio.wait_for(done, 60)
    finally:
        ws.close()
    return finished - started, counts[0], counts[1]


async def replay_websockets(server: Server, sid: str, last_seq: int) -> float:
    """Seconds until ``last_seq`` arrived with the ``websockets`` library (decoding each frame)."""
    started = time.perf_counter()
    async with websockets.connect(f"{server.ws_url}/companion/ws/sessions/{sid}?after=0",
                                  additional_headers=server.headers, compression=None, max_size=None) as ws:
        async for message in ws:
            if json.loads(message).get("seq") == last_seq:
                return time.perf_counter() - started
    raise ConnectionError("closed before the last event")


def main() -> int:
    """Run the benchmark and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=10000, help="stored assistant events to record")
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--profile", action="store_true", help="cProfile the server's event loop during the replays")
    args = parser.parse_args()
    base = Path(tempfile.mkdtemp(prefix="companion-bench-replay-"))
    binary = install_synthetic_claude(base)
    profile_path = Path(tempfile.mkdtemp()) / "replay.prof"
    instrument = {"BENCH_PROFILE": str(profile_path)} if args.profile else {}
    server = start_server(base=base, extra_args=[f"--ClaudeBackend.binary={binary}",
                                                 *disabled_plugin_args(TEST_PLUGINS)],
                          entry=[str(HERE / "_server_wrapper.py")] if instrument else None,
                          env_extra=instrument)
    try:
        t0 = time.monotonic()
        sid, last_seq = record_session(server, args.events)
        print(f"recorded a session with last_seq {last_seq} in {time.monotonic() - t0:.1f} s", flush=True)
        wait_quiet()
        raw: list[float] = []
        libs: list[float] = []
        frames = size = 0
        for _ in range(args.runs):
            seconds, frames, size = asyncio.run(replay_raw(server, sid, last_seq))
            raw.append(seconds * 1000)
            libs.append(asyncio.run(replay_websockets(server, sid, last_seq)) * 1000)
        if args.profile:
            server.proc.send_signal(signal.SIGUSR2)
            for _ in range(100):
                if profile_path.exists() and profile_path.stat().st_size:
                    break
                time.sleep(0.1)
            time.sleep(0.5)
            stats = pstats.Stats(str(profile_path))
            stats.sort_stats("tottime").print_stats(25)
            stats.sort_stats("cumulative").print_stats(40)
    finally:
        server.stop()
    raw_median, lib_median = median(raw), median(libs)
    print(f"replayed {frames} frames ({size / 1e6:.1f} MB, {size / max(frames, 1):.0f} B/frame) per connect")
    print(f"raw client       : median {raw_median:.1f} ms  (runs {[round(x, 1) for x in raw]})")
    print(f"websockets+json  : median {lib_median:.1f} ms  (runs {[round(x, 1) for x in libs]})")
    print(f"target <= {TARGET_MS:.0f} ms: {verdict(raw_median, TARGET_MS)}"
          + (f"   [experiment: {instrument}]" if instrument else ""))
    emit_result(
        "replay",
        metric=f"Replay of a {last_seq}-event session (WS connect after=0 -> last event received), median of {args.runs}",
        target=f"<= {TARGET_MS:.0f} ms",
        measured=f"{raw_median:.0f} ms ({size / max(frames, 1):.0f} B/event; with the websockets library + "
        f"json.loads per frame: {lib_median:.0f} ms)",
        ok=raw_median <= TARGET_MS,
        details={"raw_ms": raw, "websockets_ms": libs, "frames": frames, "bytes": size, "last_seq": last_seq},
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

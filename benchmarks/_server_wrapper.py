"""Run ``jupyter_server`` with optional instrumentation, for diagnosing the relay benchmark.

``python _server_wrapper.py <server args...>``; environment variables choose what to add:

- ``BENCH_PROFILE=<path>``: cProfile the main (event-loop) thread; written on SIGUSR2.
- ``BENCH_PROBE=<path>``: record garbage-collector pauses (``gc.callbacks``) and event-loop lag
  (a 1 ms timer's lateness); a JSON summary is written on SIGUSR2.
- ``BENCH_GC=off|freeze``: experiment: disable the cyclic GC, or ``gc.freeze()`` once started.
- ``BENCH_SWITCH=<seconds>``: experiment: ``sys.setswitchinterval`` (GIL hand-over period).
- ``BENCH_STORE=inline``: experiment: writes queued on the event loop are committed by the loop
  itself once per loop iteration (one transaction, no writer-thread hand-over), and commit
  callbacks run right after; WAL auto-checkpoints stay on the writer thread's connection.

(SIGUSR1 is taken by jupyter_server for its own status dump.)
"""

from __future__ import annotations

import cProfile
import gc
import json
import os
import signal
import sys
import time
from types import FrameType
from typing import Any


def _percentiles(values: list[float]) -> dict[str, float]:
    if not values:
        return {"count": 0}
    ordered = sorted(values)

    def pick(p: float) -> float:
        return ordered[min(len(ordered) - 1, int(p / 100.0 * len(ordered)))]

    return {"count": len(ordered), "p50": pick(50), "p99": pick(99), "p999": pick(99.9), "max": ordered[-1],
            "total": sum(ordered)}


def _inline_store() -> None:
    """Experiment: commit event-loop writes in the loop, batched per iteration (see module doc)."""
    import asyncio
    import threading

    from jupyter_companion import store as store_mod

    original = store_mod.Store._enqueue
    main_thread = threading.main_thread()

    def enqueue(self: Any, write: Any) -> None:
        loop = self._loop
        if loop is None or threading.current_thread() is not main_thread or self._closed:
            original(self, write)
            return
        pending = self.__dict__.setdefault("_inline_pending", [])
        pending.append(write)
        if len(pending) == 1:
            asyncio.get_running_loop().call_soon(flush, self)

    def flush(self: Any) -> None:
        writes = self._inline_pending
        self._inline_pending = []
        conn = self.__dict__.get("_inline_conn")
        if conn is None:
            conn = self._connect()
            conn.execute("PRAGMA wal_autocheckpoint=0")  # checkpoints stay off the loop
            self._inline_conn = conn
        conn.execute("BEGIN")
        for w in writes:
            self._run(conn, w)
        conn.execute("COMMIT")
        for w in writes:
            if w.on_commit is not None:
                w.on_commit()
        self._inline_commits = self.__dict__.get("_inline_commits", 0) + 1
        if self._inline_commits % 200 == 0:  # let the writer thread checkpoint now and then
            self._queue.put(store_mod._Write("PRAGMA wal_checkpoint(PASSIVE)", ()))

    store_mod.Store._enqueue = enqueue


def main() -> None:
    """Start the server with the requested instrumentation."""
    sys.argv = ["jupyter-server", *sys.argv[1:]]
    profile_path = os.environ.get("BENCH_PROFILE")
    probe_path = os.environ.get("BENCH_PROBE")
    if os.environ.get("BENCH_SWITCH"):
        sys.setswitchinterval(float(os.environ["BENCH_SWITCH"]))
    if os.environ.get("BENCH_GC") == "off":
        gc.disable()
    profiler = cProfile.Profile() if profile_path else None
    gc_pauses: list[float] = []  # ms, per collection
    gc_by_gen: dict[int, int] = {0: 0, 1: 0, 2: 0}
    lags: list[float] = []  # ms
    gc_start = [0.0]

    def on_gc(phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            gc_start[0] = time.perf_counter()
        else:
            gc_pauses.append((time.perf_counter() - gc_start[0]) * 1000)
            gc_by_gen[info["generation"]] = gc_by_gen.get(info["generation"], 0) + 1

    def dump(_signum: int, _frame: FrameType | None) -> None:
        if profiler is not None and profile_path:
            profiler.disable()
            profiler.dump_stats(profile_path)
        if probe_path:
            with open(probe_path, "w") as fh:
                json.dump({"gc_pause_ms": _percentiles(gc_pauses), "gc_collections_by_generation": gc_by_gen,
                           "loop_lag_ms": _percentiles(lags), "gc_objects": len(gc.get_objects())}, fh)

    signal.signal(signal.SIGUSR2, dump)
    if os.environ.get("BENCH_STORE") == "inline":
        _inline_store()
    if probe_path:
        gc.callbacks.append(on_gc)
    from jupyter_server.serverapp import ServerApp
    from tornado.ioloop import IOLoop

    def after_start() -> None:
        if os.environ.get("BENCH_GC") == "freeze":
            gc.collect()
            gc.freeze()
        if probe_path:
            import asyncio

            loop = asyncio.get_event_loop()
            interval = 0.001

            def tick(expected: float) -> None:
                now = loop.time()
                lags.append((now - expected) * 1000)
                loop.call_at(now + interval, tick, now + interval)

            loop.call_later(interval, tick, loop.time() + interval)

    original_start = ServerApp.start_ioloop

    def start_ioloop(self: Any) -> None:
        IOLoop.current().add_callback(after_start)
        original_start(self)

    ServerApp.start_ioloop = start_ioloop  # type: ignore[method-assign]
    if profiler is not None:
        profiler.enable()
    ServerApp.launch_instance()


if __name__ == "__main__":
    main()

"""Memory per idle session: the server's RSS growth per session that exists but does nothing.

Sessions use the ``echo`` backend of the test-suite's ``companion-echo`` plugin (installed
editable in the dev venv: ``pip install -e tests/plugins/companion-echo``), which answers
in-process and spawns no CLI, so the figure is the server's own bookkeeping (Session object,
phase/init events, store rows, the per-session state folder) and excludes any CLI process. After
``--warmup`` sessions (first-use imports and caches), ``--count`` sessions are created in each
of ``--rounds`` rounds and the RSS growth is divided by the count.

Target (issue 2): at most 1 MB per idle session.

    python benchmarks/memory_idle.py [--count 200] [--rounds 2]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (  # noqa: E402
    Server,
    disabled_plugin_args,
    emit_result,
    install_synthetic_claude,
    start_server,
    verdict,
)

TARGET_KIB = 1024.0


def create(server: Server, count: int, start: int, backend: str) -> None:
    """Create ``count`` sessions (sequentially, like users would)."""
    for index in range(start, start + count):
        server.api("POST", "sessions", {"backend": backend, "name": f"idle-{index}"})


def settled_rss(server: Server, seconds: float = 1.5) -> int:
    """RSS (KiB) after letting queued writes and callbacks finish."""
    time.sleep(seconds)
    return server.rss_kib()


def main() -> int:
    """Run the benchmark and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=200, help="sessions per round")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--backend", choices=("echo", "claude"), default="echo",
                        help="claude: the real adapter with one synthetic CLI process per session "
                        "(their memory is not counted; only the server's)")
    args = parser.parse_args()
    base = Path(tempfile.mkdtemp(prefix="companion-bench-memory-"))
    # keep the echo backend; drop the two plugins that exist only to fail
    extra = disabled_plugin_args(["broken_on_import", "raises_in_hook"])
    if args.backend == "claude":
        extra.append(f"--ClaudeBackend.binary={install_synthetic_claude(base)}")
    server = start_server(base=base, extra_args=extra)
    try:
        backends = {b["name"] for b in server.api("GET", "backends")["backends"]}
        if args.backend not in backends:
            print("the 'echo' backend is missing: pip install -e tests/plugins/companion-echo", file=sys.stderr)
            return 2
        create(server, args.warmup, 0, args.backend)
        before = settled_rss(server)
        print(f"server RSS after {args.warmup} warm-up sessions: {before / 1024:.1f} MiB", flush=True)
        per_round: list[float] = []
        made = args.warmup
        previous = before
        for round_index in range(args.rounds):
            t0 = time.monotonic()
            create(server, args.count, made, args.backend)
            made += args.count
            rss = settled_rss(server)
            growth = (rss - previous) / args.count
            per_round.append(growth)
            print(f"round {round_index + 1}: +{args.count} sessions in {time.monotonic() - t0:.1f} s, RSS "
                  f"{rss / 1024:.1f} MiB, {growth:.1f} KiB per session", flush=True)
            previous = rss
        listed = len(server.api("GET", "sessions")["sessions"])
        assert listed == made, f"expected {made} sessions, the server lists {listed}"
        clis = len(Path(f"/proc/{server.proc.pid}/task/{server.proc.pid}/children").read_text().split())
    finally:
        server.stop()
    overall = (previous - before) / (args.count * args.rounds)
    print(f"overall: {overall:.1f} KiB per idle {args.backend} session over {args.count * args.rounds} sessions "
          f"(child processes of the server: {clis}); target <= {TARGET_KIB:.0f} KiB: {verdict(overall, TARGET_KIB)}")
    emit_result(
        "memory_idle",
        metric=f"Server RSS growth per idle session ({args.count * args.rounds} {args.backend} sessions"
        + (", no CLI process)" if args.backend == "echo" else ", CLI processes not counted)"),
        target="<= 1 MB",
        measured=f"{overall:.0f} KiB per session (rounds: {', '.join(f'{g:.0f}' for g in per_round)} KiB)",
        ok=overall <= TARGET_KIB,
        details={"per_round_kib": per_round, "baseline_rss_kib": before, "final_rss_kib": previous},
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

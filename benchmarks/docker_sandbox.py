"""What a Docker sandbox costs: session creation and first-delta latency, local vs in a container.

One real ``jupyter server`` with the extension and the docker plugin, the pinned Claude CLI and a
scripted Messages API on 127.0.0.1; the engine is the test-suite's (``tests/support/docker_engine``:
``$COMPANION_TEST_DOCKER_HOST`` or a ``dockerd`` it starts), the image the test image with the CLI
(present before the first measured creation, so no pull or build is timed).

- creation: wall time of ``POST sessions`` (the answer comes once the CLI runs), local and docker
  alternating; each session is deleted (its container removed) before the next.
- latency: a warm local session and a warm docker session (network ``host``), turns alternating;
  time from the ``user_message`` frame to the first ``stream_delta`` frame.

Targets (issue 11): creation adds <= 1.5 s over local; first delta adds <= 2 ms (medians).

    python benchmarks/docker_sandbox.py [--creations 6] [--turns 30]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # tests.support (scripted server, pinned CLIs, engine)

from _common import disabled_plugin_args, emit_result, median, start_server, verdict, wait_quiet  # noqa: E402
from real_cli_latency import ExtensionSession, summary  # noqa: E402

from tests.support.anthropic_server import ScriptedAnthropic, Text  # noqa: E402
from tests.support.clis import claude_env, ensure_cli  # noqa: E402
from tests.support.docker_engine import claude_image, docker_engine  # noqa: E402

BODIES = {
    "local": {"backend": "claude", "cwd": "project"},
    "docker": {"backend": "claude", "cwd": "project", "sandbox": "docker", "sandbox_profile": "bench"},
}


async def run(args: argparse.Namespace) -> dict[str, Any]:
    claude = ensure_cli("claude")
    url = docker_engine()
    image = claude_image(url, claude)
    base = Path(tempfile.mkdtemp(prefix="companion-docker-bench-"))
    (base / "home").mkdir()
    with ScriptedAnthropic() as model:
        model.on(None, lambda req: Text(" ".join(f"word{i}" for i in range(args.chunks)), chunks=args.chunks))
        env = claude_env(model.base_url, base / "home")
        server = start_server(base=base / "server", env_extra=env, extra_args=[
            f"--ClaudeBackend.binary={claude}", "--CompanionApp.pr_poll_interval=0",
            f"--DockerSandbox.docker_host={url}", "--DockerSandbox.keep_on_server_stop=False",
            *disabled_plugin_args(["echo", "broken_on_import", "raises_in_hook", "careless_routes"])])
        try:
            (server.root / "project").mkdir()
            server.api("PUT", "sandbox-profiles/bench", {"provider": "docker", "image": image, "network": "host"})
            created: dict[str, list[float]] = {"local": [], "docker": []}
            for n in range(args.creations + 1):  # the first round warms caches and is not counted
                for name in ("local", "docker") if n % 2 == 0 else ("docker", "local"):
                    start = time.monotonic()
                    session = server.api("POST", "sessions", BODIES[name])
                    elapsed = (time.monotonic() - start) * 1000
                    server.api("DELETE", f"sessions/{session['id']}")
                    if n:
                        created[name].append(elapsed)
            sides = {name: ExtensionSession(server, server.api("POST", "sessions", body)["id"])
                     for name, body in BODIES.items()}
            for side in sides.values():
                await side.connect()
                for n in range(args.warmup):
                    await side.turn(f"warm-up {n}")
            wait_quiet(quiet=True)
            firsts: dict[str, list[float]] = {"local": [], "docker": []}
            for n in range(args.turns):
                for name in ("local", "docker") if n % 2 == 0 else ("docker", "local"):
                    first, _ = await sides[name].turn(f"turn {n} of {name}")
                    firsts[name].append(first)
            for side in sides.values():
                server.api("DELETE", f"sessions/{side.session_id}")
        finally:
            server.stop()
    result: dict[str, Any] = {
        "creation_ms": {name: summary(values) for name, values in created.items()},
        "first_delta_ms": {name: summary(values) for name, values in firsts.items()},
    }
    result["creation_added_ms"] = round(median(created["docker"]) - median(created["local"]), 1)
    result["first_delta_added_ms"] = round(median(firsts["docker"]) - median(firsts["local"]), 1)
    result["verdict"] = {
        "creation": verdict(result["creation_added_ms"], 1500.0),
        "first_delta": verdict(result["first_delta_added_ms"], 2.0),
    }
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--creations", type=int, default=6, help="measured creations per side (default 6)")
    parser.add_argument("--turns", type=int, default=30, help="measured turns per side (default 30)")
    parser.add_argument("--warmup", type=int, default=3, help="unmeasured turns per session first (default 3)")
    parser.add_argument("--chunks", type=int, default=30, help="text deltas per answer (default 30)")
    args = parser.parse_args()
    os.environ.pop("CLAUDECODE", None)
    result = asyncio.run(run(args))
    for what in ("creation_ms", "first_delta_ms"):
        for name, stats in result[what].items():
            print(f"{what:>15} {name:>6}: median {stats['median']} ms (p90 {stats['p90']}, min {stats['min']}, max {stats['max']})")
    print(f"docker adds {result['creation_added_ms']} ms to a creation (target <= 1500) -> {result['verdict']['creation']}")
    print(f"docker adds {result['first_delta_added_ms']} ms to the first delta (target <= 2) -> {result['verdict']['first_delta']}")
    emit_result(
        "docker_sandbox",
        metric="Session creation (image present) and prompt -> first delta, local vs Docker sandbox, real Claude CLI",
        target="creation +<= 1.5 s; first delta +<= 2 ms (medians)",
        measured=f"creation: local {result['creation_ms']['local']['median']} ms, docker "
                 f"{result['creation_ms']['docker']['median']} ms (+{result['creation_added_ms']}); first delta: local "
                 f"{result['first_delta_ms']['local']['median']} ms, docker {result['first_delta_ms']['docker']['median']} ms "
                 f"(+{result['first_delta_added_ms']})",
        ok=all(v == "ok" for v in result["verdict"].values()),
    )


if __name__ == "__main__":
    main()

"""Start-up cost of the extension: JupyterLab / Jupyter Server with jupyter_companion off vs on.

Measures, for ``python -m jupyterlab`` and ``python -m jupyter_server``, the time from process
start until ``GET /api`` answers, ``--runs`` times each (alternating off/on, after one warm-up
pair), and reports the medians and their difference. A probe process then breaks the cost of
the extension down: the import time of its modules once ``jupyter_server`` is loaded
(``python -X importtime``), and the wall time of ``initialize_settings`` (store, entry-point
scan, plugins, orchestrator), ``initialize_handlers`` and the start hook.

Target (issue 2): the extension adds at most 0.15 s.

    python benchmarks/startup.py [--runs 5] [--apps lab,server]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (  # noqa: E402
    TEST_PLUGINS,
    disabled_plugin_args,
    emit_result,
    isolated_env,
    median,
    start_server,
    verdict,
    wait_quiet,
)

TARGET_S = 0.15
_OWN = ("import_extension_point_s", "import_handlers_services_s", "initialize_settings_s",
        "initialize_handlers_s", "start_hook_s")


def time_to_http(app: str, companion: bool, base: Path) -> tuple[float, float]:
    """One start: (wall seconds from spawn until the server answers HTTP, CPU seconds it used by then)."""
    server = start_server(
        app=app,
        companion=companion,
        base=base,
        extra_args=[*disabled_plugin_args(TEST_PLUGINS)],
    )
    try:
        # Popen returned just after fork/exec; wait_http stamped the first answer.
        elapsed = _answered_at(server) - server.started_at
        cpu = _cpu_seconds(server.proc.pid)
    finally:
        server.stop(keep_state=True)
    return elapsed, cpu


def _cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process (all its threads)."""
    with open(f"/proc/{pid}/stat") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _answered_at(server: Any) -> float:
    return float(server.answered_at)



# -- the probe (runs in a child process) ------------------------------------------------------

_PROBE = r'''
import json, os, sys, time, tempfile
t0 = time.perf_counter()
import jupyter_server.serverapp  # noqa: F401  (shared by every extension; not the extension's cost)
t1 = time.perf_counter()
sys.stderr.write("--- companion imports below ---\n"); sys.stderr.flush()
import jupyter_companion
points = jupyter_companion._jupyter_server_extension_points()
t2 = time.perf_counter()
import jupyter_companion.services, jupyter_companion.handlers.rest, jupyter_companion.handlers.ws
import jupyter_companion.handlers.git
t3 = time.perf_counter()
sys.stderr.write("--- companion imports above ---\n"); sys.stderr.flush()
from jupyter_companion.app import CompanionApp
from jupyter_companion import plugins as plugins_mod
timings = {}
def timed(owner, name, key):
    original = getattr(owner, name)
    if __import__("asyncio").iscoroutinefunction(original):
        async def wrapper(*a, **k):
            s = time.perf_counter()
            try:
                return await original(*a, **k)
            finally:
                timings[key] = timings.get(key, 0.0) + time.perf_counter() - s
    else:
        def wrapper(*a, **k):
            s = time.perf_counter()
            try:
                return original(*a, **k)
            finally:
                timings[key] = timings.get(key, 0.0) + time.perf_counter() - s
    setattr(owner, name, wrapper)
timed(CompanionApp, "initialize_settings", "initialize_settings")
timed(CompanionApp, "initialize_handlers", "initialize_handlers")
timed(CompanionApp, "_start_jupyter_server_extension", "start_hook")
timed(plugins_mod.PluginManager, "load_entry_points", "entry_point_scan_and_plugin_imports")
import jupyter_companion.store as store_mod
timed(store_mod.Store, "__init__", "store_open")
from jupyter_server.serverapp import ServerApp
base = tempfile.mkdtemp()
app = ServerApp()
app.initialize(argv=["--allow-root", "--no-browser", "--port=0", "--ServerApp.root_dir=" + base,
                     "--CompanionApp.db_path=" + os.path.join(base, "c.db"),
                     "--ServerApp.jpserver_extensions={'jupyter_companion': True}",
                     *["--CompanionApp.disabled_plugins=" + n for n in TEST_PLUGINS]])
import asyncio
ext = app.extension_manager.extension_apps["jupyter_companion"]
companion_app = next(iter(ext))
async def start():
    await companion_app._start_jupyter_server_extension(app)
asyncio.run(start())
result = {"import_jupyter_server_s": t1 - t0, "import_extension_point_s": t2 - t1,
          "import_handlers_services_s": t3 - t2, **{k + "_s": v for k, v in timings.items()}}
print("PROBE " + json.dumps(result), flush=True)
os._exit(0)
'''


def run_probe(env: dict[str, str]) -> tuple[dict[str, float], list[tuple[float, str]]]:
    """Run the probe with ``-X importtime``; return its timings and the heaviest new imports."""
    code = f"TEST_PLUGINS = {TEST_PLUGINS!r}\n" + _PROBE
    proc = subprocess.run([sys.executable, "-X", "importtime", "-c", code], env=env,
                          capture_output=True, text=True, timeout=120)
    timings: dict[str, float] = {}
    for line in proc.stdout.splitlines():
        if line.startswith("PROBE "):
            timings = json.loads(line[6:])
    if not timings:
        raise RuntimeError(f"probe failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-3000:]}")
    heavy: list[tuple[float, str]] = []
    after_mark = False
    for line in proc.stderr.splitlines():
        if line.startswith("--- companion imports below"):
            after_mark = True
            continue
        if line.startswith("--- companion imports above"):
            break
        if not after_mark or not line.startswith("import time:") or "|" not in line:
            continue
        try:
            _, cumulative, name = line[len("import time:"):].split("|")
            micro = int(cumulative.strip())
        except ValueError:
            continue
        if micro >= 2000:  # imports made by jupyter_companion and what they pull in (indented = nested)
            heavy.append((micro / 1e6, name.rstrip()[1:]))
    heavy.sort(reverse=True)
    return timings, heavy[:15]


def main() -> int:
    """Run the benchmark and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=10, help="starts per configuration (median)")
    parser.add_argument("--apps", default="lab,server", help="comma list of: lab, server")
    args = parser.parse_args()
    modules = {"lab": "jupyterlab", "server": "jupyter_server"}
    results: dict[str, dict[str, Any]] = {}
    for key in args.apps.split(","):
        module = modules[key]
        base = Path(tempfile.mkdtemp(prefix="companion-bench-startup-"))
        samples: dict[bool, list[tuple[float, float]]] = {False: [], True: []}
        # one warm-up pair (page cache, first DB creation), then alternate
        for companion in (False, True):
            time_to_http(module, companion, base)
        for _ in range(args.runs):
            wait_quiet(timeout=60)
            for companion in (False, True):
                samples[companion].append(time_to_http(module, companion, base))
        shutil.rmtree(base, ignore_errors=True)
        wall_off = [w for w, _ in samples[False]]
        wall_on = [w for w, _ in samples[True]]
        cpu_off = [c for _, c in samples[False]]
        cpu_on = [c for _, c in samples[True]]
        paired = median([b - a for a, b in zip(wall_off, wall_on, strict=True)])
        cpu_added = median(cpu_on) - median(cpu_off)
        results[key] = {"wall_off": median(wall_off), "wall_on": median(wall_on), "wall_added_paired": paired,
                        "cpu_off": median(cpu_off), "cpu_on": median(cpu_on), "cpu_added": cpu_added}
        print(f"{module}: time to first HTTP answer, median  without companion {median(wall_off):.3f} s  "
              f"with {median(wall_on):.3f} s  added (median of paired differences) {paired:+.3f} s\n"
              f"    CPU used by then, median  without {median(cpu_off):.3f} s  with {median(cpu_on):.3f} s  "
              f"added {cpu_added:+.3f} s\n"
              f"    runs (wall): off {[round(w, 3) for w in wall_off]}, on {[round(w, 3) for w in wall_on]}")
    env = isolated_env(Path(tempfile.mkdtemp(prefix="companion-bench-probe-")))
    timings, heavy = run_probe(env)
    print("\nbreakdown of the extension's own cost (probe process, jupyter_server already imported):")
    for name, value in timings.items():
        print(f"  {name:45s} {value * 1000:8.1f} ms")
    print("\nheaviest imports made by jupyter_companion itself (python -X importtime, cumulative, >= 2 ms):")
    for seconds, name in heavy:
        print(f"  {seconds * 1000:8.1f} ms  {name}")
    main_key = "lab" if "lab" in results else next(iter(results))
    added = results[main_key]["cpu_added"]
    wall_added = results[main_key]["wall_added_paired"]
    own = sum(timings.get(k, 0.0) for k in _OWN)
    print(f"\nextension's own cost in the probe: {own * 1000:.0f} ms; added to `{modules[main_key]}` start-up: "
          f"CPU {added * 1000:+.0f} ms, wall {wall_added * 1000:+.0f} ms (target <= {TARGET_S * 1000:.0f} ms; judged "
          f"on CPU time, which other processes on the machine do not inflate): {verdict(added, TARGET_S)}")
    lab = results.get(main_key, {})
    emit_result(
        "startup",
        metric=f"Start-up cost added by the extension to `{modules[main_key]}` (until the first HTTP answer, "
        f"median of {args.runs} paired starts)",
        target=f"<= {TARGET_S:.2f} s",
        measured=f"CPU {added:+.3f} s ({lab.get('cpu_off', 0):.2f} -> {lab.get('cpu_on', 0):.2f} s), wall "
        f"{wall_added:+.3f} s ({lab.get('wall_off', 0):.2f} -> {lab.get('wall_on', 0):.2f} s); extension code "
        f"alone (probe) {own * 1000:.0f} ms",
        ok=added <= TARGET_S,
        details={"results": results, "probe": timings, "heavy_imports": heavy},
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

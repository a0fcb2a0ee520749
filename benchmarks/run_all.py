"""Run every benchmark (one after the other) and print a Markdown table of the results.

    python benchmarks/run_all.py [--only startup,relay_latency,replay,memory_idle,memory_idle_claude,real_cli_latency,acp_latency] [--quick]

Each benchmark runs as its own process and prints a ``RESULT {json}`` line; its full output is
echoed as it runs. ``--quick`` shortens the runs (for a smoke check, not for figures).
Exits 0 even when a target is missed: benchmarks report, they do not gate.
"""

from __future__ import annotations

import argparse
import datetime
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _common import machine  # noqa: E402

#: name -> (script, arguments for the figures, arguments for --quick)
BENCHMARKS: dict[str, tuple[str, list[str], list[str]]] = {
    "startup": ("startup", [], ["--runs", "2", "--apps", "server"]),
    "relay_latency": ("relay_latency", [], ["--seconds", "4", "--repeat", "1"]),
    "replay": ("replay", [], ["--runs", "3"]),
    "memory_idle": ("memory_idle", [], ["--count", "50", "--rounds", "1"]),
    "memory_idle_claude": ("memory_idle", ["--backend", "claude", "--count", "100"],
                           ["--backend", "claude", "--count", "20", "--rounds", "1"]),
    "real_cli_latency": ("real_cli_latency", ["--turns", "60"], ["--turns", "3", "--warmup", "1"]),
    "acp_latency": ("acp_latency", ["--turns", "30"], ["--turns", "3", "--warmup", "1"]),
}


def run_one(name: str, args: list[str]) -> dict[str, Any]:
    """Run one benchmark script (``benchmarks/<name>.py``), echo its output, return its RESULT."""
    command = [sys.executable, str(HERE / f"{name}.py"), *args]
    print(f"\n$ python benchmarks/{name}.py {' '.join(args)}".rstrip(), flush=True)
    started = time.monotonic()
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    result: dict[str, Any] = {"benchmark": name, "metric": name, "target": "?", "measured": "failed", "ok": False}
    assert proc.stdout is not None
    for line in proc.stdout:
        if line.startswith("RESULT "):
            result = json.loads(line[7:])
        else:
            print("  " + line, end="", flush=True)
    proc.wait()
    result["seconds"] = time.monotonic() - started
    result["command"] = f"python benchmarks/{name}.py {' '.join(args)}".rstrip()
    if proc.returncode != 0:
        result["measured"] = f"failed (exit {proc.returncode})"
        result["ok"] = False
    return result


def table(results: list[dict[str, Any]]) -> str:
    """The Markdown table."""
    lines = ["| Metric | Target | Measured | Met | Command |", "|---|---|---|---|---|"]
    for r in results:
        met = "yes" if r.get("ok") else "**no**"
        lines.append(f"| {r['metric']} | {r['target']} | {r['measured']} | {met} | `{r['command']}` |")
    return "\n".join(lines)


def main() -> int:
    """Run the selected benchmarks and print the table."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", default=",".join(BENCHMARKS), help="comma list of benchmarks")
    parser.add_argument("--quick", action="store_true", help="short runs (smoke check)")
    args = parser.parse_args()
    names = [n.strip() for n in args.only.split(",") if n.strip()]
    unknown = [n for n in names if n not in BENCHMARKS]
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(unknown)}")
    results = []
    for name in names:
        script, full, quick = BENCHMARKS[name]
        results.append(run_one(script, quick if args.quick else full))
    info = machine()
    print(f"\n## Results ({datetime.date.today().isoformat()})\n")
    print(f"Machine: {info['cpus']} CPUs ({info['cpu']}), {info['memory_gib']} GiB RAM, Linux {info['kernel']}, "
          f"Python {info['python']}" + (" — quick mode, not figures" if args.quick else "") + "\n")
    print(table(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())

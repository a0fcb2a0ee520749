"""``jupyter companion agents list|run|runs``, ``jupyter companion prompts`` and
``%companion agent ...``.

Kept apart from :mod:`.cli` and :mod:`.magics` (the sessions' commands), which hand their parsed
arguments, output and client over.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .client.render import format_table
from .client.routes import resolve_agent_ref

if TYPE_CHECKING:
    from .cli import Cli

#: How often ``agents run --wait`` asks how the run goes.
POLL_SECONDS = 0.5
LIVE = ("running", "awaiting_permission")


def add_agent_commands(add: Callable[[str, str], argparse.ArgumentParser]) -> None:
    """Add the ``agents`` and ``prompts`` subcommands."""
    p = add("agents", "agents that run by themselves: list them, run one now, list their runs")
    p.add_argument("action", choices=("list", "run", "runs"), help="list | run AGENT | runs [AGENT]")
    p.add_argument("agent", nargs="?", help="agent id, unique id prefix or name")
    p.add_argument("--input", help="the run's input (replaces {{input}} in the agent's prompt)")
    p.add_argument("--no-wait", action="store_true", help="run: start it and return at once")
    p.add_argument("--status", choices=("running", "awaiting_permission", "success", "error", "skipped"),
                   help="runs: only runs in this status")
    p.add_argument("--limit", type=int, default=20, help="runs: at most this many (default: 20)")
    add("prompts", "saved prompts (insert them in the panel's composer with @)")


def agents_table(agents: list[dict[str, Any]], color: bool) -> str:
    """Agents as a table."""
    if not agents:
        return "(no agents)"
    rows = [[str(a["id"]), str(a["name"])[:40], str(a.get("backend", "")),
             "on" if a.get("enabled") else "off" + (" (" + str(a.get("disabled_reason"))[:40] + ")"
                                                    if a.get("disabled_reason") else ""),
             str(a.get("schedule_text") or "-"), str(a.get("next_run_at") or "-")[:16]] for a in agents]
    return format_table(rows, ["ID", "NAME", "BACKEND", "ENABLED", "SCHEDULE", "NEXT RUN"], color)


def runs_table(runs: list[dict[str, Any]], color: bool) -> str:
    """Runs as a table."""
    if not runs:
        return "(no runs)"
    rows = [[str(r["id"])[:12], str(r.get("agent_name") or r.get("agent_id"))[:30], str(r.get("trigger")),
             str(r.get("status")), str(r.get("started_at") or "")[:19], str(r.get("session_id") or "-")[:12],
             str(r.get("error") or "")[:60]] for r in runs]
    return format_table(rows, ["RUN", "AGENT", "TRIGGER", "STATUS", "STARTED", "SESSION", "ERROR"], color)


def agents_command(cli: Cli) -> int:
    """``jupyter companion agents ...``."""
    from .cli import EXIT_OK, EXIT_TURN, EXIT_USAGE

    args = cli.args
    agents: list[dict[str, Any]] = cli.client.list_agents()
    if args.action == "list":
        cli.emit({"agents": agents}, agents_table(agents, cli.color))
        return EXIT_OK
    agent = resolve_agent_ref(agents, args.agent) if args.agent else None
    if args.action == "runs":
        found = cli.client.list_runs(agent_id=agent["id"] if agent else None, status=args.status, limit=args.limit)
        cli.emit(found, runs_table(found["runs"], cli.color))
        return EXIT_OK
    if agent is None:
        cli.err.write("jupyter companion agents run: name the agent to run\n")
        return EXIT_USAGE
    run = cli.client.run_agent(agent["id"], args.input)
    if args.no_wait or run["status"] not in LIVE:
        cli.emit(run, f"run {run['id']} of {agent['name']}: {run['status']}"
                 + (f" ({run['error']})" if run.get("error") else ""))
        return EXIT_OK if run["status"] != "error" else EXIT_TURN
    if not cli.json:
        cli.write(f"run {run['id']} of {agent['name']} started\n")

    def waiting(going: dict[str, Any]) -> None:
        if not cli.json:
            cli.write(f"waiting for a permission: jupyter companion attach {going['session_id']}\n")

    run, reply = follow_run(cli.client, run, waiting)
    cli.emit({**run, "reply": reply}, f"{run['status']}" + (f": {run['error']}" if run.get("error") else "")
             + (f"\n{reply}" if reply and run["status"] == "success" else ""))
    return EXIT_OK if run["status"] == "success" else EXIT_TURN


def follow_run(client: Any, run: dict[str, Any], on_waiting: Callable[[dict[str, Any]], None],
               on_session: Callable[[str], None] = lambda session_id: None) -> tuple[dict[str, Any], str]:
    """Ask how a run goes until it ends: the ended run and its reply (its session's first result
    text). ``on_waiting`` is called once when it waits for a permission, ``on_session`` with its
    session's id."""
    said_waiting = False
    while run["status"] in LIVE:
        time.sleep(POLL_SECONDS)
        run = client.get_run(run["id"])
        if run.get("session_id"):
            on_session(str(run["session_id"]))
        if run["status"] == "awaiting_permission" and not said_waiting:
            said_waiting = True
            on_waiting(run)
    if not run.get("session_id"):
        return run, ""
    events = client.events(str(run["session_id"]))
    return run, next((str(e.get("text") or "") for e in events.get("events", []) if e.get("type") == "result"), "")


def prompts_command(cli: Cli) -> int:
    """``jupyter companion prompts``."""
    from .cli import EXIT_OK

    prompts: list[dict[str, Any]] = cli.client.list_prompts()
    rows = [[str(p["name"])[:40], " ".join(str(p["text"]).split())[:80]] for p in prompts]
    cli.emit({"prompts": prompts}, format_table(rows, ["NAME", "TEXT"], cli.color) if rows else "(no saved prompts)")
    return EXIT_OK


def agent_magic(magics: Any, args: argparse.Namespace) -> None:
    """``%companion agent list|run NAME [--input TEXT]|runs [NAME]``: a run's session becomes the
    magics' current one (so ``%companion approve`` answers what it waits for)."""
    from IPython.core.error import UsageError

    client = magics.client
    agents = client.list_agents()
    if args.action == "list":
        print(agents_table(agents, False))
        return
    agent = resolve_agent_ref(agents, args.agent) if args.agent else None
    if args.action == "runs":
        found = client.list_runs(agent_id=agent["id"] if agent else None, limit=20)
        print(runs_table(found["runs"], False))
        return
    if agent is None:
        raise UsageError("%companion agent run: name the agent to run")
    run = client.run_agent(agent["id"], args.input)
    print(f"Run {run['id'][:12]} of {agent['name']}: {run['status']}")

    def waiting(going: dict[str, Any]) -> None:
        print("It waits for a permission: `%companion chat` shows it, `%companion approve` allows it.")

    try:
        run, reply = follow_run(client, run, waiting, lambda sid: setattr(magics, "current", sid))
    except KeyboardInterrupt:
        print("Stopped waiting; the run goes on (`%companion agent runs` shows it).")
        return
    print(run["status"] + (f": {run['error']}" if run.get("error") else ""))
    if reply and run["status"] == "success":
        print(reply)

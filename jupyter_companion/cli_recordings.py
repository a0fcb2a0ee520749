"""``jupyter companion recording REF``: a session's CLI protocol recording, to a file or stdout
(attach it to a bug report; ``POST recordings`` and a ``replay`` session play it back).

Kept apart from :mod:`.cli`, which hands its parsed arguments, output and client over.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .client.errors import CompanionHTTPError
from .client.render import format_table

if TYPE_CHECKING:
    from .cli import Cli


def add_recording_command(add: Callable[[str, str], argparse.ArgumentParser]) -> None:
    """Add the ``recording`` subcommand."""
    p = add("recording", "download a session's CLI protocol recording (for a bug report or a replay)")
    p.add_argument("ref", help="session id, unique prefix or name, or a recording id")
    p.add_argument("-o", "--output", help="write it to this file (default: stdout)")
    p.add_argument("--list", action="store_true", help="list the session's recordings instead")


def recordings_table(recordings: list[dict[str, Any]], color: bool) -> str:
    """Recordings as a table."""
    rows = [[r["id"], str(r.get("backend") or ""), str(r.get("started_at") or "")[:19], str(r.get("lines"))]
            for r in recordings]
    return format_table(rows, ["RECORDING", "BACKEND", "STARTED", "LINES"], color) if rows else "no recordings"


def recording_command(cli: Cli) -> int:
    """``jupyter companion recording REF [-o FILE] [--list]``."""
    from .cli import EXIT_OK, EXIT_USAGE

    args = cli.args
    all_recordings: list[dict[str, Any]] = cli.client.list_recordings()
    if any(r["id"] == args.ref for r in all_recordings):
        chosen = [r for r in all_recordings if r["id"] == args.ref]
    else:
        session_id = cli.session(args.ref)
        chosen = [r for r in all_recordings if r.get("session_id") == session_id]
    if args.list:
        cli.emit({"recordings": chosen}, recordings_table(chosen, cli.color))
        return EXIT_OK
    if not chosen:
        cli.err.write(f"jupyter companion recording: nothing is recorded for {args.ref!r} "
                      "(recording is off with c.CompanionApp.record = False)\n")
        return EXIT_USAGE
    newest = chosen[0]
    try:
        data = cli.client.download_recording(newest["id"])
    except CompanionHTTPError as exc:
        cli.err.write(f"jupyter companion recording: {exc}\n")
        return EXIT_USAGE
    if args.output:
        with open(args.output, "wb") as handle:
            handle.write(data)
        more = f" (the newest of {len(chosen)}; --list shows them all)" if len(chosen) > 1 else ""
        cli.err.write(f"recording {newest['id']} written to {args.output}{more}\n")
    else:
        cli.out.buffer.write(data) if hasattr(cli.out, "buffer") else cli.out.write(data.decode("utf-8"))
        cli.out.flush()
    return EXIT_OK

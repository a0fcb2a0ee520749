"""The arguments of ``jupyter companion``: every subcommand and its options (:mod:`.cli` runs them)."""

from __future__ import annotations

import argparse

from .backends.base import PERMISSION_MODES
from .cli_agents import add_agent_commands
from .cli_recordings import add_recording_command

EXIT_CODES_HELP = """\
exit codes:
  0  success (a followed turn ended without error)
  1  the server answered with an error (bad request, unknown session, ...)
  2  usage error (bad arguments)
  3  no Jupyter server with jupyter-companion found or reachable
  4  a followed turn ended in error, or stopped at a permission request that
     could not be answered (not interactive: use `jupyter companion approve`)
  130 interrupted with Ctrl-C

server discovery: --url/--token, else JUPYTER_COMPANION_URL/JUPYTER_COMPANION_TOKEN, else (in a
JupyterHub server) its JUPYTERHUB_* variables, else the running servers whose root holds the folder.
"""



def _common() -> argparse.ArgumentParser:
    """Options accepted before or after the subcommand."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--url", default=argparse.SUPPRESS, help="Jupyter server base URL")
    common.add_argument("--token", default=argparse.SUPPRESS, help="Jupyter server token")
    common.add_argument(
        "--json", action="store_true", default=argparse.SUPPRESS, help="machine-readable output"
    )
    common.add_argument("--no-color", action="store_true", default=argparse.SUPPRESS, help="no ANSI colors")
    return common


def build_parser() -> argparse.ArgumentParser:
    """The ``jupyter companion`` argument parser."""
    common = _common()
    parser = argparse.ArgumentParser(
        prog="jupyter companion",
        description="Drive jupyter-companion sessions (coding-agent CLIs inside Jupyter) from a terminal.",
        epilog=EXIT_CODES_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        parents=[common],
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    def add(name: str, help_text: str) -> argparse.ArgumentParser:
        return sub.add_parser(
            name,
            help=help_text,
            description=help_text,
            parents=[common],
            epilog=EXIT_CODES_HELP,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )

    add("status", "server version, backends and plugins")
    p = add("list", "list sessions")
    p.add_argument("--archived", choices=("false", "true", "all"), default="false")
    p.add_argument("--watch", action="store_true",
                   help="keep the list on screen and redraw it on every change (Ctrl-C to stop); "
                        "with --json, one line per change")

    p = add("conversations", "earlier conversations a new session can continue (new --resume ID)")
    p.add_argument("--backend", default="claude", help="backend (default: claude)")
    p.add_argument("--cwd", help="only those held in this folder")
    p.add_argument("--limit", type=int, default=30, help="at most this many (default: 30)")

    p = add("new", "create a session")
    p.add_argument("--backend", default="claude", help="backend (default: claude)")
    p.add_argument("--model", help="model id")
    p.add_argument(
        "--cwd", help="folder relative to the server root, or absolute inside it (default: current folder)"
    )
    p.add_argument("--branch", help="git branch")
    p.add_argument("--create-branch", action="store_true", help="create --branch if missing")
    p.add_argument("--worktree", action="store_true", help="use a separate git worktree")
    p.add_argument("--sandbox", help="where the CLI runs: local (default) or a sandbox provider such as docker")
    p.add_argument("--sandbox-profile", metavar="PROFILE", help="the sandbox profile (see GET sandbox-profiles)")
    p.add_argument("--mode", choices=PERMISSION_MODES, help="permission mode")
    p.add_argument("--name", help="session name")
    p.add_argument("--resume", metavar="CONVERSATION", help="continue an earlier conversation of the CLI "
                   "(an id from GET backends/{backend}/conversations)")
    p.add_argument("--fork", action="store_true", help="with --resume: continue a copy, leave the original as it was")
    p.add_argument("--recording", metavar="ID", help="replay a recording (backend replay; see `recording --list`)")
    p.add_argument("--field", action="append", default=[], type=field_value, metavar="NAME=VALUE",
                   help="a field an installed plugin reads, e.g. linear_issue=ENG-12 (repeatable)")
    p.add_argument("-q", "--quiet", action="store_true", help="print only the new session's id")

    p = add("send", "send a message and follow the turn to its end")
    p.add_argument("session", help="session id, unique prefix or name")
    p.add_argument("text", nargs="+", help="the message ('-' reads it from stdin)")
    p.add_argument("--no-wait", action="store_true", help="send and return at once")
    _answer_options(p)

    p = add("retry", "send a session's last message again (after its CLI died mid-answer) and follow the turn")
    p.add_argument("session", help="session id, unique prefix or name")
    _answer_options(p)

    p = add("attach", "follow a session live; answer permission requests (y/n) on a terminal")
    p.add_argument("session", help="session id, unique prefix or name")
    p.add_argument("--after", type=int, default=None, help="replay events after this seq (default: all)")
    p.add_argument("--no-history", action="store_true", help="only new events")
    p.add_argument("--until-result", action="store_true", help="detach when the next turn ends")
    _answer_options(p)

    for verb in ("approve", "deny"):
        p = add(
            verb,
            f"{'allow' if verb == 'approve' else 'deny'} a pending permission request, then follow the turn",
        )
        p.add_argument("session", help="session id, unique prefix or name")
        p.add_argument("request", nargs="?", help="request id or prefix (default: the only pending one)")
        p.add_argument("--no-wait", action="store_true", help="answer and return at once")
        if verb == "deny":
            p.add_argument("-m", "--message", help="why (shown to the agent)")
        _answer_options(p)

    for verb, text in (
        ("interrupt", "interrupt the running turn"),
        ("kill", "stop the session's CLI"),
        ("archive", "archive a session"),
    ):
        p = add(verb, text)
        p.add_argument("session", help="session id, unique prefix or name")

    p = add("export", "save a session's conversation as a notebook (or Markdown) in its folder")
    p.add_argument("session", help="session id, unique prefix or name")
    p.add_argument("--format", choices=("ipynb", "markdown"), default="ipynb", help="default: ipynb")

    p = add("logs", "print a session's events as a transcript")
    p.add_argument("session", help="session id, unique prefix or name")
    p.add_argument("--after", type=int, default=0, help="only events with seq > AFTER")
    p.add_argument("--limit", type=int, default=None, help="at most LIMIT events")
    p.add_argument("-f", "--follow", action="store_true", help="keep following new events")
    add_agent_commands(add)
    add_recording_command(add)
    return parser


def _answer_options(p: argparse.ArgumentParser) -> None:
    group = p.add_mutually_exclusive_group()
    group.add_argument("--yes", action="store_true", help="allow every permission request of the turn")
    group.add_argument(
        "--no-input", action="store_true", help="never prompt (exit 4 at a permission request)"
    )


def field_value(text: str) -> tuple[str, str]:
    """``NAME=VALUE`` of ``new --field``, as a pair; a usage error otherwise."""
    name, sep, value = text.partition("=")
    if not sep or not name.strip():
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE, got {text!r}")
    return name.strip(), value

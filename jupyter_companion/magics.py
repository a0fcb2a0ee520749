"""``%companion`` / ``%%companion`` magics: drive companion sessions from a notebook.

``%load_ext jupyter_companion`` registers them. Everything goes through the public API with
:class:`~jupyter_companion.client.CompanionClient`; replies stream into the cell output as plain
text (so they also work in nbconvert and terminal IPython); ``%companion new`` and
``%companion chat`` show the ipywidgets chat where widgets can render.
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any, NoReturn

from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_cell_magic, magics_class

from .backends.base import PERMISSION_MODES
from .client import (
    CompanionClient,
    CompanionError,
    TurnOutcome,
    default_client,
    pending_requests,
    resolve_session_ref,
)
from .client.render import TextRenderer, permission_text, sessions_table, status_text

SUBCOMMANDS = (
    "new",
    "list",
    "use",
    "send",
    "approve",
    "deny",
    "interrupt",
    "retry",
    "history",
    "export",
    "kill",
    "archive",
    "status",
    "chat",
    "connect",
)
#: subcommands whose first positional argument is a session id (for tab completion)
SESSION_ARG = ("use", "interrupt", "retry", "history", "export", "kill", "archive", "chat")
TEXT_ENV = "JUPYTER_COMPANION_TEXT"


class _HelpShown(Exception):
    """argparse printed help (``--help``); nothing else to do."""


class MagicArgumentParser(argparse.ArgumentParser):
    """argparse that reports errors as IPython ``UsageError`` instead of exiting."""

    def exit(self, status: int = 0, message: str | None = None) -> NoReturn:
        if message:
            sys.stdout.write(message)
        raise _HelpShown()

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{self.prog}: {message}\n{self.format_usage()}")


def build_parser() -> MagicArgumentParser:
    """The argument parser of ``%companion`` (one sub-parser per subcommand)."""
    parser = MagicArgumentParser(
        prog="%companion",
        description="Drive jupyter-companion sessions (coding agents) from this notebook. "
        "%%companion [ID] sends the cell body as a prompt and streams the reply.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=MagicArgumentParser)

    new = sub.add_parser("new", help="create a session (default folder: this notebook's)")
    new.add_argument("--backend", default="claude", help="backend name (default: claude)")
    new.add_argument("--model", help="model id")
    new.add_argument("--cwd", help="folder, relative to the server root (default: the notebook's folder)")
    new.add_argument("--branch", help="git branch to work on")
    new.add_argument("--create-branch", action="store_true", help="create --branch if it does not exist")
    new.add_argument("--worktree", action="store_true", help="work in a separate git worktree")
    new.add_argument("--sandbox", help="where the CLI runs: local (default) or e.g. docker")
    new.add_argument("--sandbox-profile", help="the sandbox profile to use")
    new.add_argument("--mode", choices=PERMISSION_MODES, help="permission mode")
    new.add_argument("--name", help="session name")
    new.add_argument("--resume", metavar="CONVERSATION", help="continue an earlier conversation of the CLI")
    new.add_argument("--fork", action="store_true", help="with --resume: continue a copy of it")
    new.add_argument("--recording", help="replay this recording (backend replay; see GET recordings)")
    new.add_argument("--field", action="append", default=[], metavar="NAME=VALUE",
                     help="a field a plugin reads, e.g. linear_issue=ENG-12 (repeatable)")
    new.add_argument("--no-widget", action="store_true", help="plain text instead of the chat widget")

    lst = sub.add_parser("list", help="list sessions")
    lst.add_argument("--archived", choices=("false", "true", "all"), default="false")

    use = sub.add_parser("use", help="make a session the current one")
    use.add_argument("session", help="session id, unique id prefix or name")

    send = sub.add_parser("send", help="send TEXT to the current session and stream the reply")
    send.add_argument("-s", "--session", help="session (default: the current one)")
    send.add_argument("text", nargs=argparse.REMAINDER, help="the prompt (rest of the line)")

    for verb, what in (("approve", "allow"), ("deny", "deny")):
        p = sub.add_parser(verb, help=f"{what} a pending permission request and stream the rest of the turn")
        p.add_argument("request", nargs="?", help="request id or prefix (default: the only pending one)")
        p.add_argument("-s", "--session", help="session (default: the current one)")
        if verb == "deny":
            p.add_argument("-m", "--message", help="why (shown to the agent)")

    intr = sub.add_parser("interrupt", help="interrupt the running turn")
    intr.add_argument("session", nargs="?", help="session (default: the current one)")

    retry = sub.add_parser("retry", help="send the last message again (after the CLI died mid-answer)")
    retry.add_argument("session", nargs="?", help="session (default: the current one)")

    hist = sub.add_parser("history", help="print a session's transcript")
    hist.add_argument("session", nargs="?", help="session (default: the current one)")
    hist.add_argument("--after", type=int, default=0, help="only events with seq > AFTER")

    exp = sub.add_parser("export", help="save a session's conversation as a notebook next to its files")
    exp.add_argument("session", nargs="?", help="session (default: the current one)")
    exp.add_argument("--format", choices=("ipynb", "markdown"), default="ipynb", help="default: ipynb")

    for verb in ("kill", "archive"):
        p = sub.add_parser(verb, help=f"{verb} a session")
        p.add_argument("session", help="session id, unique id prefix or name")

    sub.add_parser("status", help="server version, backends and plugins")

    ch = sub.add_parser("chat", help="show the chat widget of a session")
    ch.add_argument("session", nargs="?", help="session (default: the current one)")

    agent = sub.add_parser("agent", help="agents: list them, run one now (and wait for its answer), list runs")
    agent.add_argument("action", choices=("list", "run", "runs"))
    agent.add_argument("agent", nargs="?", help="agent id, unique id prefix or name")
    agent.add_argument("--input", help="the run's input (replaces {{input}} in the agent's prompt)")

    conn = sub.add_parser("connect", help="use the server at URL (instead of discovery)")
    conn.add_argument("url")
    conn.add_argument("token", nargs="?", default=None)
    return parser


def split_line(line: str) -> list[str]:
    """Split a magic line like a shell; ``send`` keeps its text verbatim (quotes and all)."""
    stripped = line.strip()
    head, _, rest = stripped.partition(" ")
    if head == "send":
        args = ["send"]
        rest = rest.strip()
        while rest.startswith(("-s ", "--session ", "-h", "--help")):
            opt, _, rest = rest.partition(" ")
            args.append(opt)
            if opt in ("-s", "--session"):
                value, _, rest = rest.strip().partition(" ")
                args.append(value)
            rest = rest.strip()
        if rest:
            args.append(rest)
        return args
    try:
        return shlex.split(stripped)
    except ValueError as exc:
        raise UsageError(f"%companion: {exc}") from None


def _stdout_write(text: str) -> None:
    sys.stdout.write(text)
    sys.stdout.flush()


@magics_class
class CompanionMagics(Magics):
    """The ``%companion`` line magic and ``%%companion`` cell magic."""

    def __init__(self, shell: Any = None, client_factory: Callable[[], CompanionClient] = default_client):
        super().__init__(shell)
        self.client_factory = client_factory
        self.current: str | None = None
        self.last_outcome: TurnOutcome | None = None
        self.parser = build_parser()
        self._ids_cache: tuple[float, list[str]] = (0.0, [])

    # -- helpers ---------------------------------------------------------------------------------
    @property
    def client(self) -> CompanionClient:
        """The client in use (discovered on first use)."""
        return self.client_factory()

    def use_widgets(self) -> bool:
        """Widgets only in a kernel with ipywidgets, unless JUPYTER_COMPANION_TEXT=1."""
        if os.environ.get(TEXT_ENV, "").lower() in ("1", "true", "yes"):
            return False
        from .widgets import widgets_available

        return widgets_available()

    def session_id(self, ref: str | None) -> str:
        """Resolve ``ref`` (id, prefix or name) or fall back to the current session."""
        if not ref:
            if self.current is None:
                raise UsageError("no current session: run `%companion new`, or `%companion use ID`")
            return self.current
        return resolve_session_ref(self.client.list_sessions("all"), ref)

    def renderer(self, session_id: str, show_user: bool = False) -> TextRenderer:
        """A text renderer writing to the cell output, with hints naming the magics."""

        def hint(event: dict[str, Any]) -> str:
            rid = event.get("request_id")
            return f"Answer with `%companion approve {rid}` or `%companion deny {rid}`."

        return TextRenderer(_stdout_write, show_user=show_user, permission_hint=hint,
                            retry_hint=f"Send it again with `%companion retry {session_id}`.")

    def _report(self, outcome: TurnOutcome, renderer: TextRenderer) -> None:
        renderer.finish()
        self.last_outcome = outcome
        if outcome.kind == "closed":
            print("(the event stream closed before the turn ended)")
        elif outcome.kind == "terminated":
            print("(the session terminated)")

    def _follow(self, run: Callable[[TextRenderer], TurnOutcome], session_id: str) -> None:
        renderer = self.renderer(session_id)
        try:
            outcome = run(renderer)
        except KeyboardInterrupt:
            renderer.finish()
            print("Stopped following; the turn goes on. `%companion interrupt` stops it.")
            return
        self._report(outcome, renderer)

    # -- entry point -----------------------------------------------------------------------------
    @line_cell_magic
    def companion(self, line: str, cell: str | None = None) -> Any:
        """Drive jupyter-companion sessions. ``%companion --help`` lists the subcommands."""
        if cell is not None:
            return self._cell(line, cell)
        argv = split_line(line)
        try:
            args = self.parser.parse_args(argv)
        except _HelpShown:
            return None
        if not args.command:
            self.parser.print_help()
            return None
        try:
            return getattr(self, "_cmd_" + args.command)(args)
        except CompanionError as exc:
            raise UsageError(str(exc)) from None
        except LookupError as exc:
            raise UsageError(str(exc.args[0]) if exc.args else str(exc)) from None

    def _cell(self, line: str, cell: str) -> None:
        ref = line.strip() or None
        if ref in ("-h", "--help"):
            print(
                "%%companion [SESSION]\n\nSend the cell body as a prompt to SESSION (default: the current one)"
            )
            print("and stream the reply into the output.")
            return
        if not cell.strip():
            raise UsageError("%%companion: the cell is empty; write the prompt below the magic line")
        try:
            sid = self.session_id(ref)
            self.current = sid
            self._follow(lambda r: self.client.run_turn(sid, cell.strip(), r), sid)
        except CompanionError as exc:
            raise UsageError(str(exc)) from None
        except LookupError as exc:
            raise UsageError(str(exc.args[0]) if exc.args else str(exc)) from None

    # -- subcommands -----------------------------------------------------------------------------
    def _cmd_agent(self, args: argparse.Namespace) -> Any:
        """``%companion agent list|run NAME [--input TEXT]|runs [NAME]`` (see :func:`.cli_agents.agent_magic`)."""
        from .cli_agents import agent_magic

        return agent_magic(self, args)

    def _cmd_new(self, args: argparse.Namespace) -> Any:
        from .widgets import CreationProgress, chat

        client = self.client
        cwd = args.cwd if args.cwd is not None else client.server.relative_cwd(os.getcwd())
        widgets = self.use_widgets() and not args.no_widget
        progress = CreationProgress(widgets)
        fields = dict(field.split("=", 1) for field in args.field if "=" in field)
        if args.recording:
            fields["recording"] = args.recording
        try:
            session = client.create_session(
                "replay" if args.recording else args.backend,
                **fields,
                on_progress=progress,
                cwd=cwd,
                model=args.model,
                permission_mode=args.mode,
                name=args.name,
                branch=args.branch,
                create_branch=args.create_branch or None,
                worktree=args.worktree or None,
                sandbox=args.sandbox or ("docker" if args.sandbox_profile else None),
                sandbox_profile=args.sandbox_profile,
                resume_session=args.resume,
                fork=args.fork or None,
            )
        except CompanionError as exc:
            progress.finish(False, str(exc))
            raise
        sid = str(session["id"])
        self.current = sid
        progress.finish(True, f"Session {sid} ready ({session.get('backend')}, {session.get('cwd')}).")
        if widgets:
            from IPython.display import display

            display(chat(client, sid))
        return None

    def _cmd_list(self, args: argparse.Namespace) -> None:
        sessions = self.client.list_sessions(args.archived)
        self._ids_cache = (time.monotonic(), [str(s.get("id")) for s in sessions])
        table = sessions_table(sessions)
        if self.current:
            table += f"\n\ncurrent: {self.current}"
        print(table)

    def _cmd_use(self, args: argparse.Namespace) -> None:
        sid = self.session_id(args.session)
        session = self.client.get_session(sid)
        self.current = sid
        print(f"Current session: {sid} ({session.get('name') or 'unnamed'}, {session.get('phase')})")

    def _cmd_send(self, args: argparse.Namespace) -> None:
        text = " ".join(args.text).strip()
        if not text:
            raise UsageError("%companion send: nothing to send (usage: %companion send TEXT)")
        sid = self.session_id(args.session)
        self._follow(lambda r: self.client.run_turn(sid, text, r), sid)

    def _answer(self, args: argparse.Namespace, behavior: str) -> None:
        sid = self.session_id(args.session)
        pending = pending_requests(self.client.get_session(sid))
        ids = [str(p.get("request_id")) for p in pending]
        if args.request:
            matches = [i for i in ids if i == args.request] or [i for i in ids if i.startswith(args.request)]
            if len(matches) != 1:
                raise UsageError(
                    f"no single pending request matches {args.request!r} (pending: {', '.join(ids) or 'none'})"
                )
            request_id = matches[0]
        elif len(ids) == 1:
            request_id = ids[0]
        elif not ids:
            raise UsageError(f"session {sid} has no pending permission request")
        else:
            listing = "\n\n".join(permission_text(p) for p in pending)
            raise UsageError(f"several requests are pending; name one:\n{listing}")
        message = getattr(args, "message", None)
        print(f"{'Allowed' if behavior == 'allow' else 'Denied'} {request_id}.")
        self._follow(
            lambda r: self.client.answer_and_follow(sid, request_id, behavior, r, message=message), sid
        )

    def _cmd_approve(self, args: argparse.Namespace) -> None:
        self._answer(args, "allow")

    def _cmd_deny(self, args: argparse.Namespace) -> None:
        self._answer(args, "deny")

    def _cmd_interrupt(self, args: argparse.Namespace) -> None:
        sid = self.session_id(args.session)
        self.client.interrupt(sid)
        print(f"Interrupted {sid}.")

    def _cmd_retry(self, args: argparse.Namespace) -> None:
        sid = self.session_id(args.session)
        self._follow(lambda r: self.client.retry_and_follow(sid, r), sid)

    def _cmd_history(self, args: argparse.Namespace) -> None:
        sid = self.session_id(args.session)
        renderer = TextRenderer(_stdout_write, show_user=True)
        for event in self.client.all_events(sid, after=args.after):
            renderer(event)
        renderer.finish()

    def _cmd_export(self, args: argparse.Namespace) -> None:
        sid = self.session_id(args.session)
        saved = self.client.export_session(sid, args.format)
        print(f"Saved {saved.get('path') or saved.get('file')}")

    def _cmd_kill(self, args: argparse.Namespace) -> None:
        sid = self.session_id(args.session)
        self.client.kill_session(sid)
        print(f"Killed {sid}.")

    def _cmd_archive(self, args: argparse.Namespace) -> None:
        sid = self.session_id(args.session)
        self.client.archive_session(sid)
        if self.current == sid:
            self.current = None
        print(f"Archived {sid}.")

    def _cmd_status(self, args: argparse.Namespace) -> None:
        client = self.client
        print(status_text(client.status(), client.server.url))
        if self.current:
            print(f"current session: {self.current}")

    def _cmd_chat(self, args: argparse.Namespace) -> Any:
        sid = self.session_id(args.session)
        if not self.use_widgets():
            raise UsageError("widgets cannot render here; use `%companion history` and `%companion send`")
        from .widgets import chat

        self.current = sid
        return chat(self.client, sid)

    def _cmd_connect(self, args: argparse.Namespace) -> None:
        from .client import connect

        client = connect(args.url, args.token)
        self.client_factory = lambda: client
        print(status_text(client.status(), client.server.url))

    # -- completion ------------------------------------------------------------------------------
    def session_ids(self, max_age: float = 5.0) -> list[str]:
        """Session ids for completion (cached for ``max_age`` seconds; empty on any error)."""
        stamp, ids = self._ids_cache
        if time.monotonic() - stamp > max_age:
            try:
                ids = [str(s.get("id")) for s in self.client.list_sessions("all")]
            except Exception:
                ids = []
            self._ids_cache = (time.monotonic(), ids)
        return ids

    def complete(self, line: str) -> list[str]:
        """Completions for the text of a ``%companion`` line typed so far."""
        words = line.split()
        if words and words[0].lstrip("%") == "companion":
            words = words[1:]
        if line.endswith(" "):
            words.append("")
        if len(words) <= 1:
            prefix = words[0] if words else ""
            return [c for c in SUBCOMMANDS if c.startswith(prefix)]
        command, prefix = words[0], words[-1]
        if command == "new" and prefix.startswith("-"):
            options = [
                "--backend",
                "--model",
                "--cwd",
                "--branch",
                "--create-branch",
                "--worktree",
                "--sandbox",
                "--sandbox-profile",
                "--mode",
                "--name",
                "--resume",
                "--fork",
            ]
            return [o for o in options if o.startswith(prefix)]
        if command in SESSION_ARG or (len(words) >= 3 and words[-2] in ("-s", "--session")):
            return [i for i in self.session_ids() if i.startswith(prefix)]
        if command in ("approve", "deny") and self.current:
            try:
                pending = pending_requests(self.client.get_session(self.current))
            except Exception:
                return []
            return [str(p.get("request_id")) for p in pending if str(p.get("request_id")).startswith(prefix)]
        return []


def _completer(magics: CompanionMagics) -> Callable[[Any, Any], Sequence[str]]:
    def complete(_shell: Any, event: Any) -> Sequence[str]:
        return magics.complete(getattr(event, "line", ""))

    return complete


def load_ipython_extension(ipython: Any) -> None:
    """Register the magics (and session-id completion) on ``ipython``."""
    magics = CompanionMagics(ipython)
    ipython.register_magics(magics)
    try:
        for key in ("%companion", "%%companion"):
            ipython.set_hook("complete_command", _completer(magics), str_key=key)
    except Exception:  # completion is a convenience; never break loading over it
        pass

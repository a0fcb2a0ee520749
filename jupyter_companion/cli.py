"""``jupyter companion ...``: drive companion sessions from a terminal.

Also runs as ``jupyter-companion`` and ``python -m jupyter_companion.cli``. Everything goes
through the public REST + WebSocket API (:mod:`jupyter_companion.client`).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any, TextIO

from .cli_agents import agents_command, prompts_command
from .cli_parser import build_parser
from .cli_recordings import recording_command
from .client import (
    CompanionClient,
    CompanionError,
    CompanionHTTPError,
    CompanionNotFound,
    TurnOutcome,
    pending_requests,
    resolve_session_ref,
)
from .client.render import (
    TextRenderer,
    conversations_table,
    paint,
    permission_text,
    sessions_table,
    status_text,
    terminal_text,
    tool_summary,
)

EXIT_OK = 0
EXIT_SERVER_ERROR = 1
EXIT_USAGE = 2
EXIT_NOT_FOUND = 3
EXIT_TURN = 4
EXIT_INTERRUPTED = 130

class Cli:
    """One run of the command line: parsed args, output streams, client."""

    def __init__(
        self,
        args: argparse.Namespace,
        stdout: TextIO,
        stderr: TextIO,
        stdin: TextIO,
        client_factory: Callable[[str | None, str | None], CompanionClient],
    ) -> None:
        self.args = args
        self.out = stdout
        self.err = stderr
        self.stdin = stdin
        self.json = bool(getattr(args, "json", False))
        tty = hasattr(stdout, "isatty") and stdout.isatty()
        self.tty = tty
        self.color = tty and not getattr(args, "no_color", False) and "NO_COLOR" not in os.environ
        self._client_factory = client_factory
        self._client: CompanionClient | None = None

    @property
    def client(self) -> CompanionClient:
        """The client (discovered on first use)."""
        if self._client is None:
            self._client = self._client_factory(
                getattr(self.args, "url", None), getattr(self.args, "token", None)
            )
        return self._client

    # -- output ----------------------------------------------------------------------------------
    def write(self, text: str) -> None:
        """Write to stdout at once (streamed text)."""
        self.out.write(text)
        self.out.flush()

    def emit(self, data: Any, text: str) -> None:
        """Print ``data`` as JSON with ``--json``, else ``text``."""
        if self.json:
            self.write(json.dumps(data, ensure_ascii=False) + "\n")
        elif text:
            self.write(text + "\n")

    def interactive(self) -> bool:
        """Whether permission requests may be asked on this terminal."""
        if self.json or getattr(self.args, "no_input", False):
            return False
        return hasattr(self.stdin, "isatty") and self.stdin.isatty()

    def renderer(self, session_id: str) -> Callable[[dict[str, Any]], None]:
        """Event sink: NDJSON with ``--json``, else colored text."""
        if self.json:
            return lambda event: self.write(json.dumps(event, ensure_ascii=False) + "\n")

        def hint(event: dict[str, Any]) -> str:
            if self.interactive() or getattr(self.args, "yes", False):
                return ""
            rid = event.get("request_id")
            return f"answer with: jupyter companion approve {session_id} {rid}   (or deny)"

        return TextRenderer(self.write, color=self.color, show_user=False, permission_hint=hint,
                            retry_hint=f"send it again with: jupyter companion retry {session_id}")

    def session(self, ref: str) -> str:
        """Resolve a session reference (id, unique prefix or name)."""
        return resolve_session_ref(self.client.list_sessions("all"), ref)

    # -- permission decisions --------------------------------------------------------------------
    def decide(self, event: dict[str, Any]) -> str | None:
        """``allow``/``deny`` for a pending request (``--yes`` or a y/n prompt), None if we cannot."""
        if getattr(self.args, "yes", False):
            return "allow"
        if not self.interactive():
            return None
        question = terminal_text(f"Allow {tool_summary(str(event.get('tool_name')), event.get('input'))}? [y/n] ")
        while True:
            self.err.write(paint(question, "yellow", self.color))
            self.err.flush()
            answer = self.stdin.readline()
            if not answer:
                return None
            answer = answer.strip().lower()
            if answer in ("y", "yes"):
                return "allow"
            if answer in ("n", "no"):
                return "deny"

    def drive(self, session_id: str, outcome: TurnOutcome, sink: Callable[[dict[str, Any]], None]) -> int:
        """Answer permission stops while we can; map the final outcome to an exit code."""
        while outcome.kind == "permission" and outcome.event is not None:
            behavior = self.decide(outcome.event)
            if behavior is None:
                break
            outcome = self.client.answer_and_follow(session_id, str(outcome.request_id), behavior, sink)
        if isinstance(sink, TextRenderer):
            sink.finish()
        if self.json:
            self.write(
                json.dumps(
                    {
                        "type": "turn_outcome",
                        "kind": outcome.kind,
                        "session_id": session_id,
                        "request_id": outcome.request_id,
                        "last_seq": outcome.last_seq,
                    }
                )
                + "\n"
            )
        if outcome.kind == "permission":
            return EXIT_TURN
        return EXIT_TURN if outcome.is_error else EXIT_OK

    # -- commands --------------------------------------------------------------------------------
    def cmd_status(self) -> int:
        status = self.client.status()
        self.emit(status, status_text(status, self.client.server.url))
        return EXIT_OK

    def cmd_agents(self) -> int:
        return agents_command(self)

    def cmd_prompts(self) -> int:
        return prompts_command(self)

    def cmd_recording(self) -> int:
        return recording_command(self)

    def cmd_list(self) -> int:
        if self.args.watch:
            return self._watch_list()
        sessions = self.client.list_sessions(self.args.archived)
        self.emit({"sessions": sessions}, sessions_table(sessions, self.color))
        return EXIT_OK

    def _watch_list(self) -> int:
        """Redraw the list from the sessions feed until interrupted."""
        wanted = self.args.archived
        clear = "\x1b[H\x1b[2J" if self.tty and not self.json else ""  # redraw in place on a terminal
        try:
            for everything in self.client.watch_sessions():
                sessions = [s for s in everything
                            if wanted == "all" or bool(s.get("archived")) == (wanted == "true")]
                if self.json:
                    self.write(json.dumps({"sessions": sessions}) + "\n")
                else:
                    self.write(f"{clear}{sessions_table(sessions, self.color)}\n\n")
        except KeyboardInterrupt:
            pass
        return EXIT_OK

    def cmd_conversations(self) -> int:
        a = self.args
        found = self.client.conversations(a.backend, cwd=a.cwd, limit=a.limit)
        self.emit({"conversations": found}, conversations_table(found, self.color))
        return EXIT_OK

    def cmd_new(self) -> int:
        a = self.args
        client = self.client
        cwd = a.cwd if a.cwd is not None else client.server.relative_cwd(os.getcwd())
        quiet = a.quiet or self.json

        def progress(item: dict[str, Any]) -> None:
            if quiet:
                return
            status = item.get("status")
            mark = {"done": "✓", "error": "✗"}.get(str(status), "…")
            detail = f" ({item['detail']})" if item.get("detail") else ""
            self.err.write(terminal_text(f"{mark} {item.get('label') or item.get('step')}{detail}") + "\n")
            self.err.flush()

        fields = dict(a.field)
        if a.recording:
            fields["recording"] = a.recording
        session = client.create_session(
            "replay" if a.recording else a.backend,
            **fields,
            on_progress=progress,
            cwd=cwd,
            model=a.model,
            permission_mode=a.mode,
            name=a.name,
            branch=a.branch,
            create_branch=a.create_branch or None,
            worktree=a.worktree or None,
            sandbox=a.sandbox or ("docker" if a.sandbox_profile else None),
            sandbox_profile=a.sandbox_profile,
            resume_session=a.resume,
            fork=a.fork or None,
        )
        if a.quiet and not self.json:
            self.write(f"{session['id']}\n")
        else:
            self.emit(
                session, f"Created session {session['id']} ({session.get('backend')} in {session.get('cwd')})"
            )
        return EXIT_OK

    def cmd_send(self) -> int:
        sid = self.session(self.args.session)
        text = " ".join(self.args.text)
        if text == "-":
            text = self.stdin.read()
        if not text.strip():
            self.err.write("jupyter companion send: empty message\n")
            return EXIT_USAGE
        if self.args.no_wait:
            answer = self.client.send_message(sid, text)
            how = "queued: it goes when the agent finishes its current turn" if answer.get("queued") else "sent"
            self.emit(answer, f"{how} ({answer.get('client_msg_id')})")
            return EXIT_OK
        sink = self.renderer(sid)
        return self.drive(sid, self.client.run_turn(sid, text, sink), sink)

    def cmd_retry(self) -> int:
        sid = self.session(self.args.session)
        sink = self.renderer(sid)
        return self.drive(sid, self.client.retry_and_follow(sid, sink), sink)

    def _answer(self, behavior: str) -> int:
        sid = self.session(self.args.session)
        pending = pending_requests(self.client.get_session(sid))
        ids = [str(p.get("request_id")) for p in pending]
        ref = self.args.request
        if ref:
            matches = [i for i in ids if i == ref] or [i for i in ids if i.startswith(ref)]
        else:
            matches = ids
        if len(matches) != 1:
            listing = "\n".join(permission_text(p) for p in pending) or "(none pending)"
            what = f"no single pending request matches {ref!r}" if ref else "name the request to answer"
            if not ids:
                what = f"session {sid} has no pending permission request"
            self.err.write(f"jupyter companion {self.args.command}: {what}\n{listing}\n")
            return EXIT_SERVER_ERROR
        request_id = matches[0]
        message = getattr(self.args, "message", None)
        if self.args.no_wait:
            answer = self.client.respond_permission(sid, request_id, behavior, message=message)
            self.emit(answer, f"{behavior}: {request_id}")
            return EXIT_OK
        if not self.json:
            self.write(
                paint(f"{'allowed' if behavior == 'allow' else 'denied'} {request_id}\n", "green", self.color)
            )
        sink = self.renderer(sid)
        outcome = self.client.answer_and_follow(sid, request_id, behavior, sink, message=message)
        return self.drive(sid, outcome, sink)

    def cmd_approve(self) -> int:
        return self._answer("allow")

    def cmd_deny(self) -> int:
        return self._answer("deny")

    def _action(self, method: Callable[[str], Any], done: str) -> int:
        sid = self.session(self.args.session)
        answer = method(sid)
        self.emit(answer, f"{done} {sid}")
        return EXIT_OK

    def cmd_interrupt(self) -> int:
        return self._action(self.client.interrupt, "interrupted")

    def cmd_kill(self) -> int:
        return self._action(self.client.kill_session, "killed")

    def cmd_archive(self) -> int:
        return self._action(self.client.archive_session, "archived")

    def cmd_export(self) -> int:
        saved = self.client.export_session(self.session(self.args.session), self.args.format)
        self.emit(saved, f"Saved {saved.get('path') or saved.get('file')}")
        return EXIT_OK

    def cmd_logs(self) -> int:
        sid = self.session(self.args.session)
        sink = self.renderer(sid) if self.json else TextRenderer(self.write, color=self.color, show_user=True)
        if self.args.limit is not None:
            events = self.client.events(sid, after=self.args.after, limit=self.args.limit).get("events", [])
        else:
            events = self.client.all_events(sid, after=self.args.after)
        last = self.args.after
        for event in events:
            sink(event)
            last = max(last, int(event.get("seq") or 0))
        if self.args.follow:
            try:
                for event in self.client.stream(sid, last):
                    sink(event)
            except KeyboardInterrupt:
                pass
        if isinstance(sink, TextRenderer):
            sink.finish()
        return EXIT_OK

    def cmd_attach(self) -> int:
        sid = self.session(self.args.session)
        after = self.args.after or 0
        live_from = int(self.client.get_session(sid).get("last_seq") or 0)
        if self.args.no_history:
            after = live_from
        sink = self.renderer(sid) if self.json else TextRenderer(self.write, color=self.color, show_user=True)
        if not self.json:
            self.err.write(paint(f"attached to {sid} (Ctrl-C to detach)\n", "dim", self.color))
        try:
            for event in self.client.stream(sid, after):
                sink(event)
                if event.get("type") == "permission_request":
                    self._maybe_answer(sid, event)
                live = (event.get("seq") or 0) > live_from
                if self.args.until_result and event.get("type") == "result" and live:
                    break
        except KeyboardInterrupt:
            pass
        if isinstance(sink, TextRenderer):
            sink.finish()
        return EXIT_OK

    def _maybe_answer(self, sid: str, event: dict[str, Any]) -> None:
        rid = str(event.get("request_id"))
        if not (self.interactive() or getattr(self.args, "yes", False)):
            return
        if rid not in {str(p.get("request_id")) for p in pending_requests(self.client.get_session(sid))}:
            return
        behavior = self.decide(event)
        if behavior is not None:
            try:
                self.client.respond_permission(sid, rid, behavior)
            except CompanionHTTPError as exc:  # answered elsewhere meanwhile
                self.err.write(f"{exc}\n")


def _default_factory(url: str | None, token: str | None) -> CompanionClient:
    return CompanionClient(url, token)


def main(
    argv: Sequence[str] | None = None,
    *,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
    stdin: TextIO | None = None,
    client_factory: Callable[[str | None, str | None], CompanionClient] = _default_factory,
) -> int:
    """Run ``jupyter companion`` with ``argv``; answer the exit code (see ``--help``)."""
    out = stdout or sys.stdout
    err = stderr or sys.stderr
    parser = build_parser()
    try:
        args = parser.parse_args(list(sys.argv[1:] if argv is None else argv))
    except SystemExit as exc:  # --help (0) or a usage error (2)
        return int(exc.code) if isinstance(exc.code, int) else EXIT_USAGE
    if not args.command:
        parser.print_help(out)
        return EXIT_USAGE
    cli = Cli(args, out, err, stdin or sys.stdin, client_factory)
    try:
        code: int = getattr(cli, "cmd_" + args.command)()
        return code
    except CompanionNotFound as exc:
        err.write(f"jupyter companion: {exc}\n")
        return EXIT_NOT_FOUND
    except (CompanionError, LookupError) as exc:
        message = str(exc.args[0]) if isinstance(exc, LookupError) and exc.args else str(exc)
        err.write(f"jupyter companion: {message}\n")
        return EXIT_SERVER_ERROR
    except KeyboardInterrupt:
        err.write("interrupted\n")
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())

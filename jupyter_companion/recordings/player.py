"""The stand-in for a CLI process in a replay: ``python -m jupyter_companion.recordings.player FILE``.

It plays the CLI's side of a recording to the real adapter of the recorded backend: what the CLI
printed (``out``) is printed again with its timing (gaps scaled by ``--speed``, none longer than
5 s), and where the recording shows the adapter writing (``in``) it reads the adapter's line
instead. Request ids the adapter chose afresh (``id``, ``request_id``) are mapped onto the
recorded ones, so the recorded answers reach the requests they answer. ``--from-turn N`` replays
the start-up exchange, then continues at the N-th prompt (a relaunched replay session).
``--cwd FOLDER`` puts the replay session's folder wherever the recorded one appears in what is
printed (a recording from someone else's machine then shows paths in yours).

A line of a kind the recording does not expect at that point is not answered (noted on stderr).
When the recording ends, the player waits for its input to close, as an idle CLI does.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

#: The longest pause between two printed lines, before scaling (seconds).
MAX_GAP = 5.0
#: Where a message carries an id that the adapter chooses.
ID_PATHS = (("id",), ("request_id",), ("response", "request_id"))


def kind(message: Any) -> str:
    """What a protocol message is, across the three protocols (type/subtype or method)."""
    if not isinstance(message, dict):
        return "?"
    if "method" in message:
        return f"rpc:{message['method']}"
    if "id" in message and ("result" in message or "error" in message):
        return "rpc:response"
    request: dict[str, Any] = message["request"] if isinstance(message.get("request"), dict) else {}
    subtype = request.get("subtype") or message.get("subtype") or ""
    return f"{message.get('type')}:{subtype}"


def is_prompt(message: Any) -> bool:
    """A user's prompt: Claude's ``user`` message, Codex's ``turn/start``, ACP's ``session/prompt``."""
    return kind(message) in ("user:", "rpc:turn/start", "rpc:session/prompt")


def prompt_text(message: Any) -> str:
    """The text of a recorded prompt (for comparing it with the one sent in a replay)."""
    if not isinstance(message, dict):
        return ""
    params: dict[str, Any] = message["params"] if isinstance(message.get("params"), dict) else {}
    blocks: Any = params.get("input") or params.get("prompt")
    if blocks is None:
        content = (message.get("message") or {}).get("content") if isinstance(message.get("message"), dict) else None
        if isinstance(content, str):
            return content
        blocks = content
    if isinstance(blocks, list):
        return "\n".join(str(b.get("text")) for b in blocks if isinstance(b, dict) and b.get("type") == "text")
    return ""


def _get(message: Any, path: tuple[str, ...]) -> Any:
    for key in path:
        if not isinstance(message, dict):
            return None
        message = message.get(key)
    return message


def _set(message: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    for key in path[:-1]:
        message = message[key]
    message[path[-1]] = value


def load(path: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The header and the ``in``/``out`` entries of a recording, in order."""
    with open(path, encoding="utf-8") as handle:
        header, *lines = handle.read().splitlines()
    entries = []
    for line in lines:
        entry = json.loads(line)
        if entry.get("dir") in ("in", "out"):
            try:
                entry["message"] = json.loads(entry["raw"])
            except ValueError:
                entry["message"] = None
            entries.append(entry)
    return json.loads(header), entries


class Player:
    """Plays one recording over stdin/stdout."""

    def __init__(self, entries: list[dict[str, Any]], speed: float, stdin: Any, stdout: Any, stderr: Any,
                 folders: tuple[str, str] | None = None):
        self.entries = entries
        #: ``(recorded cwd, replay cwd)`` as they appear inside JSON strings.
        self.folders = tuple(json.dumps(f)[1:-1] for f in folders) if folders and folders[0] != folders[1] else None
        self.speed = max(speed, 0.01)
        self.stdin, self.stdout, self.stderr = stdin, stdout, stderr
        self.ids: dict[Any, Any] = {}

    def run(self, from_turn: int = 0) -> None:
        """Play (the start-up exchange, then from the ``from_turn``-th prompt on)."""
        prompts = [i for i, e in enumerate(self.entries) if e["dir"] == "in" and is_prompt(e["message"])]
        if from_turn and prompts:
            self._play(self.entries[: prompts[0]])
            self._play(self.entries[prompts[from_turn] if from_turn < len(prompts) else len(self.entries):])
        else:
            self._play(self.entries)
        for _line in self.stdin:  # the recording is over: stay like an idle CLI until input closes
            pass

    def _play(self, entries: list[dict[str, Any]]) -> None:
        previous: float | None = None
        for entry in entries:
            if entry["dir"] == "out":
                if previous is not None:
                    time.sleep(min(max(entry["t"] - previous, 0.0), MAX_GAP) / self.speed)
                self._print(entry)
                previous = entry["t"]
            else:
                if not self._receive(entry):
                    raise SystemExit(0)
                previous = entry["t"]

    def _receive(self, expected: dict[str, Any]) -> bool:
        """Read the adapter's line standing for ``expected``; False when the input closed."""
        while True:
            line = self.stdin.readline()
            if not line:
                return False
            try:
                actual = json.loads(line)
            except ValueError:
                continue
            if kind(actual) != kind(expected["message"]):
                self.stderr.write(f"replay: a {kind(actual)} message the recording does not have here "
                                  f"(it expects {kind(expected['message'])}); not answered\n")
                self.stderr.flush()
                continue
            for path in ID_PATHS:
                recorded, sent = _get(expected["message"], path), _get(actual, path)
                if recorded is not None and sent is not None and recorded != sent:
                    self.ids[json.dumps(recorded)] = sent
            return True

    def _print(self, entry: dict[str, Any]) -> None:
        raw = entry["raw"]
        message = entry["message"]
        if isinstance(message, dict) and self.ids:
            changed = False
            for path in ID_PATHS:
                value = _get(message, path)
                if value is not None and json.dumps(value) in self.ids:
                    _set(message, path, self.ids[json.dumps(value)])
                    changed = True
            if changed:
                raw = json.dumps(message, separators=(",", ":"))
        if self.folders and self.folders[0] in raw:
            raw = raw.replace(self.folders[0], self.folders[1])
        self.stdout.write(raw + "\n")
        self.stdout.flush()


def main(argv: list[str] | None = None) -> None:
    """Command line: ``FILE [--speed S] [--from-turn N]``."""
    parser = argparse.ArgumentParser(prog="jupyter_companion.recordings.player")
    parser.add_argument("recording")
    parser.add_argument("--speed", type=float, default=1.0)
    parser.add_argument("--from-turn", type=int, default=0)
    parser.add_argument("--cwd", help="the replay session's folder, shown where the recorded one was")
    args, _unknown = parser.parse_known_args(argv)
    header, entries = load(args.recording)
    recorded = header.get("cwd")
    folders = (str(recorded), args.cwd) if recorded and args.cwd else None
    Player(entries, args.speed, sys.stdin, sys.stdout, sys.stderr, folders).run(args.from_turn)


if __name__ == "__main__":
    main()

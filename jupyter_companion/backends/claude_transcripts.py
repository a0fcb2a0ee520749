"""Claude Code conversations on disk, for "continue a previous conversation".

Claude Code keeps one transcript per conversation in
``<config dir>/projects/<encoded cwd>/<session id>.jsonl`` (``<config dir>`` is
``$CLAUDE_CONFIG_DIR`` or ``~/.claude``). Every line is a JSON object; the ``user`` lines carry the
conversation's ``sessionId``, its ``cwd``, a ``timestamp`` and the prompt in ``message.content``
(a string, or blocks of which the ``text`` ones count). The first real prompt names the
conversation. Any of them can be resumed with ``--resume <session id>`` (or forked with
``--fork-session``).

Reading is bounded: the newest transcripts first, each read in small chunks only up to its first
prompt (at most :data:`HEAD_BYTES`).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

#: How much of each transcript is read at most to find its cwd and first prompt.
HEAD_BYTES = 256 * 1024
#: Read in chunks of this size, stopping at the first prompt.
CHUNK_BYTES = 16 * 1024
#: Transcripts looked at, newest first, before the limit is applied (bounds the scan).
MAX_SCANNED = 2000
#: Longest title kept.
TITLE_CHARS = 200


def config_dir(env: dict[str, str]) -> Path:
    """Claude Code's configuration folder for a CLI started with ``env``."""
    configured = env.get("CLAUDE_CONFIG_DIR")
    if configured:
        return Path(configured).expanduser()
    home = env.get("HOME") or os.path.expanduser("~")
    return Path(home) / ".claude"


def _prompt_text(message: Any) -> str:
    content = message.get("content") if isinstance(message, dict) else None
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        texts = [b.get("text", "") for b in content if isinstance(b, dict) and b.get("type") == "text"]
        return "\n".join(t for t in texts if isinstance(t, str))
    return ""


def _is_real_prompt(text: str) -> bool:
    """False for the CLI's own injected lines (command wrappers, reminders, caveats)."""
    stripped = text.strip()
    return bool(stripped) and not stripped.startswith("<")


def _head_lines(path: Path) -> Iterator[bytes]:
    """The complete lines within the first :data:`HEAD_BYTES` of a file, read in small chunks so
    that a transcript whose first prompt comes early costs only what precedes it."""
    with path.open("rb") as handle:
        pending = b""
        budget = HEAD_BYTES
        while budget > 0:
            chunk = handle.read(min(CHUNK_BYTES, budget))
            if not chunk:
                break
            budget -= len(chunk)
            *lines, pending = (pending + chunk).split(b"\n")
            yield from lines
        if pending and budget > 0:  # the file ended without a final newline
            yield pending


def read_head(path: Path) -> dict[str, Any] | None:
    """The id, cwd, first prompt and start of one transcript; None when it holds no prompt."""
    session_id = cwd = started = None
    try:
        for raw in _head_lines(path):
            try:
                line = json.loads(raw)
            except ValueError:
                continue  # noise
            if not isinstance(line, dict) or line.get("type") != "user" or line.get("isMeta"):
                continue
            session_id = session_id or line.get("sessionId")
            cwd = cwd or line.get("cwd")
            started = started or line.get("timestamp")
            text = _prompt_text(line.get("message"))
            if _is_real_prompt(text):
                title = " ".join(text.split())
                if len(title) > TITLE_CHARS:
                    title = title[: TITLE_CHARS - 1] + "…"
                return {
                    "id": str(session_id or path.stem),
                    "cwd": str(cwd) if cwd else None,
                    "title": title,
                    "started_at": started,
                }
    except OSError:
        return None
    return None


def list_conversations(
    env: dict[str, str], limit: int = 50, keep: Callable[[dict[str, Any]], bool] = lambda _: True
) -> list[dict[str, Any]]:
    """Resumable conversations that ``keep`` accepts, newest first, at most ``limit``:
    ``{id, cwd, title, started_at, updated_at}``.

    Blocking (file reads): call it in a thread.
    """
    projects = config_dir(env) / "projects"
    try:
        files = [p for p in projects.glob("*/*.jsonl") if p.is_file()]
    except OSError:
        return []
    dated = []
    for path in files:
        try:
            dated.append((path.stat().st_mtime, path))
        except OSError:
            continue
    dated.sort(key=lambda item: item[0], reverse=True)
    found: list[dict[str, Any]] = []
    for mtime, path in dated[:MAX_SCANNED]:
        info = read_head(path)
        if info is None or not keep(info):
            continue
        info["updated_at"] = datetime.fromtimestamp(mtime, tz=timezone.utc).isoformat().replace("+00:00", "Z")
        found.append(info)
        if len(found) >= limit:
            break
    return found

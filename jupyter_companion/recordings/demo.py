"""Demo sessions: recordings named in ``c.CompanionApp.demo_recordings`` become replay sessions
when the server starts (once each: a session that replays one is kept, archived or not). A demo
needs no CLI and no API key; ``binder/`` and ``scripts/demo`` use it."""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
from typing import TYPE_CHECKING

from ..errors import ApiError
from .library import read_header

if TYPE_CHECKING:
    from ..sessions.orchestrator import Orchestrator

log = logging.getLogger("jupyter_companion.recordings")


def _import(orch: Orchestrator, path: str) -> str | None:
    """Copy a bundled recording into the recordings folder under ``demo_<file stem>`` (blocking)."""
    if not os.path.isfile(path):
        log.warning("demo recording %s not found; skipped", path)
        return None
    header = read_header(path)
    if header is None:
        log.warning("demo recording %s has no recording header; skipped", path)
        return None
    stem = os.path.splitext(os.path.basename(path))[0]
    rec_id = "demo_" + "".join(c if c.isalnum() or c in "-_" else "-" for c in stem)[:100]
    folder = orch.recordings.folder
    os.makedirs(folder, mode=0o700, exist_ok=True)
    target = os.path.join(folder, rec_id + ".jsonl")
    if not os.path.exists(target):
        shutil.copyfile(path, target)
        os.chmod(target, 0o600)
    return rec_id


async def ensure_demo_sessions(orch: Orchestrator, paths: list[str], folder: str, speed: float) -> None:
    """A replay session for each demo recording that has none yet."""
    for raw in paths:
        path = raw if os.path.isabs(raw) else os.path.join(orch.folders.root, raw)
        rec_id = await asyncio.to_thread(_import, orch, path)
        if rec_id is None:
            continue
        if any((s.info.get("backend_options") or {}).get("recording") == rec_id for s in orch.sessions.values()):
            continue
        name = "Demo: " + rec_id.removeprefix("demo_").replace("-", " ").replace("_", " ")
        try:
            await orch.create({"backend": "replay", "recording": rec_id, "cwd": folder or None, "name": name,
                               "speed": speed})
        except ApiError as exc:
            log.warning("demo session for %s not created: %s", path, exc.message)

"""Codex homes: where ``codex app-server`` keeps its threads, one per session.

Codex keeps threads ("rollouts") under ``CODEX_HOME``, and a thread can only be resumed from the
home that wrote it. Every session therefore gets a home of its own, seeded from the user's Codex
home with ``auth.json`` and ``config.toml`` only -- never the user's sessions or history.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path


def user_codex_home(configured: str = "") -> Path:
    """The user's own Codex home (configured, ``$CODEX_HOME`` or ``~/.codex``)."""
    return Path(configured or os.environ.get("CODEX_HOME") or "~/.codex").expanduser()


def seed_codex_home(target: Path, source: Path) -> Path:
    """Create ``target`` and copy ``auth.json`` and ``config.toml`` from ``source`` if missing there.

    Nothing else (sessions, history, logs) is copied. ``auth.json`` is kept private (0600).
    """
    target.mkdir(parents=True, exist_ok=True)
    for name in ("config.toml", "auth.json"):
        src, dst = source / name, target / name
        if src.is_file() and not dst.exists():
            shutil.copyfile(src, dst)
            if name == "auth.json":
                os.chmod(dst, 0o600)
    return target


def private_tmpdir_for_home(env: dict[str, str]) -> dict[str, str]:
    """Move ``TMPDIR`` out of the way when ``CODEX_HOME`` lies inside the temporary folder.

    Codex refuses to create its sandbox helper (``codex-linux-sandbox``) under a temporary
    ``CODEX_HOME``; with a system ``bwrap`` every sandboxed command then fails ("execvp
    codex-linux-sandbox: No such file or directory"). Pointing ``TMPDIR`` at a private folder next
    to the home keeps the sandbox working. Returns ``env`` (changed in place).
    """
    home = Path(env["CODEX_HOME"]).resolve()
    tmp = Path(env.get("TMPDIR") or "/tmp").resolve()
    if tmp == home or tmp in home.parents:
        private = home.parent / "codex-tmp"
        private.mkdir(parents=True, exist_ok=True)
        env["TMPDIR"] = str(private)
    return env

"""Readable, distinct names for new sessions.

A session created without a name is called after its folder, with the branch it works on when it
has one ("proj (feature-x)"). A name already in use gets the smallest free number ("proj 2"), so
two sessions in one folder are never confused in the sidebar, the tabs or ``jupyter companion
list``.
"""

from __future__ import annotations

import os
from collections.abc import Iterable


def default_name(folder: str, branch: str | None) -> str:
    """The name of a session in ``folder`` (its requested folder, not a worktree's) on ``branch``."""
    base = os.path.basename(os.path.normpath(folder)) or "session"
    return f"{base} ({branch})" if branch else base


def distinct_name(wanted: str, taken: Iterable[str]) -> str:
    """``wanted``, or ``wanted N`` with the smallest N >= 2 that no name in ``taken`` uses."""
    used = set(taken)
    if wanted not in used:
        return wanted
    n = 2
    while f"{wanted} {n}" in used:
        n += 1
    return f"{wanted} {n}"

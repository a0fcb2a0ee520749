"""Session phases and the transitions allowed between them."""

from __future__ import annotations

#: phase -> phases it may move to. A move to the same phase is a no-op.
TRANSITIONS: dict[str, frozenset[str]] = {
    "starting": frozenset({"initializing", "ready", "streaming", "reconnecting", "terminated"}),
    "initializing": frozenset({"ready", "streaming", "reconnecting", "terminated"}),
    "ready": frozenset({"streaming", "compacting", "awaiting_permission", "reconnecting", "terminated"}),
    "streaming": frozenset(
        {"ready", "initializing", "awaiting_permission", "compacting", "reconnecting", "terminated"}
    ),
    "awaiting_permission": frozenset({"streaming", "ready", "reconnecting", "terminated"}),
    "compacting": frozenset({"ready", "streaming", "reconnecting", "terminated"}),
    "reconnecting": frozenset({"initializing", "starting", "ready", "streaming", "terminated"}),
    "terminated": frozenset({"starting"}),
}


def can_transition(current: str, target: str) -> bool:
    """True when ``current -> target`` is allowed (same phase counts as allowed)."""
    return current == target or target in TRANSITIONS.get(current, frozenset())


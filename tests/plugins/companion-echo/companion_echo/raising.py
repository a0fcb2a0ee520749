"""A plugin whose hooks raise: reported as failed, never fatal."""

from typing import Any

from jupyter_companion.hookspecs import hookimpl


@hookimpl
def register_sandboxes(register: Any, app: Any) -> None:
    """Raise on purpose."""
    raise RuntimeError("raising plugin failed on purpose")


@hookimpl
def session_event(session: Any, event: dict[str, Any]) -> None:
    """Raise on purpose for every event."""
    raise RuntimeError("observer failed on purpose")

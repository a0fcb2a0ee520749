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


@hookimpl
def session_created(session: Any) -> None:
    """Try to stop the whole server on purpose (a BaseException, not an Exception)."""
    raise SystemExit("a plugin tried to exit the server")


@hookimpl
def register_routes(app: Any) -> list[Any]:
    """Return routes that are not routes (and one usable one)."""
    from jupyter_companion.handlers.base import CompanionAPIHandler

    class Fine(CompanionAPIHandler):
        async def get(self) -> None:
            self.send_json({"fine": True})

    return [("/companion/api/raising/only-pattern",), 42, ("/companion/api/raising/x", "not a class"),
            ("/companion/api/raising/(unbalanced", Fine), ("/companion/api/raising/fine", Fine)]

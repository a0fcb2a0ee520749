"""Python client of the jupyter-companion REST + WebSocket API (sync and asyncio).

>>> from jupyter_companion.client import connect
>>> client = connect()                      # or connect("http://127.0.0.1:8888/", "TOKEN")
>>> session = client.create_session("claude", cwd="project")
>>> outcome = client.run_turn(session["id"], "list the files", on_event=print)

The server is found, in order, from an explicit ``connect(url, token)``, the environment
variables ``JUPYTER_COMPANION_URL``/``JUPYTER_COMPANION_TOKEN``, then the running Jupyter
servers whose root contains the working directory.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .discovery import ENV_TOKEN, ENV_URL, ServerInfo, discover
from .errors import CompanionError, CompanionHTTPError, CompanionNotFound, CompanionProtocolError
from .routes import resolve_session_ref
from .sync import CompanionClient, connect, default_client, reset_default
from .turns import TurnOutcome, TurnTracker, pending_requests

if TYPE_CHECKING:
    from .aio import AsyncCompanionClient


def __getattr__(name: str) -> Any:
    # the async client pulls in tornado's http client: import it on first use
    if name == "AsyncCompanionClient":
        from .aio import AsyncCompanionClient

        return AsyncCompanionClient
    raise AttributeError(name)


__all__ = [
    "ENV_TOKEN",
    "ENV_URL",
    "AsyncCompanionClient",
    "CompanionClient",
    "CompanionError",
    "CompanionHTTPError",
    "CompanionNotFound",
    "CompanionProtocolError",
    "ServerInfo",
    "TurnOutcome",
    "TurnTracker",
    "connect",
    "default_client",
    "discover",
    "pending_requests",
    "reset_default",
    "resolve_session_ref",
]

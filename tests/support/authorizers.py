"""Jupyter authorizers the tests run a server with (``authorizer_mode`` fixture in conftest)."""

from __future__ import annotations

from typing import Any

from jupyter_server.auth.authorizer import Authorizer


class DenyCompanion(Authorizer):
    """Allows everything except the ``companion`` resource."""

    def is_authorized(self, handler: Any, user: Any, action: str, resource: str) -> bool:
        return resource != "companion"


class ReadOnlyCompanion(Authorizer):
    """Allows reading ``companion`` but nothing else on it."""

    def is_authorized(self, handler: Any, user: Any, action: str, resource: str) -> bool:
        return resource != "companion" or action == "read"


class NoExecuteCompanion(Authorizer):
    """Reads and writes ``companion`` but may not run code through it."""

    def is_authorized(self, handler: Any, user: Any, action: str, resource: str) -> bool:
        return resource != "companion" or action != "execute"


#: ``authorizer_mode`` -> authorizer class (None: Jupyter's default, which allows everything).
AUTHORIZERS: dict[str, type[Authorizer] | None] = {
    "allow": None,
    "deny": DenyCompanion,
    "read-only": ReadOnlyCompanion,
    "no-execute": NoExecuteCompanion,
}

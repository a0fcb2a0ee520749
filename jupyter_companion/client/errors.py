"""Exceptions raised by the Python client."""

from __future__ import annotations

from typing import Any

FIX_HINT = (
    "To fix it: start Jupyter with the extension enabled (`jupyter lab` or `jupyter server`, "
    "from a folder that contains this one), or set JUPYTER_COMPANION_URL (e.g. http://127.0.0.1:8888/) "
    "and JUPYTER_COMPANION_TOKEN, or call jupyter_companion.client.connect(url, token) "
    "(CLI: --url/--token). Check the extension with `jupyter server extension list`."
)


class CompanionError(Exception):
    """Base class of every error raised by the client."""


class CompanionNotFound(CompanionError):
    """No reachable Jupyter server with the companion extension was found."""

    def __init__(self, message: str, tried: list[str] | None = None) -> None:
        self.tried = list(tried or [])
        details = "".join(f"\n  - {line}" for line in self.tried)
        super().__init__(f"{message}{details}\n{FIX_HINT}")


class CompanionHTTPError(CompanionError):
    """The server answered with an error status; ``message`` is its ``error`` field."""

    def __init__(
        self, status: int, message: str, body: Any = None, *, method: str = "", path: str = ""
    ) -> None:
        self.status = status
        self.message = message
        self.body = body
        self.method = method
        self.path = path
        where = f" ({method} {path})" if method else ""
        super().__init__(f"HTTP {status}{where}: {message}")


class CompanionProtocolError(CompanionError):
    """The server sent something that does not follow API.md (bad JSON, unexpected shape)."""

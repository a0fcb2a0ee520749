"""Errors that carry an HTTP status and a message safe to show to the user."""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    """A request the server refuses: ``status`` (4xx/5xx) and a human-readable message."""

    def __init__(self, status: int, message: str, **extra: Any):
        super().__init__(message)
        self.status = status
        self.message = message
        self.extra = extra

    def to_json(self) -> dict[str, Any]:
        """The JSON error body."""
        return {"error": self.message, **self.extra}

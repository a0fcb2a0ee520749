"""An in-memory stand-in for the two store methods :class:`SettingsService` uses."""

from __future__ import annotations

from typing import Any


class MemorySettingsStore:
    """``get_settings``/``set_setting`` on a dict (for tests of settings and profiles)."""

    def __init__(self) -> None:
        self.values: dict[str, Any] = {}

    def get_settings(self) -> dict[str, Any]:
        """Every stored value."""
        return dict(self.values)

    def set_setting(self, key: str, value: Any) -> None:
        """Keep one value."""
        self.values[key] = value

"""Sandbox profiles: named settings of a sandbox provider (image, init script, limits ...).

Profiles are kept in the core's store, validated by their provider's ``validate_profile``, and
read back with the values of ``env`` masked like every other secret.
"""

from __future__ import annotations

import builtins
import re
from collections.abc import Callable, Iterable
from typing import Any

from ..errors import ApiError
from ..settings import SettingsService, is_masked, mask
from .base import SandboxSpec

_KEY = "sandbox_profiles"
PROFILE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")


def masked(profile: dict[str, Any]) -> dict[str, Any]:
    """A stored profile as the API shows it: ``env`` values masked."""
    shown = dict(profile)
    if isinstance(shown.get("env"), dict):
        shown["env"] = {k: mask(v) for k, v in sorted(shown["env"].items())}
    return shown


class SandboxProfiles:
    """CRUD of sandbox profiles ``{name, provider, ...}``."""

    def __init__(self, settings: SettingsService, specs: dict[str, SandboxSpec]):
        self.settings = settings
        self.specs = specs

    def _all(self) -> dict[str, dict[str, Any]]:
        stored = self.settings.stored(_KEY)
        return dict(stored) if isinstance(stored, dict) else {}

    def all(self) -> list[dict[str, Any]]:
        """Every profile, sorted by name, secrets masked."""
        return [masked(p) for _, p in sorted(self._all().items())]

    def get(self, name: str) -> dict[str, Any] | None:
        """The stored profile (real values, for the provider) or None."""
        return self._all().get(name)

    def providers(self) -> builtins.list[str]:
        """Names of the providers that take profiles."""
        return [n for n, s in self.specs.items() if s.validate_profile is not None]

    def put(self, name: str, body: Any) -> dict[str, Any]:
        """Create or replace a profile; a masked ``env`` value keeps the stored one."""
        if not PROFILE_NAME.fullmatch(name):
            raise ApiError(400, "profile names are 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit")
        if not isinstance(body, dict):
            raise ApiError(400, "send the profile as a JSON object")
        provider = body.get("provider")
        takes = self.providers()
        if provider is None and len(takes) == 1:
            provider = takes[0]
        spec = self.specs.get(provider) if isinstance(provider, str) else None
        if spec is None or spec.validate_profile is None:
            known = ", ".join(takes) or "none is installed"
            raise ApiError(400, f"'provider' must name a sandbox provider that takes profiles ({known})")
        body = {k: v for k, v in body.items() if k != "name"}
        body["provider"] = provider
        old = self.get(name) or {}
        env = body.get("env")
        if isinstance(env, dict):
            stored_env = old.get("env")
            old_env: dict[str, Any] = stored_env if isinstance(stored_env, dict) else {}
            unknown = sorted(str(k) for k, v in env.items() if is_masked(v) and k not in old_env)
            if unknown:
                raise ApiError(400, f"send the value of {', '.join(unknown)[:200]} itself, not a masked form")
            body["env"] = {k: (old_env[k] if is_masked(v) else v) for k, v in env.items()}
        try:
            profile = spec.validate_profile(body)
        except ValueError as exc:
            raise ApiError(400, f"profile {name!r}: {exc}") from exc
        profile = {**profile, "name": name, "provider": provider}
        self.settings.put_stored(_KEY, {**self._all(), name: profile})
        return masked(profile)

    def delete(self, name: str, users: Callable[[str], Iterable[str]]) -> None:
        """Remove a profile: 404 when unknown, 409 while ``users(name)`` names live sessions."""
        profiles = self._all()
        if name not in profiles:
            raise ApiError(404, f"no sandbox profile {name[:80]!r}")
        using = sorted(users(name))
        if using:
            shown = ", ".join(repr(u) for u in using[:5]) + (" ..." if len(using) > 5 else "")
            raise ApiError(409, f"sandbox profile {name!r} is used by {shown}; archive or delete those sessions first")
        profiles.pop(name)
        self.settings.put_stored(_KEY, profiles)

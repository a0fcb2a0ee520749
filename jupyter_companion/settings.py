"""User settings and environment profiles, kept in the store.

Settings are declared by a JSON-schema fragment (the core's own plus every plugin's
``register_settings``); values are validated against their declared ``type``, ``enum`` and
``pattern`` (a regular expression the whole string must match).
Secrets (``"secret": true`` settings and every value of an environment profile) are never
returned: reads show ``"••••" + last 4 characters``.
"""

from __future__ import annotations

import re
from typing import Any

from .errors import ApiError
from .events import ENV_NAME
from .store import Store

#: The core's own settings.
CORE_SCHEMA: dict[str, dict[str, Any]] = {
    "default_permission_mode": {
        "type": "string",
        "enum": ["default", "acceptEdits", "plan", "bypassPermissions"],
        "default": "default",
        "description": "Permission mode preselected for new sessions.",
    },
    "default_model": {
        "type": "string",
        "default": "",
        "pattern": r"^$|^[A-Za-z0-9][A-Za-z0-9._:/@\[\]-]{0,199}$",
        "description": "Model preselected for new sessions (empty: the backend's default).",
    },
}

_JSON_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "boolean": (bool,),
    "integer": (int,),
    "number": (int, float),
    "object": (dict,),
    "array": (list,),
}
_PROFILE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
_PROFILES_KEY = "env_profiles"


MASK = "••••"


def mask(value: Any) -> str:
    """How a secret is shown: never more than its last four characters."""
    text = str(value)
    return MASK + text[-4:] if len(text) > 8 else MASK


def is_masked(value: Any) -> bool:
    """Whether ``value`` is a secret's masked form (as read back), not a secret."""
    return isinstance(value, str) and value.startswith(MASK)


class SettingsService:
    """Validated, masked access to settings and environment profiles."""

    def __init__(self, store: Store, schema: dict[str, dict[str, Any]]):
        self.store = store
        self.schema = {**CORE_SCHEMA, **schema}
        self._values: dict[str, Any] | None = None

    def load(self) -> None:
        """Read the stored values (blocking: called once, off the event loop)."""
        self._values = {k: v for k, v in self.store.get_settings().items() if v is not None}

    def _load(self) -> dict[str, Any]:
        if self._values is None:
            self.load()
        assert self._values is not None
        return self._values

    def read(self) -> dict[str, Any]:
        """Every declared setting (defaults filled in), secrets masked."""
        values = self._load()
        out = {}
        for key, spec in self.schema.items():
            value = values.get(key, spec.get("default"))
            out[key] = mask(value) if spec.get("secret") and value else value
        return out

    def value(self, key: str) -> Any:
        """The real value of a setting (for server-side use only)."""
        return self._load().get(key, self.schema.get(key, {}).get("default"))

    def check(self, changes: Any) -> dict[str, Any]:
        """The changes of ``{key: value}`` that pass the schema (ApiError 400 otherwise); a secret
        sent back in its masked form is left out (it does not change)."""
        if not isinstance(changes, dict) or not changes:
            raise ApiError(400, "send an object of settings to change")
        values = self._load()
        checked: dict[str, Any] = {}
        for key, value in changes.items():
            spec = self.schema.get(key)
            if spec is None:
                raise ApiError(400, f"unknown setting {str(key)[:80]!r}")
            if spec.get("secret") and is_masked(value):
                if key not in values:
                    raise ApiError(400, f"setting {key!r}: send the secret itself, not its masked form")
                continue  # the masked form read back: the stored secret stays
            if value is not None:
                expected = _JSON_TYPES.get(spec.get("type", "string"), (object,))
                if not isinstance(value, expected) or (isinstance(value, bool) and bool not in expected):
                    raise ApiError(400, f"setting {key!r} must be of type {spec.get('type')}")
                if "enum" in spec and value not in spec["enum"]:
                    raise ApiError(400, f"setting {key!r} must be one of {spec['enum']}")
                if isinstance(value, str) and "pattern" in spec and not re.fullmatch(spec["pattern"], value):
                    raise ApiError(400, f"setting {key!r} does not match {spec['pattern']}")
            checked[key] = value
        return checked

    def update(self, changes: Any) -> dict[str, Any]:
        """Validate and store ``{key: value}`` changes; ``null`` resets to the default."""
        return self.apply(self.check(changes))

    def apply(self, checked: dict[str, Any]) -> dict[str, Any]:
        """Store changes that passed :meth:`check`; answers every setting as :meth:`read` does."""
        values = self._load()
        for key, value in checked.items():
            if value is None:
                values.pop(key, None)
                self.store.set_setting(key, None)
            else:
                values[key] = value
                self.store.set_setting(key, value)
        return self.read()

    def stored(self, key: str) -> Any:
        """A value the core keeps in the settings table outside the declared settings (None when unset)."""
        return self._load().get(key)

    def put_stored(self, key: str, value: Any) -> None:
        """Keep ``value`` under ``key`` (JSON), outside the declared settings."""
        self._load()[key] = value
        self.store.set_setting(key, value)

    # -- environment profiles --------------------------------------------------------------

    def _profiles(self) -> dict[str, dict[str, str]]:
        profiles = self._load().get(_PROFILES_KEY)
        return profiles if isinstance(profiles, dict) else {}

    def list_profiles(self) -> list[dict[str, Any]]:
        """Profiles with their variable names and masked values."""
        return [
            {"name": name, "env": {k: mask(v) for k, v in sorted(env.items())}}
            for name, env in sorted(self._profiles().items())
        ]

    def profile_env(self, name: str) -> dict[str, str]:
        """The real variables of a profile (ApiError 400 when unknown)."""
        profile = self._profiles().get(name)
        if profile is None:
            raise ApiError(400, f"unknown env profile {name[:80]!r}")
        return dict(profile)

    def profile_keys(self, name: Any) -> list[str]:
        """The variable names of a profile ([] when there is no such profile)."""
        profile = self._profiles().get(name) if isinstance(name, str) else None
        return sorted(profile or {})

    def put_profile(self, name: str, body: Any) -> dict[str, Any]:
        """Create or replace a profile ``{env: {NAME: value}}``; a masked value keeps the stored one."""
        if not _PROFILE_NAME.fullmatch(name):
            raise ApiError(400, "profile names are 1-64 letters, digits, '.', '_' or '-'")
        env = body.get("env") if isinstance(body, dict) else None
        if not isinstance(env, dict) or not all(
            isinstance(k, str) and ENV_NAME.fullmatch(k) and isinstance(v, str) and "\x00" not in v for k, v in env.items()
        ):
            raise ApiError(400, "'env' must map variable names to string values")
        old = self._profiles().get(name, {})
        unknown = sorted(k for k, v in env.items() if is_masked(v) and k not in old)
        if unknown:
            raise ApiError(400, f"send the value of {', '.join(unknown)} itself, not a masked form")
        merged = {k: (old[k] if is_masked(v) else v) for k, v in env.items()}
        profiles = {**self._profiles(), name: merged}
        self._load()[_PROFILES_KEY] = profiles
        self.store.set_setting(_PROFILES_KEY, profiles)
        return {"name": name, "env": {k: mask(v) for k, v in sorted(merged.items())}}

    def delete_profile(self, name: str) -> None:
        """Remove a profile (ApiError 404 when unknown)."""
        profiles = dict(self._profiles())
        if profiles.pop(name, None) is None:
            raise ApiError(404, f"no env profile {name[:80]!r}")
        self._load()[_PROFILES_KEY] = profiles
        self.store.set_setting(_PROFILES_KEY, profiles)

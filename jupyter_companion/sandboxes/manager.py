"""The core's side of sandboxes: the registry of providers, their profiles, and the calls the
session lifecycle makes into them (prepare before a launch, wrap the command, tear down, stop,
sweep at start-up). Providers are described in :mod:`.base`."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
from typing import TYPE_CHECKING, Any

from ..backends.base import CommandWrapper, no_wrapper
from ..errors import ApiError
from ..settings import SettingsService
from ..timed_answers import TimedAnswers
from .base import SandboxError, SandboxProgress, SandboxRequest, SandboxSpec
from .profiles import SandboxProfiles

if TYPE_CHECKING:
    from ..sessions.session import Session

log = logging.getLogger("jupyter_companion.sandboxes")

#: How long an availability answer is reused.
AVAILABILITY_TTL = 5.0
#: How long a provider may take to say whether it can work (an engine that hangs: not available).
CHECK_TIMEOUT = 10.0


def sandbox_of(info: dict[str, Any], default: str) -> dict[str, Any]:
    """A session's ``sandbox`` field as an object ``{provider, profile?, container_id?, ...}``
    (sessions stored by earlier versions kept only the provider's name)."""
    value = info.get("sandbox")
    if isinstance(value, dict) and isinstance(value.get("provider"), str):
        return value
    return {"provider": value if isinstance(value, str) and value else default}


def _quiet(step: str, label: str, status: str, detail: str | None = None) -> None:
    return None


class SandboxManager:
    """Every sandbox provider of the server and what the sessions ask of them."""

    def __init__(self, settings: SettingsService, state_root: str, default: str = "local"):
        self.specs: dict[str, SandboxSpec] = {}
        self.default = default
        self.profiles = SandboxProfiles(settings, self.specs)
        #: Identifies this server's state in what providers create (labels), for the sweep.
        self.owner = hashlib.sha256(os.path.realpath(state_root).encode()).hexdigest()[:16]
        self._checks = TimedAnswers(AVAILABILITY_TTL)

    def register(self, spec: SandboxSpec) -> None:
        """Add a provider (called by plugins through ``register_sandboxes``)."""
        if not isinstance(spec, SandboxSpec):
            raise TypeError("register_sandboxes expects a SandboxSpec")
        self.specs[spec.name] = spec

    def spec_of(self, session: Session) -> SandboxSpec | None:
        """The provider a session runs in (None when its plugin is gone)."""
        return self.specs.get(sandbox_of(session.info, self.default)["provider"])

    # -- availability ----------------------------------------------------------------------

    async def availability(self, name: str) -> dict[str, Any]:
        """``{available, reason?}`` of one provider (cached a few seconds)."""
        check = self.specs[name].check
        if check is None:
            return {"available": True}

        async def ask() -> dict[str, Any]:
            try:
                return (await asyncio.wait_for(check(), CHECK_TIMEOUT)).fields()
            except asyncio.TimeoutError:
                return {"available": False, "reason": f"it did not say within {CHECK_TIMEOUT:g} s whether it can work"}
            except Exception as exc:
                log.exception("sandbox %s: availability check failed", name)
                return {"available": False, "reason": f"the availability check failed: {exc}"}

        answer: dict[str, Any] = await self._checks.get(name, ask)
        return answer

    async def report(self) -> list[dict[str, Any]]:
        """``GET status.sandboxes``: ``{name, label, description, available, reason?, profiles}``."""
        names = list(self.specs)
        checks = await asyncio.gather(*(self.availability(n) for n in names))
        return [
            {"name": n, "label": self.specs[n].label, "description": self.specs[n].description,
             "profiles": self.specs[n].validate_profile is not None, **check}
            for n, check in zip(names, checks, strict=True)
        ]

    # -- create ----------------------------------------------------------------------------

    def choose(self, sandbox: str, profile_name: Any) -> dict[str, Any]:
        """Validate a create request's ``sandbox``/``sandbox_profile``: the session's ``sandbox`` field."""
        spec = self.specs.get(sandbox)
        if spec is None:
            raise ApiError(400, f"unknown sandbox {sandbox[:50]!r}")
        if profile_name is None or profile_name == "":
            if spec.validate_profile is not None:
                raise ApiError(400, f"sandbox {sandbox!r} needs a 'sandbox_profile' (see GET sandbox-profiles)")
            return {"provider": sandbox}
        if not isinstance(profile_name, str) or spec.validate_profile is None:
            raise ApiError(400, f"'sandbox_profile' must name a profile of a sandbox that takes them, not of {sandbox!r}")
        profile = self.profiles.get(profile_name)
        if profile is None:
            raise ApiError(400, f"unknown sandbox profile {profile_name[:64]!r}")
        if profile.get("provider") != sandbox:
            raise ApiError(400, f"sandbox profile {profile_name!r} is for {profile.get('provider')!r}, not {sandbox!r}")
        return {"provider": sandbox, "profile": profile_name}

    async def check_available(self, sandbox: dict[str, Any]) -> None:
        """ApiError 400 when the chosen provider cannot work now (e.g. no Docker daemon), with the
        reason: the request asks for what this server cannot give, like an unavailable backend."""
        found = await self.availability(sandbox["provider"])
        if not found["available"]:
            raise ApiError(400, f"sandbox {sandbox['provider']!r} is not available: {found.get('reason')}")

    # -- a session's life ------------------------------------------------------------------

    def users_of(self, profile: str, sessions: list[Session]) -> list[str]:
        """Names of the live (unarchived) sessions that run in ``profile``."""
        return [
            s.info.get("name") or s.id for s in sessions
            if not s.archived and sandbox_of(s.info, self.default).get("profile") == profile
        ]

    async def prepare(self, session: Session, progress: SandboxProgress = _quiet) -> None:
        """Make the session's sandbox ready before its CLI starts (a no-op for ``local``).

        Raises SandboxError: the provider's, or one naming what else went wrong (the provider is
        not installed any more, or failed in a way it did not describe).
        """
        sandbox = sandbox_of(session.info, self.default)
        spec = self.specs.get(sandbox["provider"])
        if spec is None:
            raise SandboxError("creating_container", f"the sandbox provider {sandbox['provider']!r} is not installed any more", 400)
        if spec.prepare is None:
            return
        profile = self.profiles.get(sandbox.get("profile") or "")
        if profile is None:
            raise SandboxError("creating_container", f"the sandbox profile {sandbox.get('profile')!r} was deleted", 400)
        cli_home = session.env.get("HOME") or session.orch.base_env().get("HOME")  # where the CLI keeps credentials
        folders, home = await asyncio.to_thread(
            lambda: ([*_folders(session), os.path.realpath(session.state_dir())], cli_home or os.path.expanduser("~")))
        request = SandboxRequest(
            session_id=session.id, owner=self.owner, profile=profile, folders=folders,
            home=home, progress=progress, existing=dict(sandbox),
            env=dict(profile.get("env") or {}),
        )
        try:
            found = await spec.prepare(request)
        except SandboxError:
            raise
        except Exception as exc:
            log.exception("sandbox %s: prepare failed for session %s", spec.name, session.id)
            raise SandboxError("creating_container", f"the {spec.label} sandbox failed: {exc}") from exc
        recreated = bool(found.pop("recreated", False))
        updated = {**sandbox, **found}
        if updated != session.info.get("sandbox"):
            session.update({"sandbox": updated})
        if recreated:
            session.emit({"type": "notice", "code": "sandbox_recreated",
                          "message": f"The session's {spec.label} sandbox was gone; a new one was created."})

    def wrapper(self, session: Session) -> CommandWrapper:
        """How the session's sandbox runs its CLI."""
        spec = self.spec_of(session)
        return spec.wrapper(session) if spec is not None else no_wrapper

    def shell(self, session: Session) -> list[str] | None:
        """The argv of a shell inside the session's sandbox (None: the host's own terminal)."""
        spec = self.spec_of(session)
        if spec is None or spec.shell is None:
            return None
        try:
            return spec.shell(session)
        except Exception:
            log.exception("sandbox %s: shell command failed", spec.name)
            return None

    async def teardown(self, session: Session) -> None:
        """Let the session's sandbox remove what it created (archive, delete); never raises."""
        await self._each(session, "teardown")

    async def stop(self, sessions: list[Session]) -> None:
        """The server stops: each provider releases or keeps what it created."""
        await asyncio.gather(*(self._each(s, "stop") for s in sessions))

    async def _each(self, session: Session, what: str) -> None:
        spec = self.spec_of(session)
        call = getattr(spec, what, None) if spec is not None else None
        if call is None:
            return
        try:
            await call(session)
        except Exception:
            log.exception("sandbox %s failed to %s session %s", spec.name if spec else "?", what, session.id)

    async def sweep(self, known: set[str]) -> None:
        """Remove what providers created for sessions this server no longer has (start-up)."""
        for spec in list(self.specs.values()):
            if spec.sweep is None:
                continue
            try:
                removed = await spec.sweep(self.owner, set(known))
            except Exception:
                log.exception("sandbox %s: the start-up sweep failed", spec.name)
                continue
            for item in removed:
                log.info("sandbox %s: removed %s (its session no longer exists)", spec.name, item)


def _folders(session: Session) -> list[str]:
    """Host folders the CLI works in: the session folder, its repository and, for a worktree, the
    main repository (git keeps a worktree's metadata there)."""
    git = session.info.get("git")
    git = git if isinstance(git, dict) else {}
    worktree = session.info.get("worktree")
    worktree = worktree if isinstance(worktree, dict) else {}
    candidates = [session.cwd, git.get("repo_root"), git.get("main_repo_root"), worktree.get("repo_root")]
    folders: list[str] = []
    for path in candidates:
        if isinstance(path, str) and path and os.path.isabs(path):
            real = os.path.realpath(path)
            if real not in folders:
                folders.append(real)
    # a folder inside another one is visible through it
    return [f for f in folders if not any(f != o and f.startswith(o.rstrip("/") + "/") for o in folders)]


__all__ = ["SandboxError", "SandboxManager", "sandbox_of"]

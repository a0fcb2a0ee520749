"""What a CLI launch of a session needs: its folder checked again, its environment, its scratch
folder, as one :class:`~jupyter_companion.backends.base.LaunchSpec`."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from ..backends.base import BackendError, LaunchSpec
from ..errors import ApiError
from .folders import FolderOutsideRoots

if TYPE_CHECKING:
    from .session import Session


def checked_folder(session: Session) -> str:
    """The session's folder, refused (BackendError) when it now resolves outside the allowed roots
    and its own worktree (a checkout can turn it into a symlink after creation)."""
    try:
        return session.folder()[0]
    except FolderOutsideRoots as exc:
        raise BackendError(f"{exc}; the CLI was not started") from exc


def profile_env(session: Session) -> dict[str, str]:
    """The current variables of the session's env profile (stored by name, read at each launch);
    a profile deleted since is skipped with a ``notice``."""
    name = session.info.get("env_profile")
    if not name:
        return {}
    try:
        return session.orch.settings.profile_env(str(name))
    except ApiError:
        session.emit({"type": "notice", "level": "warning", "code": "env_profile_missing",
                      "message": f"The env profile {name!r} no longer exists; the CLI starts without it."})
        return {}


def state_dir(session: Session) -> str:
    """A private folder for the session's scratch state (created on demand, 0700)."""
    path = os.path.join(session.orch.state_root, session.id)
    os.makedirs(path, mode=0o700, exist_ok=True)
    return path


def launch_spec(session: Session, resume_id: str | None) -> LaunchSpec:
    """The launch of the session's CLI (conversation ``resume_id`` or a new one), recorded when
    recording is on."""
    info = session.info
    env = {**session.orch.base_env(), **profile_env(session), **session.env}
    tap = session.orch.recorder.open(session.id, str(info.get("backend")), session.cwd,
                                     str(info.get("backend")), {**os.environ, **env})
    return LaunchSpec(
        session_id=session.id,
        cwd=session.cwd,
        model=info.get("model"),
        permission_mode=info.get("permission_mode") or "default",
        allowed_tools=list(info.get("allowed_tools") or []),
        system_prompt=info.get("system_prompt") or "",
        resume_id=resume_id,
        fork=session.fork_next and bool(resume_id),
        env=env,
        state_dir=state_dir(session),
        tap=tap,
        backend_options=dict(info.get("backend_options") or {}),
    )

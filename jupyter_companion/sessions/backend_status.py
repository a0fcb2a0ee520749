"""What ``GET status`` and ``GET backends`` say about the backends.

- availability (installed, version, or why not) from each backend's ``check``;
- credentials, as the CLI itself reports them (``check_credentials``), so a user learns before
  the first prompt that the CLI has no API key or login;
- protocol drift: messages a CLI sent that this version does not know. They are logged and
  counted here, never shown in a conversation.

Answers are cached for a minute, and concurrent callers share one check per backend.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import asdict
from typing import Any

from .. import metrics
from ..backends.base import BackendSpec
from ..events import now_iso
from ..timed_answers import TimedAnswers

log = logging.getLogger("jupyter_companion.backend_status")

#: How long an availability answer is reused.
AVAILABILITY_TTL = 60.0
#: How long a backend may take to say whether it has credentials.
CREDENTIALS_TIMEOUT = 30.0
#: Kinds of drift remembered (the oldest are forgotten past this).
MAX_DRIFT_KINDS = 200


class BackendStatus:
    """Availability, credentials and protocol drift of the registered backends."""

    def __init__(self, backends: dict[str, BackendSpec], base_env: Callable[[], dict[str, str]]):
        self.backends = backends
        self.base_env = base_env
        self._answers = TimedAnswers(AVAILABILITY_TTL)
        self._drift: dict[tuple[str, str], dict[str, Any]] = {}

    async def report(self, with_models: bool = False) -> list[dict[str, Any]]:
        """One entry per backend: ``{name, label, available, version?, reason?, credentials?,
        conversations, protocol?}``, plus ``models`` (and an agent's own ``modes``) when asked."""
        specs = list(self.backends.values())
        results = await asyncio.gather(*(self._status_of(spec) for spec in specs))
        out = []
        for spec, status in zip(specs, results, strict=True):
            item = dict(status)
            item["conversations"] = spec.list_conversations is not None
            if spec.protocol:
                item["protocol"] = spec.protocol
            if with_models:
                item["models"] = await self._models_of(spec)
                if spec.agent_modes is not None:
                    item["modes"] = spec.agent_modes()
            out.append(item)
        return out

    async def _status_of(self, spec: BackendSpec) -> dict[str, Any]:
        status = await self.availability(spec)
        if status["available"] and spec.check_credentials is not None:
            credentials = await self._cached(spec, "credentials", self._credentials)
            if credentials:
                status = {**status, "credentials": credentials}
        return status

    async def availability(self, spec: BackendSpec) -> dict[str, Any]:
        """``{name, label, available, version?, reason?}`` of one backend (cached)."""
        return await self._cached(spec, "availability", self._check)

    async def _cached(
        self, spec: BackendSpec, what: str, compute: Callable[[BackendSpec], Awaitable[dict[str, Any]]]
    ) -> dict[str, Any]:
        answer: dict[str, Any] = await self._answers.get(f"{what}:{spec.name}", lambda: compute(spec))
        return answer

    async def _check(self, spec: BackendSpec) -> dict[str, Any]:
        status: dict[str, Any] = {"name": spec.name, "label": spec.label}
        try:
            availability = await spec.check()
        except Exception as exc:
            log.exception("availability check of backend %s failed", spec.name)
            return {**status, "available": False, "reason": f"check failed: {exc}"}
        return {**status, **availability.fields()}

    async def _credentials(self, spec: BackendSpec) -> dict[str, Any]:
        assert spec.check_credentials is not None
        try:
            found = await asyncio.wait_for(spec.check_credentials(self.base_env()), CREDENTIALS_TIMEOUT)
        except Exception as exc:  # an unanswered question is not a reason to hide the backend
            log.warning("backend %s could not say whether it has credentials: %s", spec.name, exc)
            return {}
        return {k: v for k, v in asdict(found).items() if v is not None}

    async def _models_of(self, spec: BackendSpec) -> list[dict[str, str]]:
        if spec.list_models is not None:
            with contextlib.suppress(Exception):
                models = await asyncio.wait_for(spec.list_models(), 15)
                if models:
                    return models
        return list(spec.models)

    # -- protocol drift -----------------------------------------------------------------------

    def note_drift(self, backend: str, what: str, detail: str, session_id: str) -> bool:
        """Count one unknown message kind; True the first time this process sees it."""
        key = (backend, what)
        metrics.drifted(backend)
        entry = self._drift.get(key)
        now = now_iso()
        if entry is None:
            if len(self._drift) >= MAX_DRIFT_KINDS:
                self._drift.pop(next(iter(self._drift)))
            self._drift[key] = {"backend": backend, "what": what, "detail": detail[:300], "count": 1,
                                "first_seen": now, "last_seen": now, "session_id": session_id}
            return True
        entry["count"] += 1
        entry["last_seen"] = now
        return False

    def drift(self) -> list[dict[str, Any]]:
        """Every unknown message kind seen since the server started, most recent first."""
        return sorted((dict(e) for e in self._drift.values()), key=lambda e: e["last_seen"], reverse=True)

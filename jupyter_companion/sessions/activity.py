"""The server's activity as Jupyter counts it, fed by the agents' work."""

from __future__ import annotations

import time
from datetime import datetime, timezone
from typing import Any


class ActivityClock:
    """The time an agent last worked, as Jupyter counts activity: any ``web_app.settings`` key ending
    in ``_last_activity`` takes part in ``GET api/status``'s ``last_activity``, which JupyterHub's
    single-user server reports to the hub and its idle culler reads. A turn that runs for an hour
    while nobody clicks keeps the server alive; a permission request waiting for a human does not."""

    KEY = "companion_last_activity"

    def __init__(self) -> None:
        self.settings: dict[str, Any] | None = None
        self._noted = 0.0

    def note(self, now: float | None = None) -> None:
        """An agent did something at ``now`` (``time.monotonic()``; recorded at most once a second)."""
        now = time.monotonic() if now is None else now
        if self.settings is None or now - self._noted < 1.0:
            return
        self._noted = now
        self.settings[self.KEY] = datetime.now(timezone.utc)

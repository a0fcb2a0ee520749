"""Answers worth reusing for a while (is a CLI installed, does a Docker engine answer)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any


class TimedAnswers:
    """Answers by key, each reused for ``ttl`` seconds; concurrent callers of one key share one
    computation."""

    def __init__(self, ttl: float):
        self.ttl = ttl
        self._answers: dict[str, tuple[float, Any]] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    async def get(self, key: str, compute: Callable[[], Awaitable[Any]]) -> Any:
        """The answer of ``key``: the stored one while fresh, else ``await compute()``."""
        async with self._locks.setdefault(key, asyncio.Lock()):
            stored = self._answers.get(key)
            if stored and time.monotonic() - stored[0] < self.ttl:
                return stored[1]
            answer = await compute()
            self._answers[key] = (time.monotonic(), answer)
            return answer

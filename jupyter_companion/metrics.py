"""Prometheus metrics (``prometheus_client``) in the Jupyter server's own registry, served by its
``/metrics`` (Jupyter's authentication applies unless ``c.ServerApp.authenticate_prometheus`` is
off).

Cheap on the hot path: the two per-event metrics (``companion_events_total`` and
``companion_relay_seconds``) are plain integers in this module, with no lock -- the event loop is
their only writer -- and become Prometheus families only when ``/metrics`` is read, like the
per-phase gauge; the rarer ones (turns, permissions, cost, relaunches, drift) are ordinary
``prometheus_client`` metrics.
"""

from __future__ import annotations

import bisect
import time
import weakref
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from prometheus_client import REGISTRY, Counter, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric

from .backends import ndjson

if TYPE_CHECKING:
    from .sessions.orchestrator import Orchestrator
    from .sessions.session import Session

PHASES = ("starting", "initializing", "ready", "streaming", "awaiting_permission", "compacting",
          "reconnecting", "terminated")

#: Upper bounds of the relay histogram's buckets (seconds).
RELAY_BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25)
TURNS = Histogram("companion_turn_seconds", "From a prompt sent to the CLI to the end of its turn, by backend",
                  ["backend"], buckets=(0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800))
CLI_RESTARTS = Counter("companion_cli_restarts", "CLIs relaunched after they died, by backend", ["backend"])
PERMISSION_WAIT = Histogram("companion_permission_wait_seconds", "From a permission request to its answer",
                            ["backend"], buckets=(0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800))
COST = Counter("companion_cost_usd", "What the turns cost, by backend (USD, as the CLIs report it)", ["backend"])
DRIFT = Counter("companion_protocol_drift", "CLI messages of an unknown kind or shape, by backend", ["backend"])

_events: dict[tuple[str, str], int] = {}
#: Observations per relay bucket (the last one: above every bound), their sum.
_relay_counts = [0] * (len(RELAY_BUCKETS) + 1)
_relay_sum = [0.0]
_turn_started: dict[str, float] = {}
_asked: dict[tuple[str, str], float] = {}
_orchestrators: weakref.WeakSet[Orchestrator] = weakref.WeakSet()


class _SessionsCollector:
    """``companion_sessions{phase}``: the live sessions of every orchestrator in this process."""

    def collect(self) -> Iterator[Metric]:
        """One gauge per phase, counted when read."""
        counts = dict.fromkeys(PHASES, 0)
        for orchestrator in list(_orchestrators):
            for session in list(orchestrator.sessions.values()):
                if not session.archived:
                    counts[session.phase] = counts.get(session.phase, 0) + 1
        family = GaugeMetricFamily("companion_sessions", "Sessions not archived, by phase", labels=["phase"])
        for phase, count in counts.items():
            family.add_metric([phase], count)
        yield family
        events = CounterMetricFamily("companion_events", "Session events, by backend and type",
                                     labels=["backend", "type"])
        for (backend, kind), count in list(_events.items()):
            events.add_metric([backend, kind], count)
        yield events
        cumulative, buckets = 0, []
        for bound, count in zip((*RELAY_BUCKETS, float("inf")), list(_relay_counts), strict=True):
            cumulative += count
            buckets.append(("+Inf" if bound == float("inf") else str(bound), cumulative))
        yield HistogramMetricFamily("companion_relay_seconds",
                                    "From a CLI line read to its event handed to the WebSockets",
                                    buckets=buckets, sum_value=_relay_sum[0])


REGISTRY.register(_SessionsCollector())


def watch(orchestrator: Orchestrator) -> None:
    """Count an orchestrator's sessions in ``companion_sessions``."""
    _orchestrators.add(orchestrator)


def observe(session: Session, envelope: dict[str, Any]) -> None:
    """Count one event that was just handed to the session's subscribers."""
    kind = envelope["type"]
    key = (session.info.get("backend") or "", kind)
    _events[key] = _events.get(key, 0) + 1
    started = ndjson.line_started
    if started and session.subscribers:
        took = time.perf_counter() - started
        _relay_counts[bisect.bisect_left(RELAY_BUCKETS, took)] += 1
        _relay_sum[0] += took
    if kind in _SLOW_PATH:
        _SLOW_PATH[kind](session, envelope, key[0])


def _prompt(session: Session, envelope: dict[str, Any], backend: str) -> None:
    _turn_started.setdefault(session.id, time.monotonic())


def _result(session: Session, envelope: dict[str, Any], backend: str) -> None:
    started = _turn_started.pop(session.id, None)
    if started is not None:
        TURNS.labels(backend).observe(time.monotonic() - started)
    cost = envelope.get("cost_usd")
    if isinstance(cost, (int, float)) and not isinstance(cost, bool) and cost > 0:
        COST.labels(backend).inc(cost)


def _asked_for(session: Session, envelope: dict[str, Any], backend: str) -> None:
    _asked[(session.id, str(envelope.get("request_id")))] = time.monotonic()


def _answered(session: Session, envelope: dict[str, Any], backend: str) -> None:
    asked = _asked.pop((session.id, str(envelope.get("request_id"))), None)
    if asked is not None and envelope.get("behavior") in ("allow", "deny"):
        PERMISSION_WAIT.labels(backend).observe(time.monotonic() - asked)


_SLOW_PATH = {"user_message": _prompt, "result": _result, "permission_request": _asked_for,
              "permission_resolved": _answered}


def restarted(backend: str) -> None:
    """A CLI was relaunched after it died."""
    CLI_RESTARTS.labels(backend).inc()


def drifted(backend: str) -> None:
    """A CLI message of an unknown kind or shape was seen."""
    DRIFT.labels(backend).inc()

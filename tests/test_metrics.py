"""Prometheus metrics in the Jupyter server's own ``/metrics`` (fake Claude CLI): sessions by
phase, events by backend and type, relay and turn times, permission waits, cost, relaunches."""

from __future__ import annotations

import os
import signal
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

pytestmark = pytest.mark.timeout(120)


async def _metrics(jp_fetch: Any) -> dict[str, dict[tuple[tuple[str, str], ...], float]]:
    response = await jp_fetch("metrics", method="GET")
    found: dict[str, dict[tuple[tuple[str, str], ...], float]] = {}
    for family in text_string_to_metric_families(response.body.decode()):
        for sample in family.samples:
            found.setdefault(sample.name, {})[tuple(sorted(sample.labels.items()))] = sample.value
    return found


def _value(metrics: dict[str, Any], name: str, **labels: str) -> float:
    return metrics.get(name, {}).get(tuple(sorted(labels.items())), 0.0)


async def test_the_metrics_follow_the_sessions(api: Any, connect: Any, jp_fetch: Any, workdir: Path) -> None:
    before = await _metrics(jp_fetch)
    _, session = await api("POST", "sessions", body={"backend": "claude", "cwd": "project"})
    stream = await connect(session["id"])
    await api("POST", "sessions", session["id"], "messages", body={"content": "hello metrics"})
    await stream.until_type("result")
    await api("POST", "sessions", session["id"], "messages", body={"content": "touch metric.txt"})
    request = await stream.until_type("permission_request")
    await api("POST", "sessions", session["id"], "permissions", request["request_id"], body={"behavior": "allow"})
    await stream.until(lambda e: e["type"] == "result" and e["seq"] is not None and "metric" in str(e))
    await api("POST", "sessions", session["id"], "messages", body={"content": "noise"})  # unknown message types
    await stream.until(lambda e: e["type"] == "result" and "noise" in str(e.get("text")))
    os.kill(session["pid"], signal.SIGKILL)  # a crash: the supervisor relaunches it
    await stream.until(lambda e: e["type"] == "notice" and "relaunched" in e.get("message", ""), timeout=60)
    after = await _metrics(jp_fetch)

    def grew(name: str, **labels: str) -> float:
        return _value(after, name, **labels) - _value(before, name, **labels)

    assert grew("companion_events_total", backend="claude", type="result") == 3
    assert grew("companion_protocol_drift_total", backend="claude") > 0
    assert grew("companion_events_total", backend="claude", type="stream_delta") > 0
    assert grew("companion_turn_seconds_count", backend="claude") == 3
    assert grew("companion_permission_wait_seconds_count", backend="claude") == 1
    assert grew("companion_cost_usd_total", backend="claude") == pytest.approx(0.003)
    assert grew("companion_cli_restarts_total", backend="claude") == 1
    assert grew("companion_relay_seconds_count") > 0
    assert sum(v for k, v in after["companion_sessions"].items()) >= 1
    assert set(dict(k)["phase"] for k in after["companion_sessions"]) >= {"ready", "streaming", "terminated"}


def test_the_grafana_dashboard_asks_for_metrics_that_exist() -> None:
    import json
    import re

    from prometheus_client import REGISTRY

    import jupyter_companion.metrics  # noqa: F401 - registers the metrics

    dashboard = json.loads((Path(__file__).parents[1] / "docs" / "grafana" / "jupyter-companion.json").read_text())
    suffixes = {"counter": ("_total",), "histogram": ("_bucket", "_count", "_sum"), "gauge": ("",)}
    served = {family.name + suffix for family in REGISTRY.collect() for suffix in suffixes.get(family.type, ())}
    asked = {name for panel in dashboard["panels"] for target in panel["targets"]
             for name in re.findall(r"\bcompanion_[a-z_]+", target["expr"])}
    assert len(asked) == 8 and asked <= served, asked - served

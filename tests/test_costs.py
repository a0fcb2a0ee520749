"""Cost and tokens are defined once: a ``result``'s ``cost_usd``/``usage`` are that turn's; the
session's are the totals over every CLI process it had (relaunches, resumes, restarts), so
``sum(result.cost_usd) == session.cost_usd`` always. (The Claude CLI, like the fake one here,
reports ``total_cost_usd`` adding up every turn of its process.)"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from jupyter_companion.events import add_cost, add_usage

pytestmark = pytest.mark.timeout(120)


async def turn(stream: Any, text: str) -> dict[str, Any]:
    await stream.send({"type": "user_message", "content": text})
    result = await stream.until(lambda e: e.get("type") == "result" and e.get("seq"))
    update = await stream.until(lambda e: e.get("type") == "session_update" and "cost_usd" in e)
    assert update["seq"] == result["seq"] + 1
    return result


async def test_turn_costs_add_up_to_the_session_cost_across_relaunches(api: Any, connect: Any, workdir: Path) -> None:
    status, session = await api("POST", "sessions", body={"backend": "claude", "cwd": "project"})
    assert status == 201
    sid = session["id"]
    stream = await connect(sid)
    costs = [(await turn(stream, f"turn {n}"))["cost_usd"] for n in range(3)]
    assert costs == [0.001, 0.001, 0.001]  # not the process's running total 0.001, 0.002, 0.003
    await api("POST", "sessions", sid, "relaunch")  # a new process: its own total starts again at 0
    costs.append((await turn(stream, "after the relaunch"))["cost_usd"])
    assert costs[-1] == 0.001
    _, info = await api("GET", "sessions", sid)
    _, events = await api("GET", "sessions", sid, "events")
    results = [e for e in events["events"] if e["type"] == "result"]
    assert info["cost_usd"] == pytest.approx(sum(r["cost_usd"] for r in results)) == pytest.approx(0.004)
    assert info["num_turns"] == 4
    updates = [e for e in events["events"] if e["type"] == "session_update" and "cost_usd" in e]
    assert [u["cost_usd"] for u in updates] == pytest.approx([0.001, 0.002, 0.003, 0.004])
    assert results[-1]["process_cost_usd"] == 0.001


def test_totals_add_numbers_only() -> None:
    assert add_cost(None, 0.25) == 0.25 and add_cost(0.25, None) == 0.25 and add_cost(1, True) == 1.0
    total = add_usage(None, {"input_tokens": 10, "output_tokens": 2, "service_tier": "standard",
                             "server_tool_use": {"web_search_requests": 1}, "flag": True})
    total = add_usage(total, {"input_tokens": 5, "output_tokens": 1, "server_tool_use": {"web_search_requests": 0}})
    assert total == {"input_tokens": 15, "output_tokens": 3, "server_tool_use": {"web_search_requests": 1}}
    assert add_usage(total, None) == total

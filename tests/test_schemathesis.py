"""Schemathesis fuzzes every REST route of a live ``jupyter server`` from the OpenAPI document
(valid and invalid inputs, ``generation.mode = all``): no 5xx, every answer documented and matching
its schema, no traceback in the server's log. A session, a git repository and an env profile exist
beforehand, and their names are offered as examples, so the fuzzing also reaches real state."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode

from tests.support.server import JupyterServerProcess
from tests.test_security import make_repo

pytestmark = pytest.mark.timeout(600)

SUPPORT = Path(__file__).parent / "support"
#: Examples per operation and generation mode (valid, invalid); more with COMPANION_FUZZ_EXAMPLES.
EXAMPLES = int(os.environ.get("COMPANION_FUZZ_EXAMPLES") or 25)
#: The suite runs the same inputs every time (no flaky CI); COMPANION_FUZZ_RANDOM=1 explores new ones.
DERANDOMIZE = not os.environ.get("COMPANION_FUZZ_RANDOM")


@pytest.fixture(scope="module")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[JupyterServerProcess]:
    base = tmp_path_factory.mktemp("schemathesis")
    fake = base / "claude"
    fake.write_text(f"#!{sys.executable}\n" + (SUPPORT / "fake_claude.py").read_text())
    fake.chmod(0o755)
    root = base / "root"
    make_repo(root / "repo")
    # the test plugins that fail on purpose (and log their tracebacks) are left out here
    args = [f"--ClaudeBackend.binary={fake}", "--CompanionApp.pr_poll_interval=0",
            "--CompanionApp.disabled_plugins=broken_on_import", "--CompanionApp.disabled_plugins=raises_in_hook"]
    with JupyterServerProcess(root, base / "state", args=args, env={"CODEX_HOME": str(base / "codex")}) as server:
        status, session = server.request("POST", "companion/api/sessions", {"backend": "claude", "cwd": "repo"})
        assert status == 201, session
        server.request("PUT", "companion/api/env-profiles/work", {"env": {"TOKEN": "secret-value-1234"}})
        server.session_id = session["id"]  # type: ignore[attr-defined]
        yield server


@pytest.fixture(scope="module")
def api_schema(live_server: JupyterServerProcess) -> Any:
    status, spec = live_server.request("GET", "companion/api/openapi.json")
    assert status == 200
    # examples pointing at what exists, so some generated requests reach a real session and repo
    spec["components"]["parameters"]["SessionId"]["examples"] = {"live": {"value": live_server.session_id}}  # type: ignore[attr-defined]
    spec["components"]["parameters"]["Path"]["examples"] = {"repo": {"value": "repo"}}
    config = schemathesis.Config.from_dict({
        "base-url": live_server.url.rstrip("/") + spec["servers"][0]["url"].rstrip("/"),
        "headers": {"Authorization": f"token {live_server.token}"},
        "generation": {"mode": "all", "max-examples": EXAMPLES, "database": "none"},
        "request-timeout": 60,
        # Valid-by-schema requests naming things that do not exist (a backend, a profile, a branch)
        # are 400 by design (API.md), which this check counts as a rejection of valid data.
        "checks": {"positive_data_acceptance": {"enabled": False}},
    })
    return schemathesis.openapi.from_dict(spec, config=config)


def test_every_route_answers_as_documented(api_schema: Any) -> None:
    """Every operation, with valid then invalid inputs; all failures are reported together."""
    failures: list[str] = []
    operations = 0
    for result in api_schema.get_all_operations():
        operation = result.ok()
        operations += 1
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @given(case=operation.as_strategy(generation_mode=mode))
            @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=DERANDOMIZE,
                      suppress_health_check=list(HealthCheck))
            def check(case: Any) -> None:
                case.call_and_validate()

            try:
                check()
            except Unsatisfiable:  # nothing to make invalid (no parameter, no body)
                assert mode == GenerationMode.NEGATIVE, operation.label
            except Exception as exc:  # a failed check: collected, the other operations still run
                failures.append(f"{operation.label} ({mode.value}): {exc}")
    assert operations >= 30
    assert not failures, "\n\n".join(failures)


def test_the_server_logged_no_traceback(live_server: JupyterServerProcess) -> None:
    """Runs after the fuzzing (same module): nothing reached a handler's unexpected-error path."""
    log = live_server.log_path.read_text(errors="replace")
    assert "Traceback" not in log, log[log.index("Traceback") - 2000:][:6000]
    assert "internal error" not in log

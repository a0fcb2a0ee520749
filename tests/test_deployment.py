"""The deployment files stay in step with what the suite proves: the Helm values carry the hub
configuration the JupyterHub tests load, the image pins the CLIs the tests pin, and the documented
scope names are the ones the authorizer reads."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from jupyter_companion.hub import IMPLIED_BY, SCOPE_PREFIX, required_scopes
from tests.support.clis import CLAUDE_PACKAGE, CODEX_PACKAGE
from tests.support.hub import HUB_SNIPPET

REPO = Path(__file__).resolve().parents[1]


def test_the_helm_values_carry_the_hub_configuration_verbatim() -> None:
    values = yaml.safe_load((REPO / "deploy" / "z2jh" / "values.yaml").read_text())
    assert values["hub"]["extraConfig"]["companion-scopes"].strip() == HUB_SNIPPET.read_text().strip()
    authorizer = values["singleuser"]["extraFiles"]["companion-authorizer"]
    assert authorizer["data"]["ServerApp"]["authorizer_class"] == "jupyter_companion.hub.CompanionHubAuthorizer"
    assert authorizer["mountPath"].startswith("/etc/jupyter/jupyter_server_config.d/")
    assert values["singleuser"]["storage"]["homeMountPath"] == "/home/jovyan"


def test_the_image_pins_the_clis_the_suite_runs() -> None:
    dockerfile = (REPO / "deploy" / "singleuser" / "Dockerfile").read_text()
    pinned = re.search(r'^ARG CLI_PACKAGES="([^"]+)"', dockerfile, re.M)
    assert pinned is not None and pinned.group(1).split() == [CLAUDE_PACKAGE, CODEX_PACKAGE]


def test_the_documented_scopes_are_the_ones_the_authorizer_reads() -> None:
    docs = (REPO / "docs" / "deployment.md").read_text() + (REPO / "README.md").read_text()
    snippet = HUB_SNIPPET.read_text()
    for action in IMPLIED_BY:
        assert f"{SCOPE_PREFIX}{action}:*" in docs and f"{SCOPE_PREFIX}{action}:*" in snippet
    # a watch-only grant on ada's server allows reading only
    grant = "custom:jupyter_server:read:*!server=ada/"
    assert grant in required_scopes("read", "companion", "ada", "")
    assert grant not in required_scopes("write", "companion", "ada", "")
    assert "custom:jupyter_server:execute:*!user=ada" in required_scopes("read", "companion", "ada", "")

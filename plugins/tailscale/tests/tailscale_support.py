"""The ``tailscale`` stand-in installed for a test, and its state."""

from __future__ import annotations

import json
import stat
import sys
from pathlib import Path
from typing import Any

STANDIN = Path(__file__).with_name("tailscale_standin.py")


class Tailscale:
    """The stand-in installed as an executable ``tailscale`` in its own folder."""

    def __init__(self, folder: Path):
        self.path = folder / "tailscale"
        self.path.write_text(f"#!{sys.executable}\n" + STANDIN.read_text())
        self.path.chmod(self.path.stat().st_mode | stat.S_IEXEC)
        self.state_file = folder / "state.json"

    def state(self) -> dict[str, Any]:
        """What the stand-in keeps (its ``calls`` included)."""
        return json.loads(self.state_file.read_text()) if self.state_file.exists() else {"calls": [], "serve": {}}

    def set(self, **changes: Any) -> None:
        """Change the stand-in's situation (``daemon``, ``backend``, ``funnel_allowed``, ``operator``)."""
        self.state_file.write_text(json.dumps({**self.state(), **changes}))

    def calls(self) -> list[list[str]]:
        """The argument lists it was run with."""
        return self.state()["calls"]

"""Pinned agent CLIs for the test-suite: install on demand into a cache, build their environment.

``ensure_cli("claude")`` / ``ensure_cli("codex")`` return the absolute path of the pinned binary,
installing the npm package into :func:`cache_dir` when it is missing or of another version.
The install is guarded by a file lock so parallel pytest workers do not race.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

CLAUDE_PACKAGE = "@anthropic-ai/claude-code@2.1.197"
CODEX_PACKAGE = "@openai/codex@0.169.0"
#: ACP agents (issue 12): Claude's and Codex's ACP adapters. Neither answers ``--version``; their
#: installed ``package.json`` is checked instead.
CLAUDE_ACP_PACKAGE = "@zed-industries/claude-agent-acp@0.23.1"
CODEX_ACP_PACKAGE = "@zed-industries/codex-acp@0.16.0"
#: JupyterHub's proxy (issue 16), for the tests that run a real JupyterHub.
PROXY_PACKAGE = "configurable-http-proxy@5.3.0"

REPO_ROOT = Path(__file__).resolve().parents[2]

#: name -> (npm package spec, text that ``<bin> --version`` must contain; None: the package's
#: ``package.json`` must name the pinned version)
_PINNED: dict[str, tuple[str, str | None]] = {
    "claude": (CLAUDE_PACKAGE, CLAUDE_PACKAGE.rsplit("@", 1)[1] + " (Claude Code)"),
    "codex": (CODEX_PACKAGE, "codex-cli " + CODEX_PACKAGE.rsplit("@", 1)[1]),
    "claude-agent-acp": (CLAUDE_ACP_PACKAGE, None),
    "codex-acp": (CODEX_ACP_PACKAGE, None),
    "configurable-http-proxy": (PROXY_PACKAGE, None),
}

_INSTALL_TIMEOUT = 900  # seconds; the claude package carries a ~250 MB native binary


class CliInstallError(RuntimeError):
    """The pinned CLI could not be installed or does not report the pinned version."""


def cache_dir() -> Path:
    """Directory holding ``node_modules`` of the pinned CLIs (env ``COMPANION_TEST_CACHE``)."""
    env = os.environ.get("COMPANION_TEST_CACHE")
    return Path(env).expanduser().resolve() if env else REPO_ROOT / ".cache" / "clis"


def _package_name(spec: str) -> str:
    """``@scope/name@1.2.3`` -> ``@scope/name``."""
    return spec.rsplit("@", 1)[0]


def _version_ok(binary: Path, expected: str | None, spec: str) -> bool:
    """True when ``binary --version`` runs and prints ``expected`` (``expected`` None: when the
    installed package of ``spec`` has the pinned version)."""
    if not (binary.exists() and os.access(binary, os.X_OK)):
        return False
    if expected is None:
        manifest = binary.parent.parent / _package_name(spec) / "package.json"
        try:
            return bool(json.loads(manifest.read_text()).get("version") == spec.rsplit("@", 1)[1])
        except (OSError, ValueError):
            return False
    env = {k: v for k, v in os.environ.items() if k != "CLAUDECODE"}
    env.update(DISABLE_AUTOUPDATER="1", CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC="1")
    try:
        out = subprocess.run(  # noqa: S603 - fixed argv, no shell
            [str(binary), "--version"],
            capture_output=True,
            text=True,
            timeout=60,
            env=env,
            stdin=subprocess.DEVNULL,
        )
    except (OSError, subprocess.SubprocessError):
        return False
    return out.returncode == 0 and expected in out.stdout


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    """Hold an exclusive ``flock`` on ``path`` for the duration of the block."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _run(argv: list[str], cwd: Path) -> None:
    """Run an install step, raising :class:`CliInstallError` with its output on failure."""
    try:
        proc = subprocess.run(  # noqa: S603 - argv list, no shell
            argv, cwd=cwd, capture_output=True, text=True, timeout=_INSTALL_TIMEOUT, stdin=subprocess.DEVNULL
        )
    except (OSError, subprocess.SubprocessError) as exc:
        raise CliInstallError(f"{argv[0]} failed to run: {exc}") from exc
    if proc.returncode != 0:
        raise CliInstallError(
            f"{' '.join(argv)} exited {proc.returncode}:\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}"
        )


def _install(cache: Path) -> None:
    """``npm install`` every pinned package into ``cache``; make sure the postinstall steps happened.

    All pinned packages go in one command: ``npm install --no-save X`` prunes whatever else is in
    ``node_modules`` (there is no package.json listing it), so installing one would remove the other.
    """
    npm = shutil.which("npm")
    if npm is None:
        raise CliInstallError("npm is not on PATH: cannot install the pinned CLIs")
    cache.mkdir(parents=True, exist_ok=True)
    specs = [spec for spec, _ in _PINNED.values()]
    _run([npm, "install", "--no-save", "--no-audit", "--no-fund", "--prefix", str(cache), *specs], cache)
    # claude-code ships a placeholder bin/claude.exe that its postinstall replaces with the native
    # binary. npm >= 11 warns that the script is not in allowScripts (and a future npm, or
    # ignore-scripts=true in a user's npmrc, may skip it): run it ourselves when it did not happen.
    for spec in specs:
        pkg_dir = cache / "node_modules" / _package_name(spec)
        installer = pkg_dir / "install.cjs"
        placeholder = pkg_dir / "bin" / "claude.exe"
        if installer.exists() and placeholder.exists() and placeholder.stat().st_size < 1_000_000:
            node = shutil.which("node")
            if node is None:
                raise CliInstallError("node is not on PATH: cannot run the postinstall of " + spec)
            _run([node, str(installer)], pkg_dir)


def ensure_cli(name: str) -> str:
    """Absolute path of the pinned ``name`` CLI ("claude", "codex", "claude-agent-acp",
    "codex-acp"), installing it if needed."""
    if name not in _PINNED:
        raise ValueError(f"unknown CLI {name!r}; expected one of {sorted(_PINNED)}")
    spec, expected = _PINNED[name]
    cache = cache_dir()
    binary = cache / "node_modules" / ".bin" / name
    if _version_ok(binary, expected, spec):
        return str(binary)
    with _locked(cache.parent / f".{cache.name}.install.lock"):
        if not _version_ok(binary, expected, spec):  # another worker may have finished meanwhile
            _install(cache)
            if not _version_ok(binary, expected, spec):
                raise CliInstallError(f"{binary} does not report {expected or spec!r} after installing {spec}")
    return str(binary)


def claude_env(base_url: str, home: str | os.PathLike[str]) -> dict[str, str]:
    """Full environment for a Claude Code child talking to a scripted server at ``base_url``."""
    # A developer's own Claude settings (API keys, config dir, nested-session marker) must not leak in.
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("CLAUDECODE", "CLAUDE_CONFIG_DIR") and not k.startswith(("ANTHROPIC_", "CLAUDE_CODE_"))
    }
    env.update(
        ANTHROPIC_BASE_URL=base_url,
        ANTHROPIC_API_KEY="test-key",
        DISABLE_AUTOUPDATER="1",
        CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC="1",
        DISABLE_TELEMETRY="1",
        DISABLE_ERROR_REPORTING="1",
        HOME=os.fspath(home),
        NO_PROXY="127.0.0.1,localhost",
        no_proxy="127.0.0.1,localhost",
        PATH=os.environ.get("PATH", os.defpath),
    )
    return env


def claude_cli_env(base_url: str, home: Path) -> dict[str, str]:
    """What a server's ``cli_env`` needs for Claude Code against a scripted server at ``base_url``
    (``home`` created; the server's own PATH kept)."""
    home.mkdir(parents=True, exist_ok=True)
    return {k: v for k, v in claude_env(base_url, home).items() if k != "PATH"}

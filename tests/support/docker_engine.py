"""A real Docker engine for the test-suite, and test images built without any registry.

:func:`docker_engine` answers the URL of an engine: ``$COMPANION_TEST_DOCKER_HOST`` when set,
else a ``dockerd`` this module starts itself (Debian's ``docker.io``; state under
``/tmp/companion-test-dockerd``) and stops at exit. :func:`claude_image` imports an image from a
local root filesystem: ``busybox-static`` (sh and the usual tools), the pinned Claude CLI binary
and the libraries ``ldd`` names.
"""

from __future__ import annotations

import atexit
import hashlib
import io
import os
import shutil
import subprocess
import tarfile
import time
from pathlib import Path

STATE = Path("/tmp/companion-test-dockerd")
SOCKET = STATE / "docker.sock"
BUSYBOX_APPLETS = ("sh", "cat", "echo", "ls", "mkdir", "chown", "ln", "rm", "kill", "sleep", "test", "env", "id",
                   "hostname", "touch", "grep", "sed", "head", "tail", "printf", "pwd", "true", "false", "uname",
                   "ps", "wc", "cp", "mv", "chmod", "date", "dirname", "basename", "which", "tr", "cut", "sort",
                   "find", "xargs", "tee", "stat", "readlink", "realpath", "[")


#: A file only the test images have: a tool that prints it ran inside a container.
MARKER_PATH = "/etc/companion-test-image"
MARKER_TEXT = "inside the companion test image"


class DockerUnavailable(RuntimeError):
    """The engine could not be started here; the message names what is missing."""


def _answers(url: str) -> bool:
    try:
        out = subprocess.run(["docker", "--host", url, "version", "--format", "{{.Server.Version}}"],
                             capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return out.returncode == 0 and bool(out.stdout.strip())


def engine_or_skip() -> str:
    """:func:`docker_engine` for a test: skipped (naming what is missing) when there is none, failed
    instead where ``COMPANION_REQUIRE_DOCKER`` is set (``scripts/test`` sets it)."""
    import pytest

    try:
        return docker_engine()
    except DockerUnavailable as exc:
        if os.environ.get("COMPANION_REQUIRE_DOCKER"):
            pytest.fail(f"no Docker engine: {exc}")
        pytest.skip(reason=f"no Docker engine here ({exc}); set COMPANION_REQUIRE_DOCKER=1 to fail instead")


def docker_engine() -> str:
    """The URL of a running engine (started when needed)."""
    url = os.environ.get("COMPANION_TEST_DOCKER_HOST")
    if url:
        if not _answers(url):
            raise DockerUnavailable(f"COMPANION_TEST_DOCKER_HOST={url} does not answer")
        return url
    url = f"unix://{SOCKET}"
    if _answers(url):
        return url
    dockerd = shutil.which("dockerd")
    if dockerd is None or shutil.which("docker") is None:
        raise DockerUnavailable("dockerd/docker are not installed (Debian package docker.io; scripts/test installs it)")
    STATE.mkdir(parents=True, exist_ok=True)
    log = open(STATE / "dockerd.log", "ab")  # noqa: SIM115 - kept open for the daemon's lifetime
    proc = subprocess.Popen(  # noqa: S603 - fixed argv
        [dockerd, "--data-root", str(STATE / "data"), "--exec-root", str(STATE / "exec"),
         "--pidfile", str(STATE / "dockerd.pid"), "--host", url, "--log-level", "warn"],
        stdout=log, stderr=log, stdin=subprocess.DEVNULL, start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            tail = (STATE / "dockerd.log").read_text(errors="replace")[-1500:]
            raise DockerUnavailable(f"dockerd exited with {proc.returncode}:\n{tail}")
        if _answers(url):
            atexit.register(_stop, proc)
            return url
        time.sleep(0.3)
    proc.kill()
    raise DockerUnavailable("dockerd did not answer within 60 s")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(20)
    except subprocess.TimeoutExpired:
        proc.kill()


def docker(url: str, *args: str, input: bytes | None = None, timeout: float = 300) -> str:
    """Run the docker client against ``url``; its stdout (raises on failure)."""
    out = subprocess.run(["docker", "--host", url, *args], input=input, capture_output=True, timeout=timeout)
    if out.returncode != 0:
        raise RuntimeError(f"docker {' '.join(args)} failed: {out.stderr.decode(errors='replace')[-800:]}")
    return out.stdout.decode(errors="replace")


def _libraries(binary: str) -> list[str]:
    out = subprocess.run(["ldd", binary], capture_output=True, text=True, check=False).stdout  # static: none
    found = []
    for line in out.splitlines():
        parts = line.split()
        for part in parts:
            if part.startswith("/") and os.path.exists(part):
                found.append(part)
    return found


def _add_file(tar: tarfile.TarFile, source: str, target: str, mode: int | None = None) -> None:
    info = tar.gettarinfo(os.path.realpath(source), arcname=target.lstrip("/"))
    if mode is not None:
        info.mode = mode
    with open(os.path.realpath(source), "rb") as handle:
        tar.addfile(info, handle)


def _add_dir(tar: tarfile.TarFile, path: str, mode: int = 0o755) -> None:
    info = tarfile.TarInfo(path.lstrip("/"))
    info.type = tarfile.DIRTYPE
    info.mode = mode
    tar.addfile(info)


def _add_text(tar: tarfile.TarFile, path: str, text: str) -> None:
    data = text.encode()
    info = tarfile.TarInfo(path.lstrip("/"))
    info.size = len(data)
    info.mode = 0o644
    tar.addfile(info, io.BytesIO(data))


def _add_link(tar: tarfile.TarFile, path: str, target: str) -> None:
    info = tarfile.TarInfo(path.lstrip("/"))
    info.type = tarfile.SYMTYPE
    info.linkname = target
    tar.addfile(info)


def base_rootfs(extra: dict[str, str] | None = None) -> bytes:
    """A root filesystem (tar) with busybox's applets, /etc/passwd, /tmp and ``extra`` files
    (container path -> host path, with the libraries each binary needs)."""
    busybox = shutil.which("busybox") or "/bin/busybox"
    if not os.path.exists(busybox):
        raise DockerUnavailable("busybox is not installed (Debian package busybox-static; scripts/test installs it)")
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for folder in ("/bin", "/etc", "/root", "/home", "/usr", "/usr/local", "/usr/local/bin", "/lib", "/lib64",
                       "/lib/x86_64-linux-gnu", "/proc", "/sys", "/dev", "/run"):
            _add_dir(tar, folder)
        _add_dir(tar, "/tmp", 0o1777)
        _add_file(tar, busybox, "/bin/busybox", 0o755)
        for applet in BUSYBOX_APPLETS:
            _add_link(tar, f"/bin/{applet}", "busybox")
        _add_text(tar, "/etc/passwd", "root:x:0:0:root:/root:/bin/sh\n")
        _add_text(tar, "/etc/group", "root:x:0:\n")
        _add_text(tar, "/etc/hosts", "127.0.0.1 localhost\n")
        _add_text(tar, MARKER_PATH, MARKER_TEXT + "\n")
        libraries: set[str] = set()
        for target, source in (extra or {}).items():
            _add_file(tar, source, target, 0o755)
            libraries.update(_libraries(source))
        for library in sorted(libraries):
            _add_file(tar, library, library, 0o755)
    return buffer.getvalue()


def import_image(url: str, tag: str, rootfs: bytes) -> str:
    """``docker import`` a root filesystem as ``tag`` (skipped when the tag exists)."""
    if docker(url, "images", "-q", tag).strip():
        return tag
    docker(url, "import", "-", tag, input=rootfs)
    return tag


def base_image(url: str) -> str:
    """An image with busybox only (for init scripts and Dockerfile builds)."""
    return import_image(url, "companion-test/base:2", base_rootfs())


def claude_image(url: str, claude: str) -> str:
    """An image with busybox, bash and the pinned Claude CLI at /usr/local/bin/claude."""
    real = os.path.realpath(claude)
    stat = os.stat(real)
    digest = hashlib.sha256(f"{real}:{stat.st_size}:{stat.st_mtime_ns}".encode()).hexdigest()[:12]
    tag = f"companion-test/claude:3-{digest}"
    if docker(url, "images", "-q", tag).strip():
        return tag
    # the CLI's Bash tool wants bash (or zsh): the host's, with its libraries
    return import_image(url, tag, base_rootfs({"/usr/local/bin/claude": real, "/bin/bash": "/bin/bash"}))


def codex_image(url: str, codex: str) -> str:
    """An image with busybox and the pinned Codex CLI (its static musl binary) at /usr/local/bin/codex."""
    launcher = Path(os.path.realpath(codex))
    found = sorted(launcher.parents[2].glob("codex-linux-*/vendor/*-linux-musl/bin/codex")) if len(launcher.parents) > 2 else []
    if not found:
        raise DockerUnavailable(f"no native codex binary next to {launcher}")
    real = str(found[0])
    stat = os.stat(real)
    digest = hashlib.sha256(f"{real}:{stat.st_size}:{stat.st_mtime_ns}".encode()).hexdigest()[:12]
    tag = f"companion-test/codex:1-{digest}"
    if docker(url, "images", "-q", tag).strip():
        return tag
    return import_image(url, tag, base_rootfs({"/usr/local/bin/codex": real}))


def our_containers(url: str) -> list[str]:
    """Names of every container the companion created on this engine (any server)."""
    out = docker(url, "ps", "-a", "--filter", "label=io.jupyter-companion.session", "--format", "{{.Names}}")
    return [line for line in out.splitlines() if line.strip()]

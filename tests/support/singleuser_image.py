"""Build ``deploy/singleuser/Dockerfile`` in the test-suite, with no registry and no network inside
the build: a local base image (Debian bookworm from ``debootstrap`` with Python, plus this
machine's Node.js and npm), the project and its dependencies as wheels, and an npm cache holding
the pinned CLIs, both in the build context (the Dockerfile's offline inputs)."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

from .clis import CLAUDE_PACKAGE, CODEX_PACKAGE
from .docker_engine import DockerUnavailable, _libraries, docker
from .server import copy_repository

REPO = Path(__file__).resolve().parents[2]
DOCKERFILE = REPO / "deploy" / "singleuser" / "Dockerfile"
BASE_TAG = "companion-test/singleuser-base:1"
ROOTFS = Path("/tmp/companion-test-bookworm")
#: The platform packages the CLIs pick at install time (npm aliases included).
CLI_CACHE_SPECS = [CLAUDE_PACKAGE, CLAUDE_PACKAGE.replace("claude-code@", "claude-code-linux-x64@"),
                   CODEX_PACKAGE, CODEX_PACKAGE + "-linux-x64"]


def _run(argv: list[str], timeout: float = 900, **kwargs: object) -> str:
    out = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False, **kwargs)  # type: ignore[call-overload]  # noqa: S603
    if out.returncode != 0:
        raise RuntimeError(f"{' '.join(argv[:4])}... exited {out.returncode}:\n{out.stdout[-3000:]}\n{out.stderr[-3000:]}")
    return str(out.stdout)


def bookworm_rootfs() -> Path:
    """A Debian bookworm root filesystem with Python 3 (``debootstrap`` from Debian's mirror; kept
    in /tmp for the next run on this machine)."""
    if (ROOTFS / "usr" / "bin" / "python3").exists():
        return ROOTFS
    if shutil.which("debootstrap") is None:
        raise DockerUnavailable("debootstrap is not installed (Debian package debootstrap; scripts/test installs it)")
    shutil.rmtree(ROOTFS, ignore_errors=True)
    _run(["debootstrap", "--variant=minbase", "--include=python3,python3-venv,python3-pip,ca-certificates",
          "bookworm", str(ROOTFS), "http://deb.debian.org/debian"], timeout=1200)
    return ROOTFS


def base_image(url: str) -> str:
    """The local base image: bookworm with Python, and this machine's ``node`` and npm."""
    if docker(url, "images", "-q", BASE_TAG).strip():
        return BASE_TAG
    root = bookworm_rootfs()
    node = shutil.which("node")
    npm_dir = Path("/usr/lib/node_modules/npm")
    if node is None or not npm_dir.is_dir():
        raise DockerUnavailable("node and npm (in /usr/lib/node_modules/npm) are needed for the image's CLIs")
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        tar.add(str(root), arcname=".", filter=lambda info: None if info.name.startswith("./proc/") else info)
        tar.add(os.path.realpath(node), arcname="usr/local/bin/node")
        for library in _libraries(os.path.realpath(node)):
            if not (root / library.lstrip("/")).exists():
                tar.add(library, arcname=library.lstrip("/"))
        tar.add(str(npm_dir), arcname="usr/local/lib/node_modules/npm")
        link = tarfile.TarInfo("usr/local/bin/npm")
        link.type, link.linkname = tarfile.SYMTYPE, "../lib/node_modules/npm/bin/npm-cli.js"
        tar.addfile(link)
    docker(url, "import", "-", BASE_TAG, input=buffer.getvalue(), timeout=600)
    return BASE_TAG


def offline_context(context: Path, python_version: str) -> Path:
    """A build context holding what the Dockerfile installs offline: wheels of the project (with the
    JupyterHub extra) and of JupyterLab with every dependency, for the image's ``python_version``,
    and an npm cache with the CLIs."""
    offline = context / "deploy" / "singleuser" / "offline"
    wheels, cache = offline / "wheels", offline / "npm-cache"
    wheels.mkdir(parents=True)
    source = context.parent / f"{context.name}-source"
    copy_repository(source)
    _run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--wheel-dir", str(wheels), str(source)])
    shutil.rmtree(source, ignore_errors=True)
    platforms = [arg for tag in ("manylinux2014_x86_64", "manylinux_2_28_x86_64", "linux_x86_64", "any")
                 for arg in ("--platform", tag)]
    _run([sys.executable, "-m", "pip", "download", "-q", "--only-binary=:all:", "--python-version", python_version,
          "--implementation", "cp", *platforms, "--find-links", str(wheels), "--dest", str(wheels),
          "jupyter-companion[hub]", "jupyterlab>=4.2,<5"], timeout=1200)
    _run(["npm", "cache", "add", "--cache", str(cache), *CLI_CACHE_SPECS], timeout=900)
    return context


def build(url: str, context: Path, tag: str) -> str:
    """``docker build`` the Dockerfile from the local base image, the network off; the build log."""
    base = base_image(url)
    version = docker(url, "run", "--rm", "--network", "none", base, "python3", "-c",
                     "import platform; print(platform.python_version())").strip()
    offline_context(context, version)
    return _run(["docker", "--host", url, "build", "--network", "none", "-f", str(DOCKERFILE),
                 "--build-arg", f"BASE_IMAGE={base}", "--build-arg", "COMPANION=jupyter-companion", "-t", tag,
                 str(context)], timeout=1800)

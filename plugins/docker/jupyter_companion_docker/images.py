"""The image of a profile: present already, pulled, or built from the profile's Dockerfile.

Blocking (run in a thread); ``report(detail)`` receives progress lines.
"""

from __future__ import annotations

import hashlib
import io
import re
import time
from collections.abc import Callable
from typing import Any

import docker
import docker.errors

from jupyter_companion.sandboxes.base import SandboxError

STEP = "preparing_image"
Report = Callable[[str], None]


def built_tag(profile: dict[str, Any]) -> str:
    """The tag of the image built from a profile's Dockerfile: named after the profile, versioned
    by the Dockerfile's hash (a changed Dockerfile is built again, an unchanged one reused)."""
    name = re.sub(r"[^a-z0-9._-]+", "-", str(profile.get("name") or "profile").lower()).strip("-._") or "profile"
    digest = hashlib.sha256(str(profile["dockerfile"]).encode()).hexdigest()[:12]
    return f"jupyter-companion-sandbox/{name}:{digest}"


def ensure_image(client: docker.DockerClient, profile: dict[str, Any], report: Report) -> str:
    """The reference of the profile's image, pulling or building it when it is not present."""
    if profile.get("dockerfile"):
        tag = built_tag(profile)
        if _present(client, tag):
            report(f"{tag} is present (built earlier from this Dockerfile)")
            return tag
        _build(client, profile["dockerfile"], tag, report)
        return tag
    image = str(profile["image"])
    if _present(client, image):
        report(f"{image} is present")
        return image
    _pull(client, image, report)
    return image


def _present(client: docker.DockerClient, ref: str) -> bool:
    try:
        client.images.get(ref)
        return True
    except docker.errors.ImageNotFound:
        return False


def _pull(client: docker.DockerClient, image: str, report: Report) -> None:
    repository, _, tag = image.rpartition(":") if ":" in image.rsplit("/", 1)[-1] else (image, "", "latest")
    report(f"pulling {image}")
    last = 0.0
    try:
        for line in client.api.pull(repository, tag=tag, stream=True, decode=True):
            if "error" in line:
                raise docker.errors.APIError(str(line["error"]))
            now = time.monotonic()
            if now - last >= 0.5 or line.get("status", "").startswith(("Digest", "Status")):
                last = now
                detail = " ".join(str(line.get(k, "")) for k in ("id", "status", "progress") if line.get(k))
                if detail:
                    report(detail[:300])
    except (docker.errors.APIError, docker.errors.DockerException) as exc:
        raise SandboxError(STEP, f"the image {image!r} is not on this Docker engine and could not be pulled: "
                                 f"{_short(exc)}", 400) from exc
    if not _present(client, image):
        raise SandboxError(STEP, f"the image {image!r} could not be pulled", 400)


def _build(client: docker.DockerClient, dockerfile: str, tag: str, report: Report) -> None:
    report(f"building {tag} from the profile's Dockerfile")
    try:
        for line in client.api.build(fileobj=io.BytesIO(dockerfile.encode()), tag=tag, rm=True, forcerm=True,
                                     decode=True):
            if "error" in line:
                raise SandboxError(STEP, f"building the image failed: {str(line['error']).strip()[:500]}", 400)
            text = str(line.get("stream") or line.get("status") or "").strip()
            if text:
                report(text[:300])
    except (docker.errors.APIError, docker.errors.BuildError) as exc:
        raise SandboxError(STEP, f"building the image failed: {_short(exc)}", 400) from exc


def _short(exc: BaseException) -> str:
    text = getattr(exc, "explanation", None) or str(exc)
    return str(text).strip()[:400]

"""What a ``docker`` sandbox profile may say, checked and normalized."""

from __future__ import annotations

import re
from typing import Any

IMAGE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._/:@+-]{0,254}")
MEMORY = re.compile(r"[1-9][0-9]{0,12}[bkmgBKMG]?")
USER = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,31}(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,31})?")
ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,127}")
NETWORKS = ("bridge", "host", "none")
MAX_DOCKERFILE = 100_000
MAX_SCRIPT = 64_000
FIELDS = {"provider", "image", "dockerfile", "init_script", "init_timeout", "network", "cpus", "memory",
          "ports", "env", "user", "description"}


def validate_profile(body: dict[str, Any]) -> dict[str, Any]:
    """A docker profile, normalized: ``image`` or ``dockerfile`` (not both), ``network``
    (``bridge`` by default), optional ``init_script`` (+ ``init_timeout`` seconds), ``cpus``,
    ``memory`` (bytes or ``512m``), ``ports`` (container ports published on 127.0.0.1),
    ``env``, ``user`` (``uid[:gid]`` or a name), ``description``. Raises ValueError."""
    unknown = sorted(set(body) - FIELDS)
    if unknown:
        raise ValueError(f"unknown field(s) {', '.join(unknown)[:200]}; a docker profile has {', '.join(sorted(FIELDS))}")
    out: dict[str, Any] = {}
    image, dockerfile = body.get("image"), body.get("dockerfile")
    if (image in (None, "")) == (dockerfile in (None, "")):
        raise ValueError("give either 'image' (a local or pullable image) or 'dockerfile' (its text), not both")
    if image not in (None, ""):
        if not isinstance(image, str) or not IMAGE.fullmatch(image):
            raise ValueError("'image' must be an image reference such as 'python:3.12-slim'")
        out["image"] = image
    else:
        if not isinstance(dockerfile, str) or len(dockerfile) > MAX_DOCKERFILE or "\x00" in dockerfile:
            raise ValueError(f"'dockerfile' must be the text of a Dockerfile (at most {MAX_DOCKERFILE} characters)")
        if not re.search(r"(?im)^\s*FROM\s+\S", dockerfile):
            raise ValueError("'dockerfile' has no FROM line")
        out["dockerfile"] = dockerfile
    script = body.get("init_script")
    if script not in (None, ""):
        if not isinstance(script, str) or len(script) > MAX_SCRIPT or "\x00" in script:
            raise ValueError(f"'init_script' must be shell text of at most {MAX_SCRIPT} characters")
        out["init_script"] = script
    timeout = body.get("init_timeout")
    if timeout is not None:
        if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not 1 <= timeout <= 3600:
            raise ValueError("'init_timeout' must be a number of seconds between 1 and 3600")
        out["init_timeout"] = timeout
    network = body.get("network") or "bridge"
    if network not in NETWORKS:
        raise ValueError(f"'network' must be one of {', '.join(NETWORKS)}")
    out["network"] = network
    cpus = body.get("cpus")
    if cpus is not None:
        if isinstance(cpus, bool) or not isinstance(cpus, (int, float)) or not 0.01 <= cpus <= 1024:
            raise ValueError("'cpus' must be a number of CPUs between 0.01 and 1024")
        out["cpus"] = cpus
    memory = body.get("memory")
    if memory is not None:
        if isinstance(memory, bool) or not (
            (isinstance(memory, int) and 4 * 2**20 <= memory <= 2**50) or (isinstance(memory, str) and MEMORY.fullmatch(memory))
        ):
            raise ValueError("'memory' must be a number of bytes (at least 4 MiB) or a size such as '512m' or '2g'")
        out["memory"] = memory
    ports = body.get("ports")
    if ports is not None:
        if not isinstance(ports, list) or len(ports) > 32 or not all(
            isinstance(p, int) and not isinstance(p, bool) and 1 <= p <= 65535 for p in ports
        ):
            raise ValueError("'ports' must be a list of at most 32 port numbers (1-65535)")
        out["ports"] = sorted(set(ports))
    env = body.get("env")
    if env is not None:
        if not isinstance(env, dict) or not all(
            isinstance(k, str) and ENV_NAME.fullmatch(k) and isinstance(v, str) and "\x00" not in v for k, v in env.items()
        ):
            raise ValueError("'env' must map variable names to string values")
        out["env"] = dict(env)
    user = body.get("user")
    if user not in (None, ""):
        if not isinstance(user, str) or not USER.fullmatch(user):
            raise ValueError("'user' must be 'uid[:gid]' or a user name of the image")
        out["user"] = user
    description = body.get("description")
    if description not in (None, ""):
        if not isinstance(description, str) or len(description) > 500:
            raise ValueError("'description' must be text of at most 500 characters")
        out["description"] = description
    return out

"""Settings of the docker sandbox (``c.DockerSandbox.<name>`` in a Jupyter config file)."""

from __future__ import annotations

from traitlets import Bool, Float, Unicode
from traitlets.config import Configurable


class DockerSandbox(Configurable):
    """How the ``docker`` sandbox reaches the engine and runs containers."""

    docker_host = Unicode(
        "",
        help="URL of the Docker engine (e.g. unix:///var/run/docker.sock); empty: $DOCKER_HOST or the default socket.",
    ).tag(config=True)
    docker_binary = Unicode(
        "docker", help="The docker command-line client that runs the agent CLI with 'docker exec -i'."
    ).tag(config=True)
    init_script_timeout = Float(
        120.0, help="Seconds an init script may run before the creation fails (a profile's init_timeout overrides)."
    ).tag(config=True)
    pull_timeout = Float(600.0, help="Seconds an image pull or build may take.").tag(config=True)
    home = Unicode(
        "/home/companion", help="HOME of the agent CLI inside the container (created when the container is)."
    ).tag(config=True)
    keep_on_server_stop = Bool(
        True,
        help="When the server stops, stop the sessions' containers and keep them, to be started again "
        "(with the CLI's conversation files) by the next server; False removes them.",
    ).tag(config=True)

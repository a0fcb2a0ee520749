"""The ``docker`` sandbox provider: prepare, find again, stop and remove a session's container.

Every Docker call runs in a thread; progress from those threads is handed back to the event loop.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

import docker.errors

from jupyter_companion.backends.base import Availability, CommandWrapper
from jupyter_companion.sandboxes.base import SandboxError, SandboxRequest, SandboxSpec

from . import containers, images
from .command import exec_wrapper, shell_argv
from .config import DockerSandbox
from .engine import Engine, explain
from .profile import validate_profile

log = logging.getLogger("jupyter_companion_docker")


class DockerProvider:
    """One per server: the engine connection and the sessions' containers."""

    def __init__(self, config: DockerSandbox):
        self.config = config
        self.engine = Engine(config)

    @property
    def docker_argv(self) -> list[str]:
        """The docker client and the engine it talks to."""
        return [self.config.docker_binary, "--host", self.engine.url]

    def spec(self) -> SandboxSpec:
        """The provider as the core registers it."""
        return SandboxSpec(
            name="docker",
            label="Docker",
            description="Run the agent CLI in a container of its own (one per session), with the session "
                        "folder mounted at the same path.",
            wrapper=self.wrapper,
            teardown=self.teardown,
            check=self.check,
            validate_profile=validate_profile,
            prepare=self.prepare,
            stop=self.stop,
            sweep=self.sweep,
            shell=self.shell,
        )

    async def check(self) -> Availability:
        """Whether the engine answers (and the docker client is installed)."""
        return await asyncio.to_thread(self.engine.check)

    async def prepare(self, request: SandboxRequest) -> dict[str, Any]:
        """Find the session's container (starting it when stopped) or create it: image, container,
        init script, each reported as a creation step."""
        try:  # the first call to the engine: an engine that is gone is said here, in the user's words
            client = await asyncio.to_thread(self.engine.client)
            found = await asyncio.to_thread(containers.find, client, request.session_id, request.owner)
        except Exception as exc:
            raise SandboxError("creating_container", explain(exc, self.engine.url), 400) from exc
        if found is not None:
            try:
                if found.status == "running":
                    await asyncio.to_thread(containers.stop_leftover_cli, found)
                else:
                    await asyncio.to_thread(found.start)
                    await asyncio.to_thread(found.reload)
                return self._info(found)
            except docker.errors.APIError as exc:
                log.warning("container %s could not be reused (%s); creating a new one", found.name, exc)
                await asyncio.to_thread(containers.remove, found)
        info = await self._create(client, request)
        info["recreated"] = bool(request.existing.get("container_id"))
        return info

    async def _create(self, client: docker.DockerClient, request: SandboxRequest) -> dict[str, Any]:
        progress = request.progress
        loop = asyncio.get_running_loop()

        def reporter(step: str, label: str) -> Callable[[str], None]:
            def report(detail: str) -> None:
                loop.call_soon_threadsafe(progress, step, label, "in_progress", detail)

            return report

        label = "Preparing the image"
        progress("preparing_image", label, "in_progress", None)
        try:
            image = await asyncio.wait_for(
                asyncio.to_thread(images.ensure_image, client, request.profile, reporter("preparing_image", label)),
                self.config.pull_timeout,
            )
        except asyncio.TimeoutError as exc:
            raise SandboxError("preparing_image", f"preparing the image took longer than {self.config.pull_timeout:.0f} s") from exc
        progress("preparing_image", label, "done", image)

        label = "Creating the container"
        progress("creating_container", label, "in_progress", None)
        try:
            container = await asyncio.to_thread(containers.create, client, request, image, self.config.home)
        except SandboxError:
            raise
        except docker.errors.APIError as exc:
            status = 400 if exc.is_client_error() else 502
            raise SandboxError("creating_container", f"Docker could not create the container: {exc.explanation or exc}", status) from exc
        progress("creating_container", label, "done", f"{container.name} ({container.short_id})")
        try:
            await self._init_script(client, container, request, reporter)
        except BaseException:
            await asyncio.to_thread(containers.remove, container)
            raise
        return self._info(container)

    async def _init_script(
        self, client: docker.DockerClient, container: Any, request: SandboxRequest,
        reporter: Callable[[str, str], Callable[[str], None]],
    ) -> None:
        script = request.profile.get("init_script")
        if not script:
            return
        label = "Running the init script"
        timeout = float(request.profile.get("init_timeout") or self.config.init_script_timeout)
        request.progress("running_init_script", label, "in_progress", None)
        workdir = request.folders[0] if request.folders else "/"
        try:
            code, tail = await asyncio.wait_for(
                asyncio.to_thread(containers.run_script, client, container, script, workdir,
                                  reporter("running_init_script", label)),
                timeout,
            )
        except asyncio.TimeoutError as exc:
            raise SandboxError("running_init_script", f"the init script did not finish within {timeout:g} s", 422) from exc
        if code != 0:
            last = " | ".join(line for line in tail[-3:] if line.strip())
            raise SandboxError("running_init_script", f"the init script failed with exit code {code}"
                                                      + (f": {last[:400]}" if last else ""), 422)
        request.progress("running_init_script", label, "done", "exit code 0")

    def _info(self, container: Any) -> dict[str, Any]:
        info: dict[str, Any] = {"container_id": container.id, "container_name": container.name}
        info["image"] = container.attrs.get("Config", {}).get("Image")
        info["mounts"] = containers.shared_folders(container)
        ports = containers.published_ports(container)
        if ports:
            info["ports"] = ports
        return info

    def wrapper(self, session: Any) -> CommandWrapper:
        """``docker exec -i`` into the session's container."""
        return exec_wrapper(self.docker_argv, lambda: session.info.get("sandbox") or {}, self.engine.cli_env())

    def shell(self, session: Any) -> list[str] | None:
        """A login shell in the container, in the session folder."""
        return shell_argv(self.docker_argv, session.info.get("sandbox") or {}, session.cwd)

    async def _each_container(self, session_id: str, owner: str | None, action: Callable[[Any], None]) -> None:
        try:
            client = await asyncio.to_thread(self.engine.client)
            filters = {"label": [f"{containers.LABEL_SESSION}={session_id}"]
                       + ([f"{containers.LABEL_OWNER}={owner}"] if owner else [])}
            for container in await asyncio.to_thread(client.containers.list, all=True, filters=filters):
                await asyncio.to_thread(action, container)
        except docker.errors.DockerException as exc:
            log.warning("session %s: Docker unreachable, its container stays: %s", session_id, exc)

    async def teardown(self, session: Any) -> None:
        """Archive or delete: remove the session's container."""
        await self._each_container(session.id, None, containers.remove)

    async def stop(self, session: Any) -> None:
        """The server stops: stop the container and keep it (or remove it, as configured)."""
        action = (lambda c: c.stop(timeout=3)) if self.config.keep_on_server_stop else containers.remove
        await self._each_container(session.id, None, action)

    async def sweep(self, owner: str, known: set[str]) -> list[str]:
        """Remove this server's containers whose session is gone."""
        try:
            client = await asyncio.to_thread(self.engine.client)
            return await asyncio.to_thread(containers.sweep, client, owner, known)
        except docker.errors.DockerException as exc:
            log.info("no sweep of containers: %s", explain(exc, self.engine.url))
            return []

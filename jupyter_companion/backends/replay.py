"""The ``replay`` backend: a recording played back as a live session, through the real adapter of
the backend that was recorded.

``POST sessions {backend: "replay", recording: ID, speed?}``: the recording's backend builds its
own adapter (``BackendSpec.replay_adapter``) whose CLI process is the recording's player
(:mod:`jupyter_companion.recordings.player`), so everything after the pipe -- parsing, the event
mapping, permission requests answered as usual -- is the code a bug report is about. Each prompt is
answered with the recorded turn of the same number; a prompt that differs from the recorded one is
said with a ``notice``, and so is a prompt after the recording's last turn.
"""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any

from ..errors import ApiError
from ..hookspecs import hookimpl
from ..recordings.player import is_prompt, prompt_text
from .base import (
    AdapterSink,
    Availability,
    BackendAdapter,
    BackendError,
    BackendSpec,
    CommandWrapper,
    LaunchSpec,
)

NAME = "replay"
MIN_SPEED, MAX_SPEED = 0.1, 20.0


def recorded_prompts(path: str) -> list[str]:
    """The prompts of a recording, in order (blocking)."""
    prompts = []
    with open(path, encoding="utf-8") as handle:
        for line in handle.read().splitlines()[1:]:
            entry = json.loads(line)
            if entry.get("dir") == "in":
                try:
                    message = json.loads(entry["raw"])
                except ValueError:
                    continue
                if is_prompt(message):
                    prompts.append(prompt_text(message))
    return prompts


class ReplayAdapter(BackendAdapter):
    """The recorded backend's own adapter, its CLI stood in for by the player."""

    def __init__(self, spec: LaunchSpec, sink: AdapterSink, inner: BackendAdapter, path: str):
        super().__init__(spec, sink)
        self.inner = inner
        self.path = path
        self.prompts: list[str] = []
        self.played = int(spec.backend_options.get("turns_played") or 0)

    @property
    def pid(self) -> int | None:
        """The player's process id."""
        return self.inner.pid

    @property
    def running(self) -> bool:
        """True while the player runs."""
        return self.inner.running

    async def start(self) -> None:
        """Start the player through the recorded backend's adapter (its handshake included)."""
        self.prompts = await asyncio.to_thread(recorded_prompts, self.path)
        await self.inner.start()

    async def send_user_message(self, content: str, images: list[dict[str, Any]]) -> None:
        """Answer with the next recorded turn (said when the prompt differs or none is left)."""
        turn = self.played
        if turn >= len(self.prompts):
            self.sink.emit({"type": "notice", "level": "warning", "code": "replay_finished",
                            "message": f"The recording has {len(self.prompts)} turn(s), all played: "
                                       "nothing answers this prompt."})
            self.sink.emit({"type": "result", "is_error": True, "text": "The recording has no more turns."})
            self.sink.set_phase("ready")
            return
        recorded = self.prompts[turn]
        if recorded.strip() != content.strip():
            self.sink.emit({"type": "notice", "level": "info", "code": "replay_prompt_differs",
                            "message": f"This replay answers with recorded turn {turn + 1}, whose prompt was: "
                                       f"{recorded[:500]}"})
        self.played = turn + 1
        self.sink.update({"backend_options": {**self.spec.backend_options, "turns_played": self.played}})
        await self.inner.send_user_message(content, images)

    async def respond_permission(self, request_id: str, behavior: str, **kwargs: Any) -> None:
        """Answer a replayed permission request (the player reads the answer)."""
        await self.inner.respond_permission(request_id, behavior, **kwargs)

    async def interrupt(self) -> None:
        """Interrupt the replayed turn."""
        await self.inner.interrupt()

    async def set_model(self, model: str) -> None:
        """The recording decides the model: nothing changes."""
        self.sink.emit({"type": "notice", "level": "info", "code": "replay_fixed",
                        "message": "A replay answers as it was recorded; the model does not change."})

    async def set_permission_mode(self, mode: str) -> None:
        """The recording decides: nothing changes."""
        self.sink.emit({"type": "notice", "level": "info", "code": "replay_fixed",
                        "message": "A replay answers as it was recorded; the permission mode does not change."})

    async def stop(self) -> None:
        """Stop the player."""
        await self.inner.stop()


def _app_orchestrator(app: Any) -> Any:
    orchestrator = getattr(app, "orchestrator", None)
    if orchestrator is None:
        raise BackendError("the server is still starting")
    return orchestrator


@hookimpl
def register_backends(register: Any, app: Any) -> None:
    """Register the ``replay`` backend."""

    def create_adapter(spec: LaunchSpec, sink: AdapterSink, wrap: CommandWrapper) -> BackendAdapter:
        orch = _app_orchestrator(app)
        options = spec.backend_options
        recorded = orch.backends.get(str(options.get("recorded_backend")))
        if recorded is None or recorded.replay_adapter is None:
            raise BackendError(f"the backend {options.get('recorded_backend')!r} of this recording cannot be replayed here")
        try:
            path = orch.recordings.path(str(options.get("recording")))
        except ApiError as exc:
            raise BackendError(f"the recording {options.get('recording')!r} is gone") from exc
        speed = str(float(options.get("speed") or 1.0))
        turn = str(int(options.get("turns_played") or 0))

        def player(argv: list[str], env: dict[str, str], cwd: str) -> tuple[list[str], dict[str, str], str]:
            return ([sys.executable, "-m", "jupyter_companion.recordings.player", path, "--speed", speed,
                     "--from-turn", turn, "--cwd", spec.cwd], env, cwd)

        return ReplayAdapter(spec, sink, recorded.replay_adapter(spec, sink, player), path)

    async def available() -> Availability:
        return Availability(True, version="recordings")

    register(BackendSpec(name=NAME, label="Replay a recording", create_adapter=create_adapter, check=available,
                         models=[], protocol="replay"))


@hookimpl
def register_ui(app: Any) -> list[dict[str, Any]]:
    """The recording picker of the New-session form, shown when the backend is ``replay``."""
    return [{"kind": "create_field", "name": "recording", "label": "Recording", "backends": [NAME],
             "placeholder": "Search recordings (claude, codex, a session id)…",
             "search": {"url": "recordings", "param": "query", "list": "recordings", "value": "id",
                        "text": "{backend} · {started_at}", "detail": "{lines} lines · {id}"}}]


@hookimpl
async def prepare_session(session: Any, request: dict[str, Any]) -> None:
    """A replay session names its recording (400 when it is missing, unknown or not replayable)."""
    if session.info.get("backend") != NAME:
        return
    orch = session.orch
    rec_id = request.get("recording")
    if not isinstance(rec_id, str) or not rec_id:
        raise ApiError(400, "a replay session needs 'recording': the id of a recording (GET recordings)")
    speed = request.get("speed", 1.0)
    if isinstance(speed, bool) or not isinstance(speed, (int, float)) or not MIN_SPEED <= speed <= MAX_SPEED:
        raise ApiError(400, f"'speed' must be a number from {MIN_SPEED} to {MAX_SPEED}")
    try:
        header = await asyncio.to_thread(orch.recordings.header, rec_id)
    except ApiError as exc:
        raise ApiError(400, f"unknown recording {rec_id[:80]!r}") from exc
    backend = orch.backends.get(str(header.get("backend")))
    if backend is None or backend.replay_adapter is None:
        raise ApiError(400, f"recordings of {header.get('backend')!r} cannot be replayed here")
    session.info["backend_options"] = {"recording": rec_id, "recorded_backend": backend.name, "speed": float(speed),
                                       "recorded_at": header.get("started_at")}

"""Recordings of the CLI protocol (fake Claude CLI): every line both ways and stderr, one file per
CLI process, secrets of the environment redacted, listed, downloaded, uploaded; bad uploads and
ids refused; the per-file limit and rotation."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import pytest

from jupyter_companion.recordings.recorder import Recorder, RecorderConfig

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def companion_config(companion_config: dict[str, Any], tmp_path: Path) -> dict[str, Any]:
    return {**companion_config, "recordings_dir": str(tmp_path / "recordings")}


async def _turn(api: Any, connect: Any, session_id: str, text: str) -> None:
    stream = await connect(session_id)
    await api("POST", "sessions", session_id, "messages", body={"content": text})
    await stream.until_type("result")


async def test_a_session_is_recorded_listed_downloaded_and_uploaded(api: Any, connect: Any, raw: Any,
                                                                   workdir: Path, tmp_path: Path) -> None:
    status, session = await api("POST", "sessions", body={"backend": "claude", "cwd": "project",
                                                          "env": {"MY_SERVICE_TOKEN": "tok-1234567890-secret"}})
    assert status == 201
    await _turn(api, connect, session["id"], "hello tok-1234567890-secret")
    _, listed = await api("GET", "recordings", params={"session_id": session["id"]})
    (rec,) = listed["recordings"]
    assert rec["session_id"] == session["id"] and rec["backend"] == "claude" and rec["lines"] > 3
    status, text = await raw("GET", f"companion/api/recordings/{rec['id']}")
    assert status == 200
    lines = [json.loads(line) for line in text.splitlines()]
    assert lines[0]["_header"] is True and lines[0]["session_id"] == session["id"] and lines[0]["cli"] == "claude"
    directions = {line.get("dir") for line in lines[1:]}
    assert {"in", "out"} <= directions
    prompt = next(line for line in lines if line.get("dir") == "in" and "hello" in line["raw"])
    assert "tok-1234567890-secret" not in text and "[redacted:MY_SERVICE_TOKEN]" in prompt["raw"]
    assert json.loads(next(line for line in lines if line.get("dir") == "out")["raw"])  # exact CLI lines
    assert all(line["t"] >= 0 for line in lines[1:])
    assert os.stat(tmp_path / "recordings" / f"{rec['id']}.jsonl").st_mode & 0o077 == 0

    status, uploaded = await api("POST", "recordings", raw_body=text)
    assert status == 201 and uploaded["id"].startswith("upload_") and uploaded["lines"] == len(lines)
    _, listed = await api("GET", "recordings")
    assert {r["id"] for r in listed["recordings"]} == {rec["id"], uploaded["id"]}


async def test_a_relaunch_makes_a_second_file_and_the_exit_is_noted(api: Any, connect: Any, raw: Any,
                                                                    workdir: Path) -> None:
    _, session = await api("POST", "sessions", body={"backend": "claude", "cwd": "project"})
    await _turn(api, connect, session["id"], "one")
    assert (await api("POST", "sessions", session["id"], "relaunch"))[0] == 200
    await _turn(api, connect, session["id"], "two")
    _, listed = await api("GET", "recordings", params={"session_id": session["id"]})
    assert len(listed["recordings"]) == 2
    oldest = listed["recordings"][-1]["id"]
    _, text = await raw("GET", f"companion/api/recordings/{oldest}")
    assert json.loads(text.splitlines()[-1])["event"] == "exit"


async def test_bad_uploads_and_ids_are_refused(api: Any, raw: Any) -> None:
    header = json.dumps({"_header": True, "version": 1, "backend": "claude", "session_id": "x"})
    for body, words in (("", "empty"), ("not json", "line 1"), (json.dumps({"version": 1}), "header"),
                        (header + "\n{\"t\": 1}", "line 2"), (header + "\n[1]", "line 2"),
                        (json.dumps({"_header": True, "version": 1, "backend": "../x"}), "backend")):
        status, answer = await api("POST", "recordings", raw_body=body)
        assert status == 400 and words in answer["error"], (body, answer)
    for rec_id in ("..%2Fcompanion", "nope", ".hidden", "a%00b"):
        status, answer = await raw("GET", f"companion/api/recordings/{rec_id}")
        assert status == 404, (rec_id, answer)
    assert (await api("GET", "recordings", params={"session_id": "../x"}))[0] == 400


def test_the_per_file_limit_and_rotation(tmp_path: Path) -> None:
    folder = tmp_path / "recs"
    recorder = Recorder(RecorderConfig(folder=str(folder), max_lines=25, max_lines_per_file=10))
    recorder.start()
    try:
        for n in range(3):
            tap = recorder.open(f"s{n}", "claude", "/tmp", "claude", {})
            assert tap is not None
            for i in range(20):
                tap("out", f'{{"i": {i}}}'.encode())
            tap.close(0)
            recorder.flush()
            time.sleep(0.01)
        files = sorted(folder.glob("*.jsonl"), key=lambda p: p.stat().st_mtime)
        assert len(files) == 3
        last = [json.loads(line) for line in files[-1].read_text().splitlines()]
        assert len(last) == 11 and last[-1]["event"] == "truncated"
        recorder.rotate()  # 33 lines > 25: the oldest goes
        assert sorted(folder.glob("*.jsonl")) == sorted(files[1:])
    finally:
        recorder.stop()
    assert Recorder(RecorderConfig(folder=str(folder), enabled=False)).open("s", "claude", "/", "c", {}) is None

"""Unit tests of the Codex adapter on JSON-RPC lines, with a fake process and a recording sink.

The ``TEXT``/``APPROVE``/``DECLINE``/``INTERRUPT_*`` blocks below were recorded from the real
pinned ``codex app-server`` (0.169.0) talking to the scripted Responses server; other mappings
use lines built after the CLI's generated JSON schema.
"""

from __future__ import annotations

import asyncio
import json
import os
import stat
from pathlib import Path
from typing import Any

import pytest
from traitlets.config import Config

from jupyter_companion.backends import codex
from jupyter_companion.backends.base import BackendError, BackendSpec, LaunchSpec
from jupyter_companion.backends.codex import CodexAdapter
from tests.support.codex_env import RecordingSink

THREAD = "01a21708-1893-7df3-a84d-63a022767b8f"


TEXT = r"""
{"id":3,"result":{"turn":{"id":"01a21708-18aa-7fc3-b321-ac6928f8983c","items":[],"status":"inProgress"}}}
{"method":"thread/status/changed","params":{"threadId":"01a21708-1893-7df3-a84d-63a022767b8f","status":{"type":"active","activeFlags":[]}}}
{"method":"turn/started","params":{"threadId":"01a21708-1893-7df3-a84d-63a022767b8f","turn":{"id":"01a21708-18aa-7fc3-b321-ac6928f8983c","items":[],"status":"inProgress","startedAt":1795682736}}}
{"method":"item/started","params":{"item":{"type":"userMessage","id":"01a21708-18d0-73e1-9afa-b69a5b0ced11","content":[{"type":"text","text":"hello","text_elements":[]}]},"threadId":"01a21708-1893-7df3-a84d-63a022767b8f","turnId":"01a21708-18aa-7fc3-b321-ac6928f8983c"}}
{"method":"item/completed","params":{"item":{"type":"userMessage","id":"01a21708-18d0-73e1-9afa-b69a5b0ced11","content":[{"type":"text","text":"hello","text_elements":[]}]},"threadId":"01a21708-1893-7df3-a84d-63a022767b8f","turnId":"01a21708-18aa-7fc3-b321-ac6928f8983c"}}
{"method":"item/started","params":{"item":{"type":"agentMessage","id":"msg_1","text":""},"threadId":"01a21708-1893-7df3-a84d-63a022767b8f","turnId":"01a21708-18aa-7fc3-b321-ac6928f8983c"}}
{"method":"item/agentMessage/delta","params":{"threadId":"01a21708-1893-7df3-a84d-63a022767b8f","turnId":"01a21708-18aa-7fc3-b321-ac6928f8983c","itemId":"msg_1","delta":"Hi t"}}
{"method":"item/agentMessage/delta","params":{"threadId":"01a21708-1893-7df3-a84d-63a022767b8f","turnId":"01a21708-18aa-7fc3-b321-ac6928f8983c","itemId":"msg_1","delta":"here"}}
{"method":"item/agentMessage/delta","params":{"threadId":"01a21708-1893-7df3-a84d-63a022767b8f","turnId":"01a21708-18aa-7fc3-b321-ac6928f8983c","itemId":"msg_1","delta":"!"}}
{"method":"item/completed","params":{"item":{"type":"agentMessage","id":"msg_1","text":"Hi there!"},"threadId":"01a21708-1893-7df3-a84d-63a022767b8f","turnId":"01a21708-18aa-7fc3-b321-ac6928f8983c"}}
{"method":"thread/tokenUsage/updated","params":{"threadId":"01a21708-1893-7df3-a84d-63a022767b8f","turnId":"01a21708-18aa-7fc3-b321-ac6928f8983c","tokenUsage":{"total":{"totalTokens":120,"inputTokens":100,"cachedInputTokens":0,"cacheWriteInputTokens":0,"outputTokens":20,"reasoningOutputTokens":0},"last":{"totalTokens":120,"inputTokens":100,"cachedInputTokens":0,"cacheWriteInputTokens":0,"outputTokens":20,"reasoningOutputTokens":0},"modelContextWindow":258400}}}
{"method":"account/rateLimits/updated","params":{"rateLimits":{"limitId":"codex"}}}
{"method":"thread/status/changed","params":{"threadId":"01a21708-1893-7df3-a84d-63a022767b8f","status":{"type":"idle"}}}
{"method":"turn/completed","params":{"threadId":"01a21708-1893-7df3-a84d-63a022767b8f","turn":{"id":"01a21708-18aa-7fc3-b321-ac6928f8983c","items":[{"type":"agentMessage","id":"msg_1","text":"Hi there!"}],"status":"completed","startedAt":1795682736,"completedAt":1795682736,"durationMs":85}}}
"""

APPROVE = r"""
{"id":4,"result":{"turn":{"id":"01a21708-190c-7131-8633-3f4411560b55","items":[],"status":"inProgress"}}}
{"method":"thread/status/changed","params":{"threadId":"01a21708-1893-7df3-a84d-63a022767b8f","status":{"type":"active","activeFlags":[]}}}
{"method":"turn/started","params":{"threadId":"01a21708-1893-7df3-a84d-63a022767b8f","turn":{"id":"01a21708-190c-7131-8633-3f4411560b55","items":[],"status":"inProgress","startedAt":1795682736}}}
{"method":"item/started","params":{"item":{"type":"userMessage","id":"01a21708-191b-7573-aaf4-bbaa921f2d66","content":[{"type":"text","text":"run it","text_elements":[]}]},"threadId":"01a21708-1893-7df3-a84d-63a022767b8f","turnId":"01a21708-190c-7131-8633-3f4411560b55"}}
{"method":"item/completed","params":{"item":{"type":"userMessage","id":"01a21708-191b-7573-aaf4-bbaa921f2d66","content":[{"type":"text","text":"run it","text_elements":[]}]},"threadId":"01a21708-1893-7df3-a84d-63a022767b8f","turnId":"01a21708-190c-7131-8633-3f4411560b55"}}
{"method":"thread/status/changed","params":{"threadId":"01a21708-1893-7df3-a84d-63a022767b8f","status":{"type":"active","activeFlags":["waitingOnApproval"]}}}
{"method":"item/started","params":{"item":{"type":"commandExecution","id":"call_2","command":"/bin/bash -lc 'echo hi && echo there'","cwd":"/tmp/tmpr20e3iu4","source":"agent","status":"inProgress","commandActions":[{"type":"unknown","command":"echo hi && echo there"}]},"threadId":"01a21708-1893-7df3-a84d-63a022767b8f","turnId":"01a21708-190c-7131-8633-3f4411560b55"}}
{"method":"item/commandExecution/requestApproval","id":0,"params":{"kind":"command","threadId":"01a21708-1893-7df3-a84d-63a022767b8f","turnId":"01a21708-190c-7131-8633-3f4411560b55","itemId":"call_2","command":"/bin/bash -lc 'echo hi && echo there'","cwd":"/tmp/tmpr20e3iu4","commandActions":[{"type":"unknown","command":"echo hi && echo there"}],"proposedExecpolicyAmendment":["echo","hi"],"availableDecisions":["accept",{"acceptWithExecpolicyAmendment":{"execpolicy_amendment":["echo","hi"]}},"cancel"]}}
{"method":"serverRequest/resolved","params":{"threadId":"01a21708-1893-7df3-a84d-63a022767b8f","requestId":0}}
{"method":"thread/status/changed","params":{"threadId":"01a21708-1893-7df3-a84d-63a022767b8f","status":{"type":"active","activeFlags":[]}}}
{"method":"item/completed","params":{"item":{"type":"commandExecution","id":"call_2","command":"/bin/bash -lc 'echo hi && echo there'","cwd":"/tmp/tmpr20e3iu4","processId":"20562","source":"unifiedExecStartup","status":"completed","commandActions":[{"type":"unknown","command":"echo hi && echo there"}],"aggregatedOutput":"pyenv: cannot rehash: /root/.pyenv/shims isn't writable\nhi\nthere\n","exitCode":0,"durationMs":0},"threadId":"01a21708-1893-7df3-a84d-63a022767b8f","turnId":"01a21708-190c-7131-8633-3f4411560b55"}}
{"method":"thread/tokenUsage/updated","params":{"threadId":"01a21708-1893-7df3-a84d-63a022767b8f","turnId":"01a21708-190c-7131-8633-3f4411560b55","tokenUsage":{"total":{"totalTokens":240,"inputTokens":200,"cachedInputTokens":0,"cacheWriteInputTokens":0,"outputTokens":40,"reasoningOutputTokens":0},"last":{"totalTokens":120,"inputTokens":100,"cachedInputTokens":0,"cacheWriteInputTokens":0,"outputTokens":20,"reasoningOutputTokens":0},"modelContextWindow":258400}}}
{"method":"account/rateLimits/updated","params":{"rateLimits":{"limitId":"codex"}}}
{"method":"item/started","params":{"item":{"type":"agentMessage","id":"msg_3","text":""},"threadId":"01a21708-1893-7df3-a84d-63a022767b8f","turnId":"01a21708-190c-7131-8633-3f4411560b55"}}
{"method":"item/agentMessage/delta","params":{"threadId":"01a21708-1893-7df3-a84d-63a022767b8f","turnId":"01a21708-190c-7131-8633-3f4411560b55","itemId":"msg_3","delta":"Done."}}
{"method":"item/completed","params":{"item":{"type":"agentMessage","id":"msg_3","text":"Done."},"threadId":"01a21708-1893-7df3-a84d-63a022767b8f","turnId":"01a21708-190c-7131-8633-3f4411560b55"}}
{"method":"thread/tokenUsage/updated","params":{"threadId":"01a21708-1893-7df3-a84d-63a022767b8f","turnId":"01a21708-190c-7131-8633-3f4411560b55","tokenUsage":{"total":{"totalTokens":360,"inputTokens":300,"cachedInputTokens":0,"cacheWriteInputTokens":0,"outputTokens":60,"reasoningOutputTokens":0},"last":{"totalTokens":120,"inputTokens":100,"cachedInputTokens":0,"cacheWriteInputTokens":0,"outputTokens":20,"reasoningOutputTokens":0},"modelContextWindow":258400}}}
{"method":"account/rateLimits/updated","params":{"rateLimits":{"limitId":"codex"}}}
{"method":"thread/status/changed","params":{"threadId":"01a21708-1893-7df3-a84d-63a022767b8f","status":{"type":"idle"}}}
{"method":"turn/completed","params":{"threadId":"01a21708-1893-7df3-a84d-63a022767b8f","turn":{"id":"01a21708-190c-7131-8633-3f4411560b55","items":[{"type":"agentMessage","id":"msg_3","text":"Done."}],"status":"completed","startedAt":1795682736,"completedAt":1795682736,"durationMs":228}}}
"""

DECLINE = r"""
{"id":5,"result":{"turn":{"id":"01a21708-19f8-77e2-a569-2ed9ca744cbe","items":[],"status":"inProgress"}}}
{"method":"thread/status/changed","params":{"threadId":"01a21708-1893-7df3-a84d-63a022767b8f","status":{"type":"active","activeFlags":[]}}}
{"method":"turn/started","params":{"threadId":"01a21708-1893-7df3-a84d-63a022767b8f","turn":{"id":"01a21708-19f8-77e2-a569-2ed9ca744cbe","items":[],"status":"inProgress","startedAt":1795682736}}}
{"method":"item/started","params":{"item":{"type":"userMessage","id":"01a21708-19ff-73a0-9b8f-0d5258cefbed","content":[{"type":"text","text":"run it","text_elements":[]}]},"threadId":"01a21708-1893-7df3-a84d-63a022767b8f","turnId":"01a21708-19f8-77e2-a569-2ed9ca744cbe"}}
{"method":"item/completed","params":{"item":{"type":"userMessage","id":"01a21708-19ff-73a0-9b8f-0d5258cefbed","content":[{"type":"text","text":"run it","text_elements":[]}]},"threadId":"01a21708-1893-7df3-a84d-63a022767b8f","turnId":"01a21708-19f8-77e2-a569-2ed9ca744cbe"}}
{"method":"thread/status/changed","params":{"threadId":"01a21708-1893-7df3-a84d-63a022767b8f","status":{"type":"active","activeFlags":["waitingOnApproval"]}}}
{"method":"item/started","params":{"item":{"type":"commandExecution","id":"call_4","command":"/bin/bash -lc 'echo hi && echo there'","cwd":"/tmp/tmpr20e3iu4","source":"agent","status":"inProgress","commandActions":[{"type":"unknown","command":"echo hi && echo there"}]},"threadId":"01a21708-1893-7df3-a84d-63a022767b8f","turnId":"01a21708-19f8-77e2-a569-2ed9ca744cbe"}}
{"method":"item/commandExecution/requestApproval","id":1,"params":{"kind":"command","threadId":"01a21708-1893-7df3-a84d-63a022767b8f","turnId":"01a21708-19f8-77e2-a569-2ed9ca744cbe","itemId":"call_4","command":"/bin/bash -lc 'echo hi && echo there'","cwd":"/tmp/tmpr20e3iu4","commandActions":[{"type":"unknown","command":"echo hi && echo there"}],"proposedExecpolicyAmendment":["echo","hi"],"availableDecisions":["accept",{"acceptWithExecpolicyAmendment":{"execpolicy_amendment":["echo","hi"]}},"cancel"]}}
{"method":"serverRequest/resolved","params":{"threadId":"01a21708-1893-7df3-a84d-63a022767b8f","requestId":1}}
{"method":"item/completed","params":{"item":{"type":"commandExecution","id":"call_4","command":"/bin/bash -lc 'echo hi && echo there'","cwd":"/tmp/tmpr20e3iu4","source":"agent","status":"declined","commandActions":[{"type":"unknown","command":"echo hi && echo there"}]},"threadId":"01a21708-1893-7df3-a84d-63a022767b8f","turnId":"01a21708-19f8-77e2-a569-2ed9ca744cbe"}}
{"method":"thread/status/changed","params":{"threadId":"01a21708-1893-7df3-a84d-63a022767b8f","status":{"type":"active","activeFlags":[]}}}
{"method":"thread/tokenUsage/updated","params":{"threadId":"01a21708-1893-7df3-a84d-63a022767b8f","turnId":"01a21708-19f8-77e2-a569-2ed9ca744cbe","tokenUsage":{"total":{"totalTokens":480,"inputTokens":400,"cachedInputTokens":0,"cacheWriteInputTokens":0,"outputTokens":80,"reasoningOutputTokens":0},"last":{"totalTokens":120,"inputTokens":100,"cachedInputTokens":0,"cacheWriteInputTokens":0,"outputTokens":20,"reasoningOutputTokens":0},"modelContextWindow":258400}}}
{"method":"account/rateLimits/updated","params":{"rateLimits":{"limitId":"codex"}}}
{"method":"item/started","params":{"item":{"type":"agentMessage","id":"msg_5","text":""},"threadId":"01a21708-1893-7df3-a84d-63a022767b8f","turnId":"01a21708-19f8-77e2-a569-2ed9ca744cbe"}}
{"method":"item/agentMessage/delta","params":{"threadId":"01a21708-1893-7df3-a84d-63a022767b8f","turnId":"01a21708-19f8-77e2-a569-2ed9ca744cbe","itemId":"msg_5","delta":"Done."}}
{"method":"item/completed","params":{"item":{"type":"agentMessage","id":"msg_5","text":"Done."},"threadId":"01a21708-1893-7df3-a84d-63a022767b8f","turnId":"01a21708-19f8-77e2-a569-2ed9ca744cbe"}}
{"method":"thread/tokenUsage/updated","params":{"threadId":"01a21708-1893-7df3-a84d-63a022767b8f","turnId":"01a21708-19f8-77e2-a569-2ed9ca744cbe","tokenUsage":{"total":{"totalTokens":600,"inputTokens":500,"cachedInputTokens":0,"cacheWriteInputTokens":0,"outputTokens":100,"reasoningOutputTokens":0},"last":{"totalTokens":120,"inputTokens":100,"cachedInputTokens":0,"cacheWriteInputTokens":0,"outputTokens":20,"reasoningOutputTokens":0},"modelContextWindow":258400}}}
{"method":"account/rateLimits/updated","params":{"rateLimits":{"limitId":"codex"}}}
{"method":"thread/status/changed","params":{"threadId":"01a21708-1893-7df3-a84d-63a022767b8f","status":{"type":"idle"}}}
{"method":"turn/completed","params":{"threadId":"01a21708-1893-7df3-a84d-63a022767b8f","turn":{"id":"01a21708-19f8-77e2-a569-2ed9ca744cbe","items":[{"type":"agentMessage","id":"msg_5","text":"Done."}],"status":"completed","startedAt":1795682736,"completedAt":1795682736,"durationMs":53}}}
"""

INTERRUPT_PENDING = r"""
{"id":6,"result":{"turn":{"id":"01a21708-1a34-7350-b7b0-1e14c2d70cf3","items":[],"status":"inProgress"}}}
{"method":"thread/status/changed","params":{"threadId":"01a21708-1893-7df3-a84d-63a022767b8f","status":{"type":"active","activeFlags":[]}}}
{"method":"turn/started","params":{"threadId":"01a21708-1893-7df3-a84d-63a022767b8f","turn":{"id":"01a21708-1a34-7350-b7b0-1e14c2d70cf3","items":[],"status":"inProgress","startedAt":1795682736}}}
{"method":"item/started","params":{"item":{"type":"userMessage","id":"01a21708-1a3f-7a41-9103-5fff3c96efcd","content":[{"type":"text","text":"run it","text_elements":[]}]},"threadId":"01a21708-1893-7df3-a84d-63a022767b8f","turnId":"01a21708-1a34-7350-b7b0-1e14c2d70cf3"}}
{"method":"item/completed","params":{"item":{"type":"userMessage","id":"01a21708-1a3f-7a41-9103-5fff3c96efcd","content":[{"type":"text","text":"run it","text_elements":[]}]},"threadId":"01a21708-1893-7df3-a84d-63a022767b8f","turnId":"01a21708-1a34-7350-b7b0-1e14c2d70cf3"}}
{"method":"thread/status/changed","params":{"threadId":"01a21708-1893-7df3-a84d-63a022767b8f","status":{"type":"active","activeFlags":["waitingOnApproval"]}}}
{"method":"item/started","params":{"item":{"type":"commandExecution","id":"call_6","command":"/bin/bash -lc 'echo hi && echo there'","cwd":"/tmp/tmpr20e3iu4","source":"agent","status":"inProgress","commandActions":[{"type":"unknown","command":"echo hi && echo there"}]},"threadId":"01a21708-1893-7df3-a84d-63a022767b8f","turnId":"01a21708-1a34-7350-b7b0-1e14c2d70cf3"}}
{"method":"item/commandExecution/requestApproval","id":2,"params":{"kind":"command","threadId":"01a21708-1893-7df3-a84d-63a022767b8f","turnId":"01a21708-1a34-7350-b7b0-1e14c2d70cf3","itemId":"call_6","command":"/bin/bash -lc 'echo hi && echo there'","cwd":"/tmp/tmpr20e3iu4","commandActions":[{"type":"unknown","command":"echo hi && echo there"}],"proposedExecpolicyAmendment":["echo","hi"],"availableDecisions":["accept",{"acceptWithExecpolicyAmendment":{"execpolicy_amendment":["echo","hi"]}},"cancel"]}}
{"method":"thread/tokenUsage/updated","params":{"threadId":"01a21708-1893-7df3-a84d-63a022767b8f","turnId":"01a21708-1a34-7350-b7b0-1e14c2d70cf3","tokenUsage":{"total":{"totalTokens":720,"inputTokens":600,"cachedInputTokens":0,"cacheWriteInputTokens":0,"outputTokens":120,"reasoningOutputTokens":0},"last":{"totalTokens":120,"inputTokens":100,"cachedInputTokens":0,"cacheWriteInputTokens":0,"outputTokens":20,"reasoningOutputTokens":0},"modelContextWindow":258400}}}
{"method":"account/rateLimits/updated","params":{"rateLimits":{"limitId":"codex"}}}
{"id":7,"result":{}}
{"method":"thread/status/changed","params":{"threadId":"01a21708-1893-7df3-a84d-63a022767b8f","status":{"type":"idle"}}}
{"method":"turn/completed","params":{"threadId":"01a21708-1893-7df3-a84d-63a022767b8f","turn":{"id":"01a21708-1a34-7350-b7b0-1e14c2d70cf3","items":[],"status":"interrupted","startedAt":1795682736,"completedAt":1795682736,"durationMs":38}}}
{"method":"serverRequest/resolved","params":{"threadId":"01a21708-1893-7df3-a84d-63a022767b8f","requestId":2}}
"""

INTERRUPT_STREAM = r"""
{"id":8,"result":{"turn":{"id":"01a21708-1a60-7d12-ba2c-8097f7c2f03a","items":[],"status":"inProgress"}}}
{"method":"thread/status/changed","params":{"threadId":"01a21708-1893-7df3-a84d-63a022767b8f","status":{"type":"active","activeFlags":[]}}}
{"method":"turn/started","params":{"threadId":"01a21708-1893-7df3-a84d-63a022767b8f","turn":{"id":"01a21708-1a60-7d12-ba2c-8097f7c2f03a","items":[],"status":"inProgress","startedAt":1795682736}}}
{"method":"item/started","params":{"item":{"type":"userMessage","id":"01a21708-1a6b-77f0-8528-2fa1d3be4a5d","content":[{"type":"text","text":"stall","text_elements":[]}]},"threadId":"01a21708-1893-7df3-a84d-63a022767b8f","turnId":"01a21708-1a60-7d12-ba2c-8097f7c2f03a"}}
{"method":"item/completed","params":{"item":{"type":"userMessage","id":"01a21708-1a6b-77f0-8528-2fa1d3be4a5d","content":[{"type":"text","text":"stall","text_elements":[]}]},"threadId":"01a21708-1893-7df3-a84d-63a022767b8f","turnId":"01a21708-1a60-7d12-ba2c-8097f7c2f03a"}}
{"method":"item/started","params":{"item":{"type":"agentMessage","id":"msg_7","text":""},"threadId":"01a21708-1893-7df3-a84d-63a022767b8f","turnId":"01a21708-1a60-7d12-ba2c-8097f7c2f03a"}}
{"method":"item/agentMessage/delta","params":{"threadId":"01a21708-1893-7df3-a84d-63a022767b8f","turnId":"01a21708-1a60-7d12-ba2c-8097f7c2f03a","itemId":"msg_7","delta":"slow slo"}}
{"method":"thread/tokenUsage/updated","params":{"threadId":"01a21708-1893-7df3-a84d-63a022767b8f","turnId":"01a21708-1a60-7d12-ba2c-8097f7c2f03a","tokenUsage":{"total":{"totalTokens":720,"inputTokens":600,"cachedInputTokens":0,"cacheWriteInputTokens":0,"outputTokens":120,"reasoningOutputTokens":0},"last":{"totalTokens":120,"inputTokens":100,"cachedInputTokens":0,"cacheWriteInputTokens":0,"outputTokens":20,"reasoningOutputTokens":0},"modelContextWindow":258400}}}
{"method":"account/rateLimits/updated","params":{"rateLimits":{"limitId":"codex"}}}
{"id":9,"result":{}}
{"method":"thread/status/changed","params":{"threadId":"01a21708-1893-7df3-a84d-63a022767b8f","status":{"type":"idle"}}}
{"method":"turn/completed","params":{"threadId":"01a21708-1893-7df3-a84d-63a022767b8f","turn":{"id":"01a21708-1a60-7d12-ba2c-8097f7c2f03a","items":[],"status":"interrupted","startedAt":1795682736,"completedAt":1795682736,"durationMs":32}}}
"""


def lines(block: str) -> list[dict[str, Any]]:
    """Parse a block of recorded JSON lines."""
    return [json.loads(line) for line in block.strip().splitlines()]


class FakeProcess:
    """Stands in for LineProcess: records what the adapter writes, answers requests on demand."""

    def __init__(self, adapter: CodexAdapter, answers: dict[str, Any] | None = None):
        self.adapter = adapter
        self.answers = dict(answers or {})
        self.sent: list[dict[str, Any]] = []
        self.running = True
        self.pid = 4242

    async def send(self, message: dict[str, Any]) -> None:
        if not self.running:
            raise ConnectionError("gone")
        self.sent.append(message)
        method = message.get("method")
        if "id" in message and method in self.answers:
            answer = self.answers[method]
            reply = {
                "id": message["id"],
                **({"error": answer.args[0]} if isinstance(answer, Exception) else {"result": answer}),
            }
            asyncio.get_running_loop().call_soon(self.adapter.handle_message, reply)

    async def stop(self) -> None:
        self.running = False

    def stderr_text(self) -> str:
        return ""

    def requests(self, method: str) -> list[dict[str, Any]]:
        return [m for m in self.sent if m.get("method") == method]

    def responses(self) -> list[dict[str, Any]]:
        return [m for m in self.sent if "method" not in m]


def make(
    answers: dict[str, Any] | None = None, **spec_fields: Any
) -> tuple[CodexAdapter, RecordingSink, FakeProcess]:
    spec_fields.setdefault("cwd", "/tmp/work")
    sink = RecordingSink()
    adapter = CodexAdapter(LaunchSpec(session_id="s1", **spec_fields), sink, request_timeout=5)
    proc = FakeProcess(adapter, answers)
    adapter._proc = proc  # type: ignore[assignment]
    adapter.thread_id = THREAD
    adapter.model = spec_fields.get("model") or "fake-model"
    return adapter, sink, proc


def feed(adapter: CodexAdapter, messages: list[dict[str, Any]]) -> None:
    for message in messages:
        adapter.handle_message(message)


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


def split_at(
    messages: list[dict[str, Any]], method: str
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    index = next(i for i, m in enumerate(messages) if m.get("method") == method)
    return messages[: index + 1], messages[index + 1 :]


# ---------------------------------------------------------------------------- recorded turns
def test_text_turn() -> None:
    adapter, sink, _ = make()
    feed(adapter, lines(TEXT))
    deltas = sink.of_type("stream_delta")
    assert [d["kind"] for d in deltas] == ["text"] * len(deltas) and len(deltas) == 3
    assert "".join(d["text"] for d in deltas) == "Hi there!"
    assert {d["message_id"] for d in deltas} == {"msg_1"}
    [assistant] = sink.of_type("assistant")
    assert assistant["message"] == {
        "id": "msg_1",
        "model": "fake-model",
        "content": [{"type": "text", "text": "Hi there!"}],
    }
    [result] = sink.of_type("result")
    assert result["is_error"] is False and result["text"] == "Hi there!" and result["status"] == "completed"
    assert result["usage"]["input_tokens"] == 100 and result["usage"]["output_tokens"] == 20
    assert isinstance(result["duration_ms"], int)
    assert sink.phases[0] == "streaming" and sink.phases[-1] == "ready"
    # the thread's running total is not the session's usage (the session adds up the results)
    assert not [u for u in sink.updates if "usage" in u]
    context = [u for u in sink.updates if "context_window" in u]
    assert context[-1]["context_window"] == 258400 and context[-1]["context_tokens"] == 120
    assert any("rate_limits" in u for u in sink.updates)
    assert sink.drifts == [] and sink.of_type("user_message") == []
    assert adapter.turn.active is False and adapter.turn.turn_id is None


async def test_approved_command() -> None:
    adapter, sink, proc = make()
    before, after = split_at(lines(APPROVE), "item/commandExecution/requestApproval")
    feed(adapter, before)
    [tool_use_event] = sink.of_type("assistant")
    [tool_use] = tool_use_event["message"]["content"]
    assert tool_use["type"] == "tool_use" and tool_use["name"] == "Bash" and tool_use["id"] == "call_2"
    assert tool_use["input"]["command"] == "echo hi && echo there"
    [request] = sink.of_type("permission_request")
    assert (
        request["request_id"] == "0" and request["tool_name"] == "Bash" and request["tool_use_id"] == "call_2"
    )
    assert request["input"]["command"] == "echo hi && echo there"
    assert sink.phases[-1] == "awaiting_permission"

    await adapter.respond_permission("0", "allow", original=request)
    assert proc.responses() == [{"id": 0, "result": {"decision": "accept"}}]
    assert sink.phases[-1] == "streaming"
    feed(adapter, after)
    [tool_result] = sink.of_type("tool_result")
    assert tool_result["tool_use_id"] == "call_2" and tool_result["is_error"] is False
    assert "hi\nthere" in tool_result["content"] and tool_result["exit_code"] == 0
    assert sink.of_type("permission_resolved") == []  # the user answered; resolved is not a cancellation
    assert sink.of_type("result")[0]["text"] == "Done."


async def test_declined_command() -> None:
    adapter, sink, proc = make()
    before, after = split_at(lines(DECLINE), "item/commandExecution/requestApproval")
    feed(adapter, before)
    request = sink.of_type("permission_request")[0]
    await adapter.respond_permission(request["request_id"], "deny", message="not now")
    assert proc.responses() == [{"id": int(request["request_id"]), "result": {"decision": "decline"}}]
    feed(adapter, after)
    [tool_result] = sink.of_type("tool_result")
    assert tool_result["is_error"] is True and "declined" in tool_result["content"]
    assert sink.of_type("result")[0]["is_error"] is False


def test_interrupt_while_approval_pending() -> None:
    adapter, sink, _ = make()
    feed(adapter, lines(INTERRUPT_PENDING))
    [resolved] = sink.of_type("permission_resolved")
    request = sink.of_type("permission_request")[0]
    assert resolved == {
        "type": "permission_resolved",
        "request_id": request["request_id"],
        "behavior": "cancelled",
        "by": "cli",
    }
    [tool_result] = sink.of_type("tool_result")
    assert tool_result["tool_use_id"] == request["tool_use_id"] and tool_result["is_error"] is True
    [result] = sink.of_type("result")
    assert result["status"] == "interrupted" and result["is_error"] is True
    assert sink.phases[-1] == "ready"


def test_interrupt_while_streaming_keeps_partial_text() -> None:
    adapter, sink, _ = make()
    feed(adapter, lines(INTERRUPT_STREAM))
    [assistant] = sink.of_type("assistant")
    assert assistant["message"]["content"] == [{"type": "text", "text": "slow slo"}]
    [result] = sink.of_type("result")
    assert result["status"] == "interrupted" and result["text"] == "slow slo"


# ---------------------------------------------------------------------------- handshake
async def test_handshake_starts_thread() -> None:
    answers = {
        "initialize": {"userAgent": "jupyter_companion/0.169.0 (Debian 12.0.0; x86_64)", "codexHome": "/h"},
        "thread/start": {"thread": {"id": "T1", "cwd": "/tmp/work"}, "model": "m1", "cwd": "/tmp/work"},
    }
    adapter, sink, proc = make(
        answers, system_prompt="Be careful.", permission_mode="bypassPermissions", model="m1"
    )
    adapter.thread_id = None
    await adapter._handshake()
    assert [m.get("method") for m in proc.sent] == ["initialize", "initialized", "thread/start"]
    params = proc.requests("thread/start")[0]["params"]
    assert params == {
        "cwd": "/tmp/work",
        "approvalPolicy": "never",
        "sandbox": "workspace-write",
        "model": "m1",
        "developerInstructions": "Be careful.",
    }
    assert sink.cli_session_ids == ["T1"] and adapter.thread_id == "T1"
    [init] = sink.of_type("session_init")
    assert init["backend_version"] == "0.169.0" and init["model"] == "m1"
    assert init["tools"] == [] and init["slash_commands"] == [] and init["skills"] == []
    assert init["permission_mode"] == "bypassPermissions" and init["cwd"] == "/tmp/work"
    assert sink.phases[-1] == "ready"


async def test_handshake_resumes_thread() -> None:
    answers = {
        "initialize": {"userAgent": "x/0.169.0"},
        "thread/resume": {"thread": {"id": "OLD"}, "model": "m"},
    }
    adapter, sink, proc = make(answers, resume_id="OLD")
    await adapter._handshake()
    assert proc.requests("thread/resume")[0]["params"]["threadId"] == "OLD"
    assert proc.requests("thread/start") == []
    assert sink.cli_session_ids == ["OLD"] and sink.of_type("error") == []


async def test_resume_failure_falls_back_with_error() -> None:
    answers = {
        "initialize": {"userAgent": "x/0.169.0"},
        "thread/resume": Exception({"code": -32600, "message": "no rollout found for thread id OLD"}),
        "thread/start": {"thread": {"id": "NEW"}, "model": "m"},
    }
    adapter, sink, proc = make(answers, resume_id="OLD")
    await adapter._handshake()
    [error] = sink.of_type("error")
    assert (
        error["code"] == "context_lost"
        and "OLD" in error["message"]
        and "context was lost" in error["message"]
    )
    assert sink.cli_session_ids == ["NEW"]


async def test_request_timeout_is_a_backend_error() -> None:
    adapter, _, _ = make()
    adapter._rpc.timeout = 0.01
    with pytest.raises(BackendError, match="did not answer initialize"):
        await adapter._rpc.request("initialize", {})


# ---------------------------------------------------------------------------- commands
async def test_user_message_starts_turn_and_queues() -> None:
    adapter, sink, proc = make({"turn/start": {"turn": {"id": "U1", "status": "inProgress"}}})
    await adapter.send_user_message("look", [{"media_type": "image/png", "data": "AAAA"}])
    [start] = proc.requests("turn/start")
    assert start["params"]["threadId"] == THREAD
    assert start["params"]["input"] == [
        {"type": "text", "text": "look", "text_elements": []},
        {"type": "image", "url": "data:image/png;base64,AAAA"},
    ]
    assert adapter.turn.turn_id == "U1"
    await adapter.send_user_message("second", [])
    assert len(proc.requests("turn/start")) == 1  # queued behind the running turn
    adapter.handle_message(
        {
            "method": "turn/completed",
            "params": {"threadId": THREAD, "turn": {"id": "U1", "status": "completed"}},
        }
    )
    await settle()
    assert [m["params"]["input"][0]["text"] for m in proc.requests("turn/start")] == ["look", "second"]


async def test_send_before_thread_is_refused() -> None:
    adapter, _, _ = make()
    adapter.thread_id = None
    with pytest.raises(BackendError):
        await adapter.send_user_message("hi", [])


async def test_interrupt_sends_turn_interrupt() -> None:
    adapter, _, proc = make({"turn/interrupt": {}})
    await adapter.interrupt()
    assert proc.requests("turn/interrupt") == []  # nothing running: nothing to do
    adapter.turn.active, adapter.turn.turn_id = True, "U9"
    adapter._queue.append([{"type": "text", "text": "later"}])
    await adapter.interrupt()
    assert proc.requests("turn/interrupt")[0]["params"] == {"threadId": THREAD, "turnId": "U9"}
    assert adapter._queue == []


async def test_model_and_mode_apply_to_next_turn() -> None:
    adapter, sink, proc = make({"turn/start": {"turn": {"id": "U2"}}})
    await adapter.set_model("gpt-x")
    await adapter.set_permission_mode("bypassPermissions")
    assert {"model": "gpt-x"} in sink.updates and {"permission_mode": "bypassPermissions"} in sink.updates
    await adapter.send_user_message("go", [])
    params = proc.requests("turn/start")[0]["params"]
    assert params["model"] == "gpt-x" and params["approvalPolicy"] == "never"
    assert params["sandboxPolicy"] == {"type": "workspaceWrite"}
    await adapter.set_permission_mode("plan")
    adapter.turn.active = False
    await adapter.send_user_message("plan it", [])
    params = proc.requests("turn/start")[1]["params"]
    assert params["approvalPolicy"] == "untrusted" and params["sandboxPolicy"] == {"type": "readOnly"}
    assert [i["text"] for i in params["input"]] == [codex.PLAN_MODE_NOTE, "plan it"]  # asked for a plan
    assert [i["text"] for i in proc.requests("turn/start")[0]["params"]["input"]] == ["go"]
    assert "model" not in params  # overrides are sent once, they stick in Codex
    with pytest.raises(BackendError):
        await adapter.set_permission_mode("yolo")


async def test_respond_to_unknown_request_is_an_error() -> None:
    adapter, _, _ = make()
    with pytest.raises(BackendError):
        await adapter.respond_permission("77", "allow")


# ---------------------------------------------------------------------------- item mappings
def item_event(method: str, item: dict[str, Any]) -> dict[str, Any]:
    return {"method": method, "params": {"threadId": THREAD, "turnId": "U", "item": item}}


def test_file_change_add_is_write_and_update_is_edit() -> None:
    adapter, sink, _ = make()
    add = {
        "type": "fileChange",
        "id": "fc1",
        "status": "inProgress",
        "changes": [{"path": "/w/new.py", "kind": {"type": "add"}, "diff": "print(1)\n"}],
    }
    feed(
        adapter,
        [item_event("item/started", add), item_event("item/completed", {**add, "status": "completed"})],
    )
    update = {
        "type": "fileChange",
        "id": "fc2",
        "status": "inProgress",
        "changes": [
            {
                "path": "/w/a.py",
                "kind": {"type": "update", "move_path": None},
                "diff": "@@ -1 +1 @@\n-a\n+b\n",
            },
            {"path": "/w/b.py", "kind": {"type": "delete"}, "diff": ""},
        ],
    }
    feed(
        adapter,
        [item_event("item/started", update), item_event("item/completed", {**update, "status": "declined"})],
    )
    uses = [e["message"]["content"][0] for e in sink.of_type("assistant")]
    assert uses[0] == {
        "type": "tool_use",
        "id": "fc1",
        "name": "Write",
        "input": {"file_path": "/w/new.py", "content": "print(1)\n"},
    }
    assert uses[1]["name"] == "Edit" and uses[1]["input"]["file_path"] == "/w/a.py"
    assert [c["kind"] for c in uses[1]["input"]["changes"]] == ["update", "delete"]
    results = sink.of_type("tool_result")
    assert results[0]["is_error"] is False and "/w/new.py" in results[0]["content"]
    assert results[1]["is_error"] is True


async def test_file_change_approval_shows_the_changes() -> None:
    adapter, sink, proc = make()
    change = {
        "type": "fileChange",
        "id": "fc3",
        "status": "inProgress",
        "changes": [{"path": "/w/x.txt", "kind": {"type": "update"}, "diff": "-x\n+y\n"}],
    }
    feed(adapter, [item_event("item/started", change)])
    adapter.handle_message(
        {
            "method": "item/fileChange/requestApproval",
            "id": 5,
            "params": {"threadId": THREAD, "turnId": "U", "itemId": "fc3", "reason": "needs write"},
        }
    )
    [request] = sink.of_type("permission_request")
    assert request["tool_name"] == "Edit" and request["input"]["changes"][0]["diff"] == "-x\n+y\n"
    assert request["description"] == "needs write" and request["tool_use_id"] == "fc3"
    await adapter.respond_permission("5", "allow", updated_permissions=[{"type": "addRules"}])
    assert proc.responses() == [{"id": 5, "result": {"decision": "acceptForSession"}}]


def test_command_without_start_and_failed_exit() -> None:
    adapter, sink, _ = make()
    item = {
        "type": "commandExecution",
        "id": "c1",
        "command": "false",
        "cwd": "/w",
        "status": "failed",
        "aggregatedOutput": "boom",
        "exitCode": 1,
    }
    feed(adapter, [item_event("item/completed", item)])
    [assistant] = sink.of_type("assistant")
    assert assistant["message"]["content"][0]["input"] == {"command": "false", "cwd": "/w"}
    [result] = sink.of_type("tool_result")
    assert result == {
        "type": "tool_result",
        "tool_use_id": "c1",
        "content": "boom",
        "is_error": True,
        "exit_code": 1,
    }


def test_mcp_and_web_search_and_reasoning() -> None:
    adapter, sink, _ = make()
    mcp = {
        "type": "mcpToolCall",
        "id": "m1",
        "server": "docs",
        "tool": "lookup",
        "status": "inProgress",
        "arguments": {"q": "x"},
    }
    search = {"type": "webSearch", "id": "w1", "query": ""}
    feed(
        adapter,
        [
            item_event("item/started", mcp),
            item_event(
                "item/completed",
                {**mcp, "status": "completed", "result": {"content": [{"type": "text", "text": "found"}]}},
            ),
            item_event("item/started", search),
            item_event("item/completed", {**search, "query": "jupyter"}),
            {
                "method": "item/reasoning/summaryTextDelta",
                "params": {
                    "threadId": THREAD,
                    "turnId": "U",
                    "itemId": "r1",
                    "delta": "hmm",
                    "summaryIndex": 0,
                },
            },
            item_event(
                "item/completed", {"type": "reasoning", "id": "r1", "summary": ["hmm"], "content": []}
            ),
        ],
    )
    blocks = [e["message"]["content"][0] for e in sink.of_type("assistant")]
    assert blocks[0] == {"type": "tool_use", "id": "m1", "name": "mcp__docs__lookup", "input": {"q": "x"}}
    assert blocks[1] == {"type": "tool_use", "id": "w1", "name": "WebSearch", "input": {"query": "jupyter"}}
    assert blocks[2] == {"type": "thinking", "thinking": "hmm"}
    results = sink.of_type("tool_result")
    assert results[0]["content"] == "found" and results[0]["is_error"] is False
    assert [d["kind"] for d in sink.of_type("stream_delta")] == ["thinking"]


def test_plan_update_is_a_todo_list() -> None:
    adapter, sink, _ = make()
    plan = [
        {"step": "read", "status": "completed"},
        {"step": "write", "status": "inProgress"},
        {"step": "test", "status": "pending"},
    ]
    adapter.handle_message(
        {"method": "turn/plan/updated", "params": {"threadId": THREAD, "turnId": "U", "plan": plan}}
    )
    [use] = sink.of_type("assistant")[0]["message"]["content"]
    assert use["name"] == "TodoWrite"
    assert use["input"]["todos"] == [
        {"content": "read", "status": "completed"},
        {"content": "write", "status": "in_progress"},
        {"content": "test", "status": "pending"},
    ]
    assert sink.of_type("tool_result")[0]["tool_use_id"] == use["id"]


#: Recorded from the real pinned codex app-server against a Responses server answering 401
#: (the first retry and the end; the real run retried five times in about 6 s).
REFUSED_KEY = r"""
{"method":"error","params":{"error":{"message":"Reconnecting... 1/5","codexErrorInfo":{"responseStreamDisconnected":{"httpStatusCode":401}},"additionalDetails":"unexpected status 401 Unauthorized: Incorrect API key provided: sk-test, url: http://127.0.0.1:42281/v1/responses","misalignment":null},"willRetry":true,"threadId":"01a2364d-ddb2-7361-936e-3613926f37a7","turnId":"01a2364d-ddc5-7341-8e0e-0403bb245273"},"emittedAtMs":1796207402490}
{"method":"error","params":{"error":{"message":"unexpected status 401 Unauthorized: Incorrect API key provided: sk-test, url: http://127.0.0.1:42281/v1/responses","codexErrorInfo":{"httpConnectionFailed":{"httpStatusCode":401}},"additionalDetails":null,"misalignment":null},"willRetry":false,"threadId":"01a2364d-ddb2-7361-936e-3613926f37a7","turnId":"01a2364d-ddc5-7341-8e0e-0403bb245273"},"emittedAtMs":1796207408517}
{"method":"turn/completed","params":{"threadId":"01a2364d-ddb2-7361-936e-3613926f37a7","turn":{"id":"01a2364d-ddc5-7341-8e0e-0403bb245273","rootTurnId":"01a2364d-ddc5-7341-8e0e-0403bb245273","items":[],"itemsView":"notLoaded","status":"failed","error":{"message":"unexpected status 401 Unauthorized: Incorrect API key provided: sk-test, url: http://127.0.0.1:42281/v1/responses","codexErrorInfo":{"httpConnectionFailed":{"httpStatusCode":401}},"additionalDetails":null,"misalignment":null},"startedAt":1796207402,"completedAt":1796207408,"durationMs":6078}},"emittedAtMs":1796207408522}
"""
#: What the real CLI sends while the model's server refuses connections (it retries forever).
NO_NETWORK = r"""
{"method":"error","params":{"error":{"message":"Reconnecting... waiting for network","codexErrorInfo":{"responseStreamDisconnected":{"httpStatusCode":null}},"additionalDetails":"Connection failed: error sending request","misalignment":null},"willRetry":true,"threadId":"01a23641-b3f7-7400-b4e9-1356c6e1ee17","turnId":"01a23641-b40b-7232-bed9-ae0a1231d657"}}
"""


def test_a_refused_key_is_reported_at_once_and_once() -> None:
    adapter, sink, _ = make()
    adapter.turn.active = True
    feed(adapter, [json.loads(line) for line in REFUSED_KEY.strip().splitlines()])
    [retrying] = [e for e in sink.events if e.get("code") == "model_retrying"]
    assert retrying["level"] == "warning" and (retrying["attempt"], retrying["max_attempts"]) == (1, 5)
    assert retrying["http_status"] == 401 and "Incorrect API key provided" in retrying["detail"]
    assert retrying["message"].startswith("The model could not be reached (unexpected status 401 Unauthorized")
    # the final error once (not again for the failed turn), with a stable code and the status
    [error] = sink.of_type("error")
    assert error["code"] == "httpConnectionFailed" and error["http_status"] == 401
    assert error["message"].startswith("unexpected status 401 Unauthorized")
    [result] = sink.of_type("result")
    assert result["is_error"] is True and "401 Unauthorized" in result["text"]


def test_waiting_for_network_says_why() -> None:
    adapter, sink, _ = make()
    adapter.turn.active = True
    feed(adapter, [json.loads(line) for line in NO_NETWORK.strip().splitlines()])
    [notice] = sink.events
    assert notice["code"] == "model_retrying" and notice["detail"] == "Connection failed: error sending request"
    assert notice["message"] == (
        "The model could not be reached (Connection failed: error sending request); waiting for the network…"
    )
    assert "attempt" not in notice and "http_status" not in notice
    assert not sink.of_type("error") and not sink.drifts


def test_errors_and_failed_turn_without_details() -> None:
    adapter, sink, _ = make()
    adapter.turn.active = True
    feed(
        adapter,
        [
            {
                "method": "error",
                "params": {
                    "threadId": THREAD,
                    "turnId": "U",
                    "error": {"message": "unauthorized", "codexErrorInfo": "unauthorized"},
                    "willRetry": False,
                },
            },
            {
                "method": "turn/completed",
                "params": {
                    "threadId": THREAD,
                    "turn": {"id": "U", "status": "failed", "error": {"message": "stream failed"}},
                },
            },
        ],
    )
    errors = sink.of_type("error")
    assert [e["message"] for e in errors] == ["unauthorized", "stream failed"]
    assert errors[0]["code"] == "unauthorized" and "http_status" not in errors[0]
    [result] = sink.of_type("result")
    assert result["is_error"] is True and result["text"] == "stream failed"


def test_thread_status_and_rerouting() -> None:
    adapter, sink, _ = make()
    adapter.turn.active = True
    adapter.handle_message(
        {
            "method": "thread/status/changed",
            "params": {"threadId": THREAD, "status": {"type": "active", "activeFlags": []}},
        }
    )
    assert sink.phases == ["streaming"]
    adapter.handle_message(
        {
            "method": "model/rerouted",
            "params": {"threadId": THREAD, "turnId": "U", "fromModel": "a", "toModel": "b", "reason": "x"},
        }
    )
    assert adapter.model == "b" and {"model": "b"} in sink.updates


# ---------------------------------------------------------------------------- server requests
async def test_unknown_server_request_gets_error_and_drift() -> None:
    adapter, sink, proc = make()
    adapter.handle_message({"method": "item/brandNew/request", "id": 9, "params": {"x": 1}})
    adapter.handle_message({"method": "attestation/generate", "id": 10, "params": {}})
    await settle()
    errors = proc.responses()
    assert [e["id"] for e in errors] == [9, 10] and all(e["error"]["code"] == -32601 for e in errors)
    assert [d[0] for d in sink.drifts] == ["codex server request item/brandNew/request"]
    assert sink.of_type("permission_request") == []


async def test_dynamic_tool_call_is_refused_politely() -> None:
    adapter, _, proc = make()
    adapter.handle_message(
        {
            "method": "item/tool/call",
            "id": 3,
            "params": {"threadId": THREAD, "turnId": "U", "callId": "c", "tool": "t", "arguments": {}},
        }
    )
    await settle()
    assert proc.responses() == [{"id": 3, "result": codex.DYNAMIC_TOOL_REFUSAL}]


async def test_user_input_request_and_answers() -> None:
    adapter, sink, proc = make()
    questions = [
        {
            "id": "color",
            "header": "Color",
            "question": "Which?",
            "isOther": False,
            "isSecret": False,
            "options": [{"label": "red", "description": ""}],
        }
    ]
    adapter.handle_message(
        {
            "method": "item/tool/requestUserInput",
            "id": 11,
            "params": {"threadId": THREAD, "turnId": "U", "itemId": "q1", "questions": questions},
        }
    )
    [request] = sink.of_type("permission_request")
    assert request["tool_name"] == "AskUserQuestion" and request["input"]["questions"] == questions
    await adapter.respond_permission("11", "allow", updated_input={"answers": {"color": "red"}})
    assert proc.responses() == [{"id": 11, "result": {"answers": {"color": {"answers": ["red"]}}}}]


async def test_elicitation_permissions_and_legacy_requests() -> None:
    adapter, sink, proc = make()
    adapter.handle_message(
        {
            "method": "mcpServer/elicitation/request",
            "id": 12,
            "params": {
                "threadId": THREAD,
                "serverName": "s",
                "mode": "form",
                "message": "Login?",
                "requestedSchema": {},
            },
        }
    )
    adapter.handle_message(
        {
            "method": "item/permissions/requestApproval",
            "id": 13,
            "params": {
                "threadId": THREAD,
                "turnId": "U",
                "itemId": "p",
                "cwd": "/w",
                "permissions": {"network": {"enabled": True}},
            },
        }
    )
    adapter.handle_message(
        {
            "method": "execCommandApproval",
            "id": 14,
            "params": {
                "conversationId": THREAD,
                "callId": "e",
                "command": ["ls", "-la"],
                "cwd": "/w",
                "parsedCmd": [],
            },
        }
    )
    names = [(r["request_id"], r["tool_name"]) for r in sink.of_type("permission_request")]
    assert names == [("12", "McpElicitation"), ("13", "RequestPermissions"), ("14", "Bash")]
    assert sink.of_type("permission_request")[2]["input"]["command"] == "ls -la"
    await adapter.respond_permission("12", "deny")
    await adapter.respond_permission("13", "allow")
    await adapter.respond_permission("14", "allow")
    assert proc.responses() == [
        {"id": 12, "result": {"action": "decline", "content": None}},
        {"id": 13, "result": {"permissions": {"network": {"enabled": True}}, "scope": "turn"}},
        {"id": 14, "result": {"decision": "approved"}},
    ]


def test_server_request_resolved_by_cli() -> None:
    adapter, sink, _ = make()
    adapter.turn.active = True
    adapter.handle_message(
        {
            "method": "item/fileChange/requestApproval",
            "id": 21,
            "params": {"threadId": THREAD, "turnId": "U", "itemId": "f"},
        }
    )
    assert sink.phases[-1] == "awaiting_permission"
    adapter.handle_message(
        {"method": "serverRequest/resolved", "params": {"threadId": THREAD, "requestId": 21}}
    )
    adapter.handle_message(
        {"method": "serverRequest/resolved", "params": {"threadId": THREAD, "requestId": 21}}
    )
    assert sink.of_type("permission_resolved") == [
        {"type": "permission_resolved", "request_id": "21", "behavior": "cancelled", "by": "cli"}
    ]
    assert sink.phases[-1] == "streaming"


def test_notifications_unknown_drift_ignored_silent() -> None:
    adapter, sink, _ = make()
    adapter.handle_message({"method": "configWarning", "params": {"summary": "no bwrap"}})
    adapter.handle_message({"method": "thread/started", "params": {"thread": {"id": THREAD}}})
    adapter.handle_message({"method": "something/new", "params": {}})
    adapter.handle_message({"id": 999, "result": {}})  # a response nobody waits for
    assert [d[0] for d in sink.drifts] == ["codex notification something/new"]
    assert sink.events == []


async def test_exit_cancels_pending_work() -> None:
    adapter, sink, _ = make()
    adapter.handle_message(
        {
            "method": "item/commandExecution/requestApproval",
            "id": 1,
            "params": {"threadId": THREAD, "turnId": "U", "itemId": "c", "command": "ls"},
        }
    )
    waiting = asyncio.ensure_future(adapter._rpc.request("model/list", {}))
    await settle()
    adapter._on_exit(1, "crash")
    with pytest.raises(BackendError, match="not running"):
        await waiting
    assert sink.of_type("permission_resolved")[0]["behavior"] == "cancelled"
    assert sink.exits == [(1, "crash")]


# ---------------------------------------------------------------------------- helpers and config
def test_helpers() -> None:
    assert codex.display_command("/bin/bash -lc 'echo hi && ls'") == "echo hi && ls"
    assert codex.display_command(["git", "commit", "-m", "a b"]) == "git commit -m 'a b'"
    assert codex.display_command("ls -la") == "ls -la"
    assert codex.parse_version("codex-cli 0.169.0\n") == "0.169.0"
    assert codex.parse_version("nothing") is None
    assert [
        codex.approval_policy_for(m) for m in ("default", "plan", "acceptEdits", "bypassPermissions")
    ] == [
        "untrusted",
        "untrusted",
        "on-request",
        "never",
    ]


def test_seed_codex_home_copies_only_auth_and_config(tmp_path: Path) -> None:
    user = tmp_path / "user"
    (user / "sessions").mkdir(parents=True)
    (user / "sessions" / "rollout.jsonl").write_text("{}")
    (user / "history.jsonl").write_text("{}")
    (user / "config.toml").write_text('model = "x"\n')
    (user / "auth.json").write_text("{}")
    target = codex.seed_codex_home(tmp_path / "state" / "codex-home", user)
    assert sorted(p.name for p in target.iterdir()) == ["auth.json", "config.toml"]
    assert stat.S_IMODE(os.stat(target / "auth.json").st_mode) == 0o600
    (target / "config.toml").write_text("changed")
    codex.seed_codex_home(target, user)
    assert (target / "config.toml").read_text() == "changed"  # never overwritten


def test_environment_uses_given_codex_home_or_seeds_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    adapter, _, _ = make(env={"CODEX_HOME": "/given"}, state_dir=str(tmp_path))
    assert adapter._environment()["CODEX_HOME"] == "/given"
    user = tmp_path / "user"
    user.mkdir()
    (user / "auth.json").write_text("{}")
    monkeypatch.setenv("CODEX_HOME", str(user))
    adapter, _, _ = make(state_dir=str(tmp_path / "st"))
    home = adapter._environment()["CODEX_HOME"]
    assert home == str(tmp_path / "st" / "codex-home") and (Path(home) / "auth.json").exists()
    # The server's inherited CODEX_HOME (the Session passes the whole environment) is only a seed.
    adapter, _, _ = make(env={"CODEX_HOME": str(user)}, state_dir=str(tmp_path / "st2"))
    assert adapter._environment()["CODEX_HOME"] == str(tmp_path / "st2" / "codex-home")


async def test_register_backends_uses_traitlets_config(tmp_path: Path) -> None:
    config = Config()
    config.CodexBackend.binary = str(tmp_path / "missing-codex")
    config.CodexBackend.sandbox = "danger-full-access"
    config.CodexBackend.request_timeout = 7.0
    registered: list[BackendSpec] = []

    class App:
        pass

    app = App()
    app.config = config  # type: ignore[attr-defined]
    codex.register_backends(registered.append, app)
    [spec] = registered
    assert spec.name == "codex" and spec.label == "Codex" and spec.models == codex.STATIC_MODELS
    availability = await spec.check()
    assert availability.available is False and availability.reason
    assert spec.list_models is not None and await spec.list_models() == codex.STATIC_MODELS
    with pytest.raises(BackendError, match="not found"):
        spec.create_adapter(
            LaunchSpec(session_id="s", cwd=str(tmp_path)), RecordingSink(), lambda a, e, c: (a, e, c)
        )


def test_configured_adapter_gets_the_traits(tmp_path: Path) -> None:
    fake = tmp_path / "codex"
    fake.write_text("#!/bin/sh\necho codex-cli 0.169.0\n")
    fake.chmod(0o755)
    backend = codex.CodexBackend(binary=str(fake), sandbox="read-only", request_timeout=3.5)
    spec = codex.make_backend_spec(backend)
    adapter = spec.create_adapter(
        LaunchSpec(session_id="s", cwd=str(tmp_path)), RecordingSink(), lambda a, e, c: (a, e, c)
    )
    assert isinstance(adapter, CodexAdapter)
    assert adapter.binary == str(fake) and adapter.sandbox == "read-only" and adapter.request_timeout == 3.5
    assert codex.CodexBackend.class_traits(config=True).keys() >= {"binary", "sandbox", "request_timeout"}


async def test_check_reports_version(tmp_path: Path) -> None:
    fake = tmp_path / "codex"
    fake.write_text("#!/bin/sh\necho codex-cli 0.169.0\n")
    fake.chmod(0o755)
    availability = await codex.check_codex(str(fake))
    assert availability.available and availability.version == "0.169.0" and availability.binary == str(fake)
    broken = tmp_path / "broken"
    broken.write_text("#!/bin/sh\necho nope >&2\nexit 3\n")
    broken.chmod(0o755)
    failed = await codex.check_codex(str(broken))
    assert not failed.available and "nope" in (failed.reason or "")


def test_private_tmpdir_when_home_is_temporary(tmp_path: Path) -> None:
    env = codex.private_tmpdir_for_home({"CODEX_HOME": str(tmp_path / "h"), "TMPDIR": str(tmp_path)})
    assert env["TMPDIR"] == str((tmp_path / "codex-tmp").resolve()) and Path(env["TMPDIR"]).is_dir()
    other = tmp_path / "elsewhere"
    env = codex.private_tmpdir_for_home({"CODEX_HOME": str(tmp_path / "h"), "TMPDIR": str(other)})
    assert env["TMPDIR"] == str(other)

"""ipywidgets chat for a companion session, and a progress bar for its creation.

:class:`ChatModel` is the pure part (events in, transcript and state out) so it can be tested
without a kernel; :class:`ChatWidget` wraps it in ipywidgets and follows the session's WebSocket
from a daemon thread. Widget traits are only set under a lock, and ipykernel sends comm messages
from any thread through its IOPub thread, so updates from the follower are safe.

The transcript is HTML built by :mod:`jupyter_companion.chat_html` only: an ``Output`` widget's
data is rendered as trusted (no sanitizer), so every string an agent, a tool or a user wrote is
escaped there, and an agent's Markdown is rendered with raw HTML shown as text.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .chat_html import code_html, markdown_html, pre_html, text_html
from .client.render import format_cost, tool_result_text, tool_summary

if TYPE_CHECKING:
    from .client import CompanionClient

#: a streamed reply is re-rendered at most this often (seconds); other events render at once
STREAM_REFRESH = 0.1


def widgets_available() -> bool:
    """True when ipywidgets imports and we run in a kernel that has a frontend to show them."""
    try:
        import ipywidgets  # noqa: F401
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


#: What a session is doing, in words (the panel says the same).
PHASE_WORDS = {
    "starting": "Starting", "initializing": "Starting", "ready": "Ready", "streaming": "Working",
    "awaiting_permission": "Waiting for you", "compacting": "Compacting", "terminated": "Not running",
}


@dataclass(frozen=True)
class Entry:
    """One transcript entry: its safe HTML and its plain text."""

    html: str
    text: str
    #: The notice code this entry shows (a newer ``model_retrying`` replaces the previous one).
    code: str = ""


@dataclass
class ChatModel:
    """The state a chat view shows, built from events in seq order."""

    session_id: str
    name: str = ""
    backend: str = ""
    model: str = ""
    phase: str = ""
    cost_usd: float | None = None
    entries: list[Entry] = field(default_factory=list)
    streaming: str = ""
    pending: dict[str, dict[str, Any]] = field(default_factory=dict)
    last_seq: int = 0
    #: The CLI died mid-answer: the last prompt can be sent again (until a newer one is sent).
    retryable: bool = False
    #: Prompts waiting for the running turn to end (``queued_messages``).
    queued: list[str] = field(default_factory=list)

    def load_session(self, session: dict[str, Any]) -> None:
        """Take name, backend, model, phase, cost and pending requests from a session object."""
        self.name = str(session.get("name") or self.name)
        self.backend = str(session.get("backend") or self.backend)
        self.model = str(session.get("model") or self.model)
        self.phase = str(session.get("phase") or self.phase)
        if session.get("cost_usd") is not None:
            self.cost_usd = float(session["cost_usd"])
        if isinstance(session.get("queued_messages"), list):
            self.queued = [str(q.get("content") or "") for q in session["queued_messages"] if isinstance(q, dict)]
        for req in session.get("pending_permissions") or []:
            if isinstance(req, dict) and req.get("request_id"):
                self.pending[str(req["request_id"])] = req

    def apply(self, event: dict[str, Any]) -> bool:
        """Account for one event; answer True when the visible state changed."""
        seq = event.get("seq")
        if isinstance(seq, int):
            if seq <= self.last_seq:
                return False
            self.last_seq = seq
        kind = event.get("type")
        if kind == "stream_delta":
            if event.get("kind", "text") == "text":
                text = str(event.get("text") or "")
                # a snapshot (on (re)connect) is everything streamed so far: it replaces the draft
                self.streaming = text if event.get("snapshot") else self.streaming + text
                return True
            return False
        if kind == "user_message":
            self.retryable = False
            content = str(event.get("content") or "")
            self._add(f"<p><b>You:</b> {text_html(content)}</p>", f"You: {content}")
        elif kind == "assistant":
            self._assistant(event)
        elif kind == "tool_result":
            text = tool_result_text(event.get("content"))
            mark = "✗" if event.get("is_error") else "←"
            if text.strip():
                self._add(f"<p>{mark} tool output:</p>{pre_html(text[:2000])}", f"{mark} tool output:\n{text[:2000]}")
            else:
                self._add(f"<p>{mark} tool finished (no output)</p>", f"{mark} tool finished (no output)")
        elif kind == "permission_request":
            self.pending[str(event.get("request_id"))] = event
            summary = tool_summary(str(event.get("tool_name")), event.get("input"))
            self._add(f"<p>⚠ permission requested: {code_html(summary)}</p>", f"⚠ permission requested: {summary}")
        elif kind == "permission_resolved":
            self.pending.pop(str(event.get("request_id")), None)
            verb = "allowed" if event.get("behavior") == "allow" else "denied"
            line = f"{verb} ({event.get('by', 'user')})"
            self._add(f"<p><i>{text_html(line)}</i></p>", line)
        elif kind == "result":  # its cost_usd is the turn's; the session's total comes as session_update
            self.streaming = ""
            if event.get("interrupted"):
                self._add("<p><i>■ stopped</i></p>", "■ stopped")
            elif event.get("is_error"):
                detail = str(event.get("text") or "")
                line = f"✗ turn ended with an error {detail}".rstrip()
                self._add(f"<p><b>✗ turn ended with an error</b> {text_html(detail)}</p>", line)
        elif kind == "error":
            message = str(event.get("message"))
            self._add(f"<p><b>error:</b> {text_html(message)}</p>", f"error: {message}")
            self.retryable = self.retryable or bool(event.get("retry"))
        elif kind == "notice":
            self._notice(event)
        elif kind == "phase":
            self.phase = str(event.get("phase") or self.phase)
            if self.phase == "terminated":
                self.pending.clear()
        elif kind == "session_init":
            self.model = str(event.get("model") or self.model)
        elif kind == "session_update":
            self.load_session(event)
        else:
            return False
        return True

    def _add(self, html_text: str, plain: str) -> None:
        self.entries.append(Entry(html_text, plain))

    def _notice(self, event: dict[str, Any]) -> None:
        """A notice in one line; a CLI retrying its model shows only its latest attempt."""
        code = str(event.get("code") or "")
        mark = "⚠" if event.get("level") == "warning" else "ℹ"
        message = str(event.get("message") or code)
        entry = Entry(f"<p><i>{mark} {text_html(message)}</i></p>", f"{mark} {message}", code)
        if code == "model_retrying" and self.entries and self.entries[-1].code == code:
            self.entries[-1] = entry
        else:
            self.entries.append(entry)

    def _assistant(self, event: dict[str, Any]) -> None:
        message = event.get("message") or {}
        for block in message.get("content") or []:
            if not isinstance(block, dict):
                continue
            if block.get("type") == "text":
                self.streaming = ""
                text = str(block.get("text") or "")
                self._add(markdown_html(text), text)
                if event.get("incomplete"):
                    self._add("<p><i>(the agent stopped here)</i></p>", "(the agent stopped here)")
            elif block.get("type") == "tool_use":
                summary = tool_summary(str(block.get("name")), block.get("input"))
                self._add(f"<p>→ {code_html(summary)}</p>", f"→ {summary}")
        model = message.get("model")
        if model:
            self.model = str(model)

    def plain_text(self) -> str:
        """The transcript as plain text (the reply being streamed last)."""
        parts = [entry.text for entry in self.entries]
        if self.streaming:
            parts.append(self.streaming + " ▌")
        parts += [f"⏳ queued (sent after this turn): {text}" for text in self.queued]
        return "\n\n".join(parts) if parts else "No messages yet."

    def html(self) -> str:
        """The transcript as safe HTML (see :mod:`jupyter_companion.chat_html`)."""
        parts = [entry.html for entry in self.entries]
        if self.streaming:
            parts.append(markdown_html(self.streaming + " ▌"))
        parts += [f"<p><i>⏳ queued (sent after this turn):</i> {text_html(text)}</p>" for text in self.queued]
        return "\n".join(parts) if parts else "<p><i>No messages yet.</i></p>"

    def status_line(self) -> str:
        """``phase · cost · pending`` for the footer (the phase in words)."""
        bits = [PHASE_WORDS.get(self.phase, self.phase or "?")]
        cost = format_cost(self.cost_usd)
        if cost:
            bits.append(cost)
        if self.pending:
            bits.append(f"{len(self.pending)} permission request(s) waiting")
        return " · ".join(bits)


def _describe_request(req: dict[str, Any]) -> str:
    name = str(req.get("tool_name") or "tool")
    body = json.dumps(req.get("input"), ensure_ascii=False, indent=1)[:1500]
    desc = f"<div>{text_html(str(req['description']))}</div>" if req.get("description") else ""
    return (
        f"<b>{text_html(tool_summary(name, req.get('input')))}</b>{desc}"
        f"{pre_html(body)}<small>request {text_html(str(req.get('request_id')))}</small>"
    )


class ChatWidget:
    """A live chat with one session: transcript, permission buttons, input box, interrupt, status.

    Build it with :func:`chat`; it starts following the session when displayed (``follow=True``).
    """

    def __init__(self, client: CompanionClient, session_id: str, *, follow: bool = True) -> None:
        import ipywidgets as w

        self.client = client
        self.model = ChatModel(session_id)
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self._last_render = 0.0
        self._thread: threading.Thread | None = None

        self.header = w.HTML()
        self.transcript = w.Output(
            layout=w.Layout(max_height="480px", overflow="auto", border="1px solid #ddd")
        )
        self.permissions = w.VBox()
        self.input = w.Textarea(placeholder="Message the agent… (Send)", layout=w.Layout(width="100%"))
        self.send_button = w.Button(description="Send", button_style="primary", icon="paper-plane")
        self.interrupt_button = w.Button(description="Interrupt", icon="stop")
        self.retry_button = w.Button(description="Retry", icon="redo", tooltip="Send the last message again",
                                     layout=w.Layout(display="none"))
        self.status = w.HTML()
        self.error = w.HTML()
        self.send_button.on_click(lambda _b: self.send())
        self.interrupt_button.on_click(lambda _b: self.interrupt())
        self.retry_button.on_click(lambda _b: self.retry())
        controls = w.HBox([self.send_button, self.interrupt_button, self.retry_button])
        self.box = w.VBox(
            [self.header, self.transcript, self.permissions, self.input, controls, self.status, self.error]
        )
        try:
            self.model.load_session(client.get_session(session_id))
        except Exception as exc:  # the widget still shows, with the error
            self._show_error(exc)
        self.render()
        if follow:
            self.start()

    def __repr__(self) -> str:
        m = self.model
        return f"CompanionChat(session={m.session_id!r}, name={m.name!r}, phase={m.phase!r})"

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any]:
        bundle = dict(self.box._repr_mimebundle_(**kwargs) or {})
        bundle["text/plain"] = repr(self)
        return bundle

    # -- following -----------------------------------------------------------------------------
    def start(self) -> None:
        """Start the background thread that follows the session's events."""
        if self._thread is None or not self._thread.is_alive():
            self._stop.clear()
            self._thread = threading.Thread(target=self._follow, name="companion-chat", daemon=True)
            self._thread.start()

    def thread_alive(self, wait: float | None = None) -> bool:
        """Whether the follower thread runs (after waiting up to ``wait`` s for it to end)."""
        if self._thread is None:
            return False
        if wait is not None:
            self._thread.join(wait)
        return self._thread.is_alive()

    def close(self) -> None:
        """Stop following and close the widgets."""
        self._stop.set()
        self.box.close()

    def _follow(self) -> None:
        while not self._stop.is_set():
            try:
                for event in self.client.stream(self.model.session_id, self.model.last_seq, stop=self._stop):
                    self.apply(event)
            except Exception as exc:  # shown in the widget; the thread retries after a pause
                self._show_error(exc)
            if self._stop.wait(2.0):
                return

    def apply(self, event: dict[str, Any]) -> None:
        """Feed one event (from any thread) and refresh what changed."""
        with self._lock:
            if not self.model.apply(event):
                return
            delta = event.get("type") == "stream_delta"
            if delta and time.monotonic() - self._last_render < STREAM_REFRESH:
                return
            self.render(permissions=not delta)

    # -- rendering -------------------------------------------------------------------------------
    def render(self, permissions: bool = True) -> None:
        """Push the model's state into the widgets."""
        import ipywidgets as w

        with self._lock:
            m = self.model
            self._last_render = time.monotonic()
            title = text_html(m.name or m.session_id)
            details = text_html(f"{m.backend} · {m.model} · {m.session_id}")
            self.header.value = f"<b>{title}</b> <small>{details}</small>"
            self.transcript.outputs = (
                {
                    "output_type": "display_data",
                    "data": {"text/html": m.html(), "text/plain": m.plain_text()},
                    "metadata": {},
                },
            )
            self.status.value = f"<small>{text_html(m.status_line())}</small>"
            self.retry_button.layout.display = "" if m.retryable else "none"
            if permissions:
                rows = []
                for request_id, req in list(m.pending.items()):
                    allow = w.Button(description="Allow", button_style="success", icon="check")
                    deny = w.Button(description="Deny", button_style="danger", icon="times")
                    allow.on_click(lambda _b, r=request_id: self.answer(r, "allow"))
                    deny.on_click(lambda _b, r=request_id: self.answer(r, "deny"))
                    rows.append(w.VBox([w.HTML(_describe_request(req)), w.HBox([allow, deny])]))
                self.permissions.children = tuple(rows)

    def _show_error(self, exc: BaseException) -> None:
        self.error.value = f"<span style='color:#b00'>{text_html(str(exc))}</span>"

    # -- actions ---------------------------------------------------------------------------------
    def send(self, text: str | None = None) -> None:
        """Send the input box's text (or ``text``) as a user message."""
        content = (self.input.value if text is None else text).strip()
        if not content:
            return
        try:
            self.client.send_message(self.model.session_id, content)
        except Exception as exc:
            self._show_error(exc)
            return
        self.error.value = ""
        if text is None:
            self.input.value = ""

    def answer(self, request_id: str, behavior: str) -> None:
        """Allow or deny a pending permission request."""
        try:
            self.client.respond_permission(self.model.session_id, request_id, behavior)
        except Exception as exc:
            self._show_error(exc)

    def retry(self) -> None:
        """Send the last prompt again (after the CLI died in the middle of its answer)."""
        try:
            self.client.retry_prompt(self.model.session_id)
        except Exception as exc:
            self._show_error(exc)

    def interrupt(self) -> None:
        """Interrupt the running turn."""
        try:
            self.client.interrupt(self.model.session_id)
        except Exception as exc:
            self._show_error(exc)


def chat(client: CompanionClient, session_id: str, *, follow: bool = True) -> ChatWidget:
    """A :class:`ChatWidget` for ``session_id`` (display it, or let a cell return it)."""
    return ChatWidget(client, session_id, follow=follow)


class CreationProgress:
    """Progress of ``POST sessions`` (NDJSON lines): a bar and a label in a kernel, text otherwise."""

    def __init__(self, use_widgets: bool, write: Any = print) -> None:
        self.use_widgets = use_widgets
        self.write = write
        self.steps: dict[str, str] = {}
        self.bar: Any = None
        self.label: Any = None
        self.box: Any = None
        if use_widgets:
            import ipywidgets as w
            from IPython.display import display

            self.bar = w.IntProgress(value=0, min=0, max=1, description="Creating", bar_style="info")
            self.label = w.Label("starting…")
            self.box = w.HBox([self.bar, self.label])
            display(self.box)

    def __call__(self, item: dict[str, Any]) -> None:
        """Account for one ``{"type": "progress", step, label, status}`` line."""
        step = str(item.get("step") or item.get("label") or "?")
        status = str(item.get("status") or "in_progress")
        label = str(item.get("label") or step)
        self.steps[step] = status
        done = sum(1 for s in self.steps.values() if s == "done")
        if self.use_widgets:
            self.bar.max = max(len(self.steps) + (0 if status == "done" else 1), 1)
            self.bar.value = done
            if status == "error":
                self.bar.bar_style = "danger"
            self.label.value = f"{label}: {item.get('detail') or status}"
        else:
            mark = {"done": "✓", "error": "✗"}.get(status, "…")
            detail = f" ({item['detail']})" if item.get("detail") else ""
            self.write(f"{mark} {label}{detail}")

    def finish(self, ok: bool, message: str = "") -> None:
        """Show the end state (full green bar, or red with ``message``)."""
        if self.use_widgets:
            self.bar.max = max(self.bar.max, 1)
            self.bar.value = self.bar.max if ok else self.bar.value
            self.bar.bar_style = "success" if ok else "danger"
            self.label.value = message or ("ready" if ok else "failed")
        elif message:
            self.write(message)

"""The notebook chat widget's transcript is HTML rendered as trusted: nothing an agent, a tool or a
user wrote may add a tag, an attribute or a link that runs script."""

from __future__ import annotations

from html.parser import HTMLParser
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from jupyter_companion.chat_html import ALLOWED_TAGS, code_html, markdown_html, text_html
from jupyter_companion.widgets import ChatModel

PAYLOADS = [
    '<img src=x onerror="window.__pwned=1">',
    "<script>window.__pwned=1</script>",
    "<svg/onload=alert(1)>",
    "[click](javascript:alert(1))",
    "[click](JaVaScRiPt:alert(1))",
    "[click](java&#x73;cript:alert(1))",
    "![i](data:text/html;base64,PHNjcmlwdD4=)",
    '![i](x" onerror="alert(1))',
    "<a href='javascript:alert(1)'>x</a>",
    "`a`<img src=x onerror=alert(1)>`b`",
    "<details open ontoggle=alert(1)>",
    "<iframe srcdoc='<script>alert(1)</script>'>",
    "<http://example.com/\" onmouseover=\"alert(1)>",
    "| a |\n|---|\n| <img src=x onerror=alert(1)> |",
]


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, attrs))


def assert_inert(fragment: str) -> None:
    """Only allowed tags; no event handler, no script URL, no style."""
    parser = _Tags()
    parser.feed(fragment)
    for tag, attrs in parser.tags:
        assert tag in ALLOWED_TAGS, (tag, fragment)
        for name, value in attrs:
            assert not name.startswith("on"), (name, fragment)
            if name in ("href", "src"):
                lowered = (value or "").strip().lower()
                assert not lowered.startswith(("javascript:", "vbscript:", "data:", "file:")), fragment


def test_markdown_shows_raw_html_as_text() -> None:
    out = markdown_html('Hi <img src=x onerror="window.__pwned=1"> **there**')
    assert "<img" not in out and "&lt;img src=x onerror=&quot;window.__pwned=1&quot;&gt;" in out
    assert "<strong>there</strong>" in out
    for payload in PAYLOADS:
        assert_inert(markdown_html(payload))
        assert_inert(text_html(payload))
        assert_inert(code_html(payload))


def test_a_backtick_in_a_file_name_cannot_leave_its_code_element() -> None:
    model = ChatModel("s")
    name = "notes`<img src=x onerror=window.__pwned=1>`.txt"
    model.apply({"seq": 1, "type": "permission_request", "request_id": "r", "tool_name": "Write",
                 "input": {"file_path": name, "content": "x"}})
    model.apply({"seq": 2, "type": "assistant",
                 "message": {"content": [{"type": "tool_use", "id": "t", "name": "Read", "input": {"file_path": name}}]}})
    out = model.html()
    assert_inert(out)
    assert "<img" not in out
    assert "<code>Write: notes`&lt;img src=x onerror=window.__pwned=1&gt;`.txt</code>" in out
    assert name in model.plain_text()


def test_every_event_field_is_escaped() -> None:
    model = ChatModel("s")
    bad = '<img src=x onerror="window.__pwned=1">'
    events: list[dict[str, Any]] = [
        {"seq": 1, "type": "user_message", "content": bad},
        {"seq": 2, "type": "assistant", "message": {"content": [{"type": "text", "text": bad}]}},
        {"seq": 3, "type": "tool_result", "tool_use_id": "t", "content": bad, "is_error": True},
        {"seq": 4, "type": "permission_request", "request_id": bad, "tool_name": bad, "input": {"command": bad}},
        {"seq": 5, "type": "permission_resolved", "request_id": bad, "behavior": "deny", "by": bad},
        {"seq": 6, "type": "result", "is_error": True, "text": bad},
        {"seq": 7, "type": "error", "message": bad},
        {"seq": 8, "type": "notice", "level": "warning", "code": "model_retrying", "message": bad},
        {"seq": None, "type": "stream_delta", "kind": "text", "text": bad},
    ]
    for event in events:
        model.apply(event)
    out = model.html()
    assert_inert(out)
    assert "<img" not in out
    assert out.count("&lt;img src=x onerror=&quot;window.__pwned=1&quot;&gt;") == 9


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("<>\"'`=/:()[]!*_&#;\n abcjavscriptonerrimg")), max_size=80))
def test_no_input_produces_an_active_tag(text: str) -> None:
    assert_inert(markdown_html(text))

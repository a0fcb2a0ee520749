"""A CLI that cannot reach its model says so at once, in one vocabulary for every backend.

The Claude lines are the ``system api_retry`` lines the real pinned CLI printed against a
scripted server answering 401 and 529 and against a closed port (see
``tests/e2e/test_model_trouble_e2e.py`` for the real runs); the Codex ones are in
``tests/test_codex_adapter.py``.
"""

from __future__ import annotations

from jupyter_companion.backends.claude_protocol import api_retry_notice
from jupyter_companion.backends.codex_protocol import error_code_of, error_message_of, retry_notice_of
from jupyter_companion.events import model_retrying


def test_claude_refused_key() -> None:
    notice = api_retry_notice({
        "type": "system", "subtype": "api_retry", "attempt": 3, "max_retries": 10,
        "retry_delay_ms": 2353.774680615433, "error_status": 401, "error": "authentication_failed",
        "session_id": "d1b9", "uuid": "b4b7",
    })
    assert notice == {
        "type": "notice", "level": "warning", "code": "model_retrying",
        "message": "The model could not be reached (the API key or login was refused, HTTP 401); "
                   "retrying, attempt 3 of 10…",
        "detail": "the API key or login was refused, HTTP 401",
        "attempt": 3, "max_attempts": 10, "http_status": 401, "retry_in_ms": 2354,
    }


def test_claude_overloaded_and_unreachable() -> None:
    overloaded = api_retry_notice({"subtype": "api_retry", "attempt": 1, "max_retries": 10,
                                   "error_status": 529, "error": "overloaded"})
    assert overloaded["detail"] == "the model is overloaded, HTTP 529"
    closed = api_retry_notice({"subtype": "api_retry", "attempt": 2, "max_retries": 10,
                               "error_status": None, "error": "unknown"})
    assert closed["detail"] == "no connection to the model's server" and "http_status" not in closed
    # a reason this version has no words for is passed on as the CLI names it
    odd = api_retry_notice({"subtype": "api_retry", "attempt": "x", "error_status": 418, "error": "teapot"})
    assert odd["detail"] == "teapot, HTTP 418" and "attempt" not in odd


def test_codex_error_codes() -> None:
    assert error_code_of({"codexErrorInfo": "unauthorized"}) == ("unauthorized", None)
    assert error_code_of({"codexErrorInfo": {"httpConnectionFailed": {"httpStatusCode": 401}}}) == (
        "httpConnectionFailed", 401)
    assert error_code_of({"codexErrorInfo": {"responseStreamDisconnected": {"httpStatusCode": None}}}) == (
        "responseStreamDisconnected", None)
    assert error_code_of({"codexErrorInfo": {"a": 1, "b": 2}}) == (None, None)
    assert error_code_of({}) == (None, None)


def test_codex_error_words_add_details_once() -> None:
    assert error_message_of({"message": "We're currently experiencing high demand",
                             "additionalDetails": "unexpected status 500"}) == (
        "We're currently experiencing high demand (unexpected status 500)")
    assert error_message_of({"message": "boom: details", "additionalDetails": "details"}) == "boom: details"
    assert error_message_of({}) == "Codex error"


def test_codex_retry_without_details_uses_its_message() -> None:
    notice = retry_notice_of({"message": "Reconnecting... 4/5"})
    assert notice["detail"] == "Reconnecting... 4/5" and (notice["attempt"], notice["max_attempts"]) == (4, 5)


def test_attempt_words() -> None:
    assert model_retrying("x")["message"] == "The model could not be reached (x); retrying…"
    assert model_retrying("x", attempt=2)["message"] == "The model could not be reached (x); retrying, attempt 2…"

"""Tailscale Funnel through the REST API with the ``tailscale`` stand-in: status, the funnel on and
off (and kept across a restart), logged out, no daemon, Funnel not allowed, operator rights, the
binary missing, and the refusal to open a server without authentication."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from jupyter_companion_tailscale.funnel import STATE_KEY, Funnel
from tailscale_support import Tailscale


async def test_status_then_funnel_on_and_off(api: Any, tailscale: Tailscale, jp_serverapp: Any) -> None:
    status, answer = await api("GET", "tailscale", "status")
    assert status == 200 and answer["available"] is True and answer["backend_state"] == "Running"
    assert answer["dns_name"] == "devbox.tail1234.ts.net" and answer["funnel"] == {"enabled": False}
    port = str(jp_serverapp.port)
    status, answer = await api("POST", "tailscale", "funnel", body={"enabled": True})
    assert status == 200 and "error" not in answer, answer
    base = jp_serverapp.base_url
    assert answer["funnel"] == {"enabled": True, "url": f"https://devbox.tail1234.ts.net{base}"}
    assert ["funnel", "--bg", port] in tailscale.calls()
    assert (await api("GET", "tailscale", "status"))[1]["funnel"]["enabled"] is True
    status, answer = await api("POST", "tailscale", "funnel", body={"enabled": False})
    assert answer["funnel"] == {"enabled": False} and ["funnel", port, "off"] in tailscale.calls()
    settings = jp_serverapp.web_app.settings["companion_orchestrator"].settings
    assert settings.stored(STATE_KEY)["enabled"] is False
    for bad in ({}, {"enabled": "yes"}, []):
        assert (await api("POST", "tailscale", "funnel", body=bad))[0] == 400


async def test_what_tailscale_refuses_is_said_with_the_fix(api: Any, tailscale: Tailscale) -> None:
    tailscale.set(backend="NeedsLogin")
    _, answer = await api("GET", "tailscale", "status")
    assert answer["available"] is False and "tailscale up" in answer["reason"]
    _, answer = await api("POST", "tailscale", "funnel", body={"enabled": True})
    assert "tailscale up" in answer["error"] and not any(c[:2] == ["funnel", "--bg"] for c in tailscale.calls())
    tailscale.set(backend="Running", funnel_allowed=False)
    _, answer = await api("POST", "tailscale", "funnel", body={"enabled": True})
    assert "nodeAttrs" in answer["error"] and answer["funnel"]["enabled"] is False
    tailscale.set(funnel_allowed=True, operator=False)
    _, answer = await api("POST", "tailscale", "funnel", body={"enabled": True})
    assert answer["needs_operator"] is True and "--operator=$USER" in answer["error"]
    tailscale.set(daemon=False)
    _, answer = await api("GET", "tailscale", "status")
    assert answer["available"] is False and "systemctl start tailscaled" in answer["reason"]


async def test_no_binary_means_unavailable_with_a_reason(api: Any, jp_serverapp: Any, no_tailscale: str) -> None:
    from jupyter_companion_tailscale.handlers import funnel_of

    funnel_of(jp_serverapp.web_app.settings["companion_app"]).cli.binary = no_tailscale
    status, answer = await api("GET", "tailscale", "status")
    assert status == 200 and answer["available"] is False and "not installed" in answer["reason"]
    _, answer = await api("POST", "tailscale", "funnel", body={"enabled": True})
    assert "not installed" in answer["error"]


class _App(SimpleNamespace):
    """A stand-in for the companion app (a funnel only keeps a weak reference to its app)."""


def _app(tailscale: Tailscale, auth: bool, **server: Any) -> Any:
    stored: dict[str, Any] = {}
    settings = SimpleNamespace(stored=stored.get, put_stored=stored.__setitem__)
    serverapp = SimpleNamespace(port=8888, base_url="/", ip="127.0.0.1", sock="",
                                identity_provider=SimpleNamespace(auth_enabled=auth), **server)
    from traitlets.config import Config

    config = Config({"TailscaleFunnel": {"binary": str(tailscale.path)}})
    return _App(serverapp=serverapp, config=config, orchestrator=SimpleNamespace(settings=settings))


async def test_a_server_without_authentication_is_never_funnelled(tailscale: Tailscale) -> None:
    app = _app(tailscale, auth=False)
    funnel = Funnel(app)
    answer = await funnel.set_enabled(True)
    assert "no authentication" in answer["error"] and answer["funnel"]["enabled"] is False
    assert not any(c[:2] == ["funnel", "--bg"] for c in tailscale.calls())


async def test_a_socket_or_another_address_is_warned_about(tailscale: Tailscale) -> None:
    app = _app(tailscale, auth=True)
    assert "warning" not in await Funnel(app).status()
    app.serverapp.sock = "/run/jupyter.sock"
    assert "Unix socket" in (await Funnel(app).status())["warning"]
    app.serverapp.sock, app.serverapp.ip = "", "192.168.1.20"
    assert "192.168.1.20" in (await Funnel(app).status())["warning"]


async def test_a_funnel_on_at_stop_comes_back_at_start_and_cleanup_turns_it_off(tailscale: Tailscale) -> None:
    app = _app(tailscale, auth=True)
    assert (await Funnel(app).set_enabled(True))["funnel"]["enabled"] is True
    tailscale.set(serve={})  # the machine restarted: the serve config is gone
    await Funnel(app).restore()
    assert (await Funnel(app).status())["funnel"]["enabled"] is True
    app.config.TailscaleFunnel.cleanup_on_stop = True
    await Funnel(app).cleanup()
    assert (await Funnel(app).status())["funnel"]["enabled"] is False
    calls = len(tailscale.calls())
    await Funnel(app).restore()  # cleaned up: stays off
    assert not any(c[:2] == ["funnel", "--bg"] for c in tailscale.calls()[calls:])


async def test_the_integrations_page(api: Any) -> None:
    _, ui = await api("GET", "ui")
    page = next(c for c in ui["contributions"] if c["plugin"] == "tailscale")
    assert page["kind"] == "page" and page["toggle"]["url"] == "tailscale/funnel"
    assert {"key": "funnel.url", "label": "Public address", "format": "qr"} in page["status"]["fields"]

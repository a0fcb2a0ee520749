"""A stand-in for the ``tailscale`` command line, for tests (no tailnet can be reached here).

Installed by the tests as an executable named ``tailscale``; it keeps its state in
``state.json`` beside itself and answers the subcommands the plugin uses as tailscale 1.7x does:
``status --json`` (``BackendState``, ``Self.DNSName`` with its trailing dot; exit 1 with "failed to
connect to local tailscaled" when the daemon is down), ``funnel status --json`` (the serve config:
``TCP``, ``Web``, ``AllowFunnel``; ``{}`` when empty), ``funnel --bg PORT`` (the "Available on the
internet" message; "Funnel not available" without the node attribute; "Access denied" without
operator rights) and ``funnel PORT off``. Every call is appended to ``calls`` in the state.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

STATE = Path(__file__).with_name("state.json")
DNS = "devbox.tail1234.ts.net"
DEFAULT = {"daemon": True, "backend": "Running", "funnel_allowed": True, "operator": True, "serve": {}, "calls": []}


def load() -> dict:
    return {**DEFAULT, **json.loads(STATE.read_text())} if STATE.exists() else dict(DEFAULT)


def fail(message: str, code: int = 1) -> None:
    sys.stderr.write(message + "\n")
    raise SystemExit(code)


def status(state: dict) -> dict:
    running = state["backend"] == "Running"
    return {
        "Version": "1.76.6-t1234abcd-gabcdef123", "TUN": True, "BackendState": state["backend"],
        "HaveNodeKey": running, "AuthURL": "" if running else "https://login.tailscale.com/a/0123456789ab",
        "TailscaleIPs": ["100.101.102.103", "fd7a:115c:a1e0::1"] if running else None,
        "Self": {"ID": "nABCDEF", "HostName": "devbox", "DNSName": f"{DNS}." if running else "", "OS": "linux",
                 "Online": running, "TailscaleIPs": ["100.101.102.103"], "CapMap": {"funnel": None, "https": None}
                 if state["funnel_allowed"] else {"https": None}},
        "Health": [] if running else ["state=NeedsLogin, wantRunning=false"], "MagicDNSSuffix": "tail1234.ts.net",
        "CurrentTailnet": {"Name": "ada@example.com", "MagicDNSSuffix": "tail1234.ts.net", "MagicDNSEnabled": True}
        if running else None,
        "CertDomains": [DNS] if running else None, "Peer": {}, "User": {}, "ClientVersion": None,
    }


def main(argv: list[str]) -> None:
    state = load()
    state["calls"].append(argv)
    STATE.write_text(json.dumps(state))
    if not state["daemon"]:
        fail("failed to connect to local tailscaled; it doesn't appear to be running (sudo systemctl start tailscaled ?)")
    host = f"{DNS}:443"
    if argv == ["status", "--json"]:
        print(json.dumps(status(state), indent=2))
    elif argv == ["funnel", "status", "--json"]:
        print(json.dumps(state["serve"], indent=2))
    elif len(argv) == 3 and argv[:2] == ["funnel", "--bg"] and argv[2].isdigit():
        if state["backend"] != "Running":
            fail("error: not logged in; run 'tailscale up' first")
        if not state["funnel_allowed"]:
            fail('Funnel not available; "funnel" node attribute not set. See https://tailscale.com/s/no-funnel.')
        if not state["operator"]:
            fail(f"Access denied: serve config denied\n\nUse 'sudo tailscale funnel --bg {argv[2]}'.\n"
                 "To not require root, use 'sudo tailscale set --operator=$USER' once.")
        target = f"http://127.0.0.1:{argv[2]}"
        state["serve"] = {"TCP": {"443": {"HTTPS": True}}, "Web": {host: {"Handlers": {"/": {"Proxy": target}}}},
                          "AllowFunnel": {host: True}}
        STATE.write_text(json.dumps(state))
        print(f"Available on the internet:\n\nhttps://{DNS}/\n|-- proxy {target}\n\n"
              "Funnel started and running in the background.\nTo disable the proxy, run: tailscale funnel --https=443 off")
    elif len(argv) == 3 and argv[0] == "funnel" and argv[2] == "off":
        if not state["operator"]:
            fail("Access denied: serve config denied\n\nTo not require root, use 'sudo tailscale set --operator=$USER' once.")
        handlers = state["serve"].get("Web", {}).get(host, {}).get("Handlers", {})
        if not any(h.get("Proxy", "").endswith(f":{argv[1]}") for h in handlers.values()):
            fail("error: failed to remove web serve: handler does not exist")
        state["serve"] = {}
        STATE.write_text(json.dumps(state))
    else:
        fail(f"tailscale: unknown or unsupported arguments {argv!r} in this stand-in", 2)


if __name__ == "__main__":
    main(sys.argv[1:])

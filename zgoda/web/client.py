"""What we keep about the visitor's browser: minimised before it reaches the log."""

from __future__ import annotations

import ipaddress
import re
from functools import lru_cache

from flask import current_app, request

from zgoda.consent import ClientFacts

# Order matters: Edge and Opera also say "Chrome", Chrome also says "Safari".
_BROWSER_FAMILIES = (
    ("bot", re.compile(r"bot|crawler|spider|curl|wget|python-requests|httpx", re.I)),
    ("Edge", re.compile(r"Edg(e|A|iOS)?/")),
    ("Opera", re.compile(r"OPR/|Opera")),
    ("Samsung Internet", re.compile(r"SamsungBrowser/")),
    ("Firefox", re.compile(r"Firefox/|FxiOS/")),
    ("Chrome", re.compile(r"Chrome/|CriOS/|Chromium/")),
    ("Safari", re.compile(r"Safari/")),
)


# Most writes come from a few browsers: their families are kept (bounded). Addresses are
# not: a cache of them would keep raw addresses around.
@lru_cache(maxsize=1024)
def user_agent_family(user_agent: str) -> str:
    """The browser family ('Firefox', 'Chrome', ...), never the raw user-agent string."""
    for family, pattern in _BROWSER_FAMILIES:
        if pattern.search(user_agent):
            return family
    return "other" if user_agent else "unknown"


def ip_prefix(address: str | None, mode: str) -> str | None:
    """The network an address belongs to (IPv4 /24, IPv6 /48), or None when dropped."""
    if mode == "drop" or not address:
        return None
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return None
    if ip.version == 4:
        first, second, third, _host = ip.packed
        return f"{first}.{second}.{third}.0/24"
    return str(ipaddress.IPv6Network((int(ip) >> 80 << 80, 48)))


def client_facts(gpc: bool = False) -> ClientFacts:
    """The request's GPC flag (Sec-GPC or `gpc` from the body), browser family and network."""
    return ClientFacts(
        gpc=gpc or request.headers.get("Sec-GPC", "").strip() == "1",
        user_agent_family=user_agent_family(request.headers.get("User-Agent", "")),
        ip_prefix=ip_prefix(request.remote_addr, current_app.config["IP_ADDRESS_MODE"]),
    )

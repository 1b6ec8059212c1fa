"""What we keep about the visitor's browser: minimised before it reaches the log."""

from __future__ import annotations

import ipaddress
import re
from functools import lru_cache

from flask import current_app, request

from zgoda.consent import ClientFacts

# The patterns below are matched against the lowercased user-agent: without re.IGNORECASE,
# re finds their literal words about twice as fast.

# A client that says it is automated: a name ending in "bot" (googlebot/, bingbot; not the
# cubot phone brand), a crawler's word, a contact address in its comment, a search engine's
# named fetcher, or a command-line HTTP client. The device model of an Android user-agent is
# left out first (_ANDROID_MODEL), so a phone called "XBot Senior" stays a phone.
# tests/security/test_browser_family.py checks this against Matomo's user-agent corpus.
_BOT = re.compile(
    r"""
    (?<!cu)bot(?![a-z]) | /bots\b
    | crawl | spider | scrap[ey] | fetcher | archiver | indexer | collector | validator
    | checker | monitor | uptime | preview | headless | phantomjs | transcoder
    | compatible;[^)]*\+(?:https?|mailto): | [^)];\ ?\+https?:
    | slurp | teoma | daumoa | daum\ \d | yeti/ | ichiro/ | gigablast | mnogosearch
    | netcraft | siteimprove | facebook(?:external|catalog) | meta-external
    | [a-z]-ai\b | -extended\b
    | \bgoogle(?:-[a-z] | other | prober | producer | associationservice | adsenseinfeed
        | sites | imageproxy | \ web\ preview | \ favicon | \ search\ console | \ \(\+)
    | -google\b | ^google$
    | ^(?:curl | wget | python-requests | python-httpx | httpx)/
    """,
    re.VERBOSE,
)
# "linux; android 10; cubot x30)" or "android 4.2.2; fr-fr; cubot c11 build/jdq39;"
_ANDROID_MODEL = re.compile(r"(android[ /][\d.]+;(?: [a-z]{2}(?:[-_][a-z]{2,4})?;)? )[^;)]*")

# Order matters: Edge and Opera also say "Chrome", Chrome also says "Safari"; every other
# browser on iOS is Safari's engine with a name of its own (CriOS, FxiOS, EdgiOS, OPiOS).
_BROWSER_FAMILIES = (
    ("Edge", re.compile(r"edg(?:e|a|ios)?/")),
    ("Opera", re.compile(r"opr/|opera|opios/|opt/|opx/|omi/|\bmms/")),
    ("Samsung Internet", re.compile(r"samsungbrowser/")),
    # Firefox, its iOS, Focus and Lite apps, and its 2006-2011 pre-releases under code names
    (
        "Firefox",
        re.compile(
            r"firefox/|fxios/|\b(?:focus|rocket)/"
            r"|\b(?:minefield|granparadiso|shiretoko|bonecho|namoroka|lorentz|mnenhy)/"
        ),
    ),
    ("Chrome", re.compile(r"chrome ?/|crios/|chromium/")),
    ("Safari", re.compile(r"safari ?[/\d]|\((?:iphone|ipad|ipod)\b")),
)


# Most writes come from a few browsers: their families are kept (bounded). Addresses are
# not: a cache of them would keep raw addresses around.
@lru_cache(maxsize=1024)
def user_agent_family(user_agent: str) -> str:
    """The browser family ('Firefox', 'Chrome', 'bot', ...), never the raw user-agent string."""
    lowered = user_agent.lower()
    if _BOT.search(_ANDROID_MODEL.sub(r"\1", lowered)):
        return "bot"
    for family, pattern in _BROWSER_FAMILIES:
        if pattern.search(lowered):
            return family
    return "other" if user_agent else "unknown"


def _client_ip(address: str | None) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The address as IPv4 or IPv6, an IPv4-mapped IPv6 address (::ffff:a.b.c.d) as IPv4."""
    try:
        ip = ipaddress.ip_address(address or "")
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    return ip


def ip_prefix(address: str | None, mode: str) -> str | None:
    """The network an address belongs to (IPv4 /24, IPv6 /48), or None when dropped."""
    if mode == "drop":
        return None
    ip = _client_ip(address)
    if ip is None:
        return None
    if ip.version == 4:
        first, second, third, _host = ip.packed
        return f"{first}.{second}.{third}.0/24"
    return str(ipaddress.IPv6Network((int(ip) >> 80 << 80, 48)))


def rate_limit_key(address: str | None) -> str:
    """Whom a rate limit counts: the IPv4 address, the IPv6 /64 network, or 'unknown'."""
    ip = _client_ip(address)
    if ip is None:
        return "unknown"
    if ip.version == 4:
        return str(ip)
    # One subscriber gets a whole /64 (RFC 6177), and picks addresses in it at will.
    return str(ipaddress.IPv6Network((int(ip) >> 64 << 64, 64)))


def client_facts(gpc: bool = False) -> ClientFacts:
    """The request's GPC flag (Sec-GPC or `gpc` from the body), browser family and network."""
    return ClientFacts(
        gpc=gpc or request.headers.get("Sec-GPC", "").strip() == "1",
        user_agent_family=user_agent_family(request.headers.get("User-Agent", "")),
        ip_prefix=ip_prefix(request.remote_addr, current_app.config["IP_ADDRESS_MODE"]),
    )

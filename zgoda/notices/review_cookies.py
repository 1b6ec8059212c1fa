"""The reviewer's rules for a notice's cookies: consent-free purposes holding trackers, sign-in
cookies put behind consent, cookies without a lifetime or provider (ePrivacy Art. 5(3), CJEU
C-673/17 Planet49)."""

from __future__ import annotations

import re

from zgoda.notices.model import Notice, NotStated
from zgoda.notices.review import Raw

COOKIE_ARTICLE = "ePrivacy Art. 5(3); CJEU C-673/17 Planet49"

# Advertising and analytics vendors whose cookies always need consent (ePrivacy Art. 5(3)):
# never strictly necessary for a service the visitor asked for. Names as the vendors document
# them (Google's "cookies used by Google Analytics/Ads", Meta's cookie policy, LinkedIn's cookie
# table, Microsoft's UET and Clarity, Hotjar, TikTok, Pinterest); a trailing * is a prefix.
TRACKING_COOKIE_NAMES = (
    "_ga", "_ga_*", "_gid", "_gat", "_gat_*", "__utm*", "_gcl_*", "IDE", "test_cookie", "DSID",
    "_fbp", "_fbc", "fr", "bcookie", "li_sugr", "lidc", "UserMatchHistory", "AnalyticsSyncHistory",
    "_uetsid", "_uetvid", "MUID", "_clck", "_clsk", "_hjSession*", "_hjid", "_ttp", "_pin_unauth",
)  # fmt: skip
TRACKING_PROVIDERS = re.compile(
    r"google (analytics|ads|adwords|tag manager)|doubleclick|facebook|\bmeta\b|linkedin"
    r"|microsoft (advertising|clarity)|\bbing\b|hotjar|tiktok|pinterest|twitter|criteo"
    r"|taboola|outbrain|yandex",
    re.IGNORECASE,
)
LOGIN_PURPOSE = re.compile(r"authenticat|log[ -]?in|sign[ -]?in|uwierzyteln|logowan", re.I)


def cookies(notice: Notice) -> Raw:
    for index, purpose in enumerate(notice.cookies.purposes):
        path = f"cookies.purposes[{index}] ({purpose.id})"
        if not purpose.required and LOGIN_PURPOSE.search(
            f"{purpose.id} {purpose.name.en} {purpose.name.pl}"
        ):
            yield (
                "warning",
                f"{path}.required",
                "ePrivacy Art. 5(3); EDPB Guidelines 2/2023",
                "sign-in cookies are put behind consent, though strictly necessary for a service the visitor asked for",
                "mark the purpose required, or move its cookies to the necessary purpose",
            )
        if isinstance(purpose.cookies, NotStated):
            yield (
                "warning",
                f"{path}.cookies",
                COOKIE_ARTICLE,
                "cookies of this purpose not listed",
                "list each cookie with its provider and lifetime",
            )
            continue
        for number, cookie in enumerate(purpose.cookies):
            where = f"{path}.cookies[{number}] ({cookie.name})"
            if purpose.required and (cookie.ad_vendor or _tracks(cookie.name, cookie.provider)):
                yield (
                    "error",
                    where,
                    "ePrivacy Art. 5(3); EDPB Cookie Banner Taskforce 2023",
                    f"an advertising or analytics cookie of {cookie.provider} is set without consent (its purpose is required)",
                    "move the cookie to an optional purpose",
                )
            if isinstance(cookie.duration, NotStated):
                yield (
                    "warning",
                    f"{where}.duration",
                    COOKIE_ARTICLE,
                    "cookie lifetime not stated",
                    "give how long the cookie lasts",
                )
            if not cookie.provider.strip():
                yield (
                    "warning",
                    f"{where}.provider",
                    COOKIE_ARTICLE,
                    "cookie provider not stated",
                    "name who sets and reads the cookie",
                )


def _tracks(name: str, provider: str) -> bool:
    for known in TRACKING_COOKIE_NAMES:
        if name == known or (known.endswith("*") and name.startswith(known[:-1])):
            return True
    return bool(TRACKING_PROVIDERS.search(provider))

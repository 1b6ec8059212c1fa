"""The banner configuration: everything the embed needs, built once per site and language."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from flask_babel import force_locale, gettext

from zgoda.consent.rules import rules_for
from zgoda.i18n import format_duration
from zgoda.notices.loader import LoadedNotice, content_hash
from zgoda.notices.model import LOCALES, ConsentPurpose, Duration, NotStated, Text

if TYPE_CHECKING:
    from flask import Flask


@dataclass(frozen=True)
class BannerConfig:
    """The language-specific part of a site's banner, and the hash of exactly that text."""

    body: dict[str, Any]
    content_hash: str


def _text(value: Text | None, locale: str) -> str | None:
    return value.get(locale) if value is not None else None


def _duration(value: Duration | str | NotStated, locale: str) -> str:
    if isinstance(value, Duration):
        return format_duration(value, locale)
    if isinstance(value, NotStated):
        return value.not_stated.get(locale)
    return str(gettext("until the browser is closed"))


def _purpose(purpose: ConsentPurpose, purpose_hash: str, locale: str) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "id": purpose.id,
        "name": purpose.name.get(locale),
        "description": purpose.description.get(locale),
        "required": purpose.required,
        "hash": purpose_hash,
        "cookies": []
        if isinstance(purpose.cookies, NotStated)
        else [
            {
                "name": cookie.name,
                "provider": cookie.provider,
                "party": cookie.party,
                "duration": _duration(cookie.duration, locale),
                "description": _text(cookie.description, locale),
            }
            for cookie in purpose.cookies
        ],
    }
    # Only a purpose that lists services gets the key: other sites' banners stay as they were.
    if purpose.services:
        entry["services"] = [
            {
                "id": service.id,
                "name": service.name,
                "provider": service.provider,
                "description": _text(service.description, locale),
            }
            for service in purpose.services
        ]
    return entry


def build_banner(loaded: LoadedNotice, locale: str) -> BannerConfig:
    """The banner texts and purposes of one site in one language (needs an app context)."""
    notice = loaded.notice
    rules = rules_for(loaded)
    with force_locale(locale):
        texts = {
            "title": gettext("Your privacy choices on %(site)s", site=notice.site_name),
            "body": gettext(
                "%(controller)s uses cookies that are strictly necessary for the site to work. "
                "Only with your consent does it also use cookies for: %(purposes)s. "
                "Nothing is switched on until you choose, and you can change or withdraw "
                "your choice at any time under “Cookie settings”.",
                controller=notice.controller.name,
                purposes=", ".join(rules.by_id[p].name.get(locale) for p in rules.optional),
            )
            if rules.optional
            else gettext(
                "%(controller)s uses only cookies that are strictly necessary for the site "
                "to work; they need no consent.",
                controller=notice.controller.name,
            ),
            "accept_all": gettext("Accept all"),
            "reject_all": gettext("Reject all"),
            "settings": gettext("Settings"),
            "save": gettext("Save choices"),
            "close": gettext("Close"),
            "always_on": gettext("Always on"),
            "reopen": gettext("Cookie settings"),
            "privacy_link": gettext("Privacy notice"),
            "cookies_link": gettext("Cookie policy"),
            "preferences_title": gettext("Cookie settings"),
            "cookies_heading": gettext("Cookies and services"),
            "provider": gettext("Provider"),
            "duration": gettext("Duration"),
        }
        purposes = [
            _purpose(purpose, rules.hashes[purpose.id], locale)
            for purpose in notice.cookies.purposes
        ]
    body = {
        "site": loaded.site_id,
        "site_name": notice.site_name,
        "locale": locale,
        "notice_version": loaded.version,
        "consent_lifetime_days": rules.lifetime.days,
        "texts": texts,
        "purposes": purposes,
        "consent_mode": dict(rules.consent_mode),
        "consent_signals": list(dict.fromkeys(notice.embed.consent_signals)),
    }
    return BannerConfig(body=body, content_hash=content_hash(body))


def init_app(app: Flask, notices: dict[str, LoadedNotice]) -> dict[tuple[str, str], BannerConfig]:
    """Build every site's banner in every language once, at start-up."""
    with app.app_context():
        banners: dict[tuple[str, str], BannerConfig] = {
            (site_id, locale): build_banner(loaded, locale)
            for site_id, loaded in notices.items()
            for locale in LOCALES
        }
    app.extensions["zgoda_banners"] = banners
    return banners

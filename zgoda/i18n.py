"""Locale selection and Babel formatting (dates, durations with correct plurals)."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

from babel import Locale as BabelLocale
from babel.dates import format_date
from babel.units import format_unit
from flask import Response, abort, current_app, request
from flask_babel import Babel, get_locale

from zgoda.notices.model import LOCALES, Duration, Text
from zgoda.notices.registry import notice_registry
from zgoda.web.blueprints import is_api_request

if TYPE_CHECKING:
    from flask import Flask

babel = Babel()


def init_app(app: Flask) -> None:
    """Wire Flask-Babel with our locale chain, the ?lang check and the language cookie."""
    babel.init_app(app, locale_selector=select_locale)
    app.before_request(_reject_unknown_language)
    app.after_request(_remember_language)
    app.jinja_env.globals.update(
        current_locale=current_locale,
        LOCALES=LOCALES,
    )
    app.jinja_env.filters.update(
        localized=localized,
        duration=format_duration,
        notice_date=format_document_date,
        country=country_name,
    )


def select_locale() -> str:
    """?lang=, then the language cookie, then Accept-Language, then the notice's default."""
    requested = request.args.get("lang")
    if requested in LOCALES:
        return requested
    remembered = request.cookies.get(current_app.config["LANGUAGE_COOKIE"])
    if remembered in LOCALES:
        return remembered
    negotiated = request.accept_languages.best_match(LOCALES)
    if negotiated:
        return negotiated
    site = notice_registry().notices.get((request.view_args or {}).get("site", ""))
    return site.notice.default_locale if site else current_app.config["BABEL_DEFAULT_LOCALE"]


def current_locale() -> str:
    """The language of this response: 'pl' or 'en'."""
    return str(get_locale() or current_app.config["BABEL_DEFAULT_LOCALE"])


def localized(text: Text | str | None) -> str:
    """Organisation wording in the current language (plain strings pass through)."""
    if text is None or isinstance(text, str):
        return text or ""
    return text.get(current_locale())


def format_duration(duration: Duration, locale: str | None = None) -> str:
    """'5 lat', '3 miesiące', '60 days': CLDR plural rules per locale."""
    return format_unit(
        duration.value,
        f"duration-{duration.unit.value}",
        length="long",
        locale=locale or current_locale(),
    )


# How a careful writer dates a document: Polish in the genitive with "r." ("9 września 2024 r.",
# "sierpnia 2021 r.", read after "od"), English day first ("9 September 2024", "August 2021").
_DOCUMENT_DATE_PATTERNS = {
    "pl": ("d MMMM y 'r.'", "MMMM y 'r.'"),
    "en": ("d MMMM y", "MMMM y"),
}


def format_document_date(value: str, locale: str | None = None) -> str:
    """A notice's ISO date ('2024-09-09') or month ('2021-08') as a page writes it."""
    locale = locale or current_locale()
    full, month = _DOCUMENT_DATE_PATTERNS["pl" if locale == "pl" else "en"]
    if len(value) == 7:
        return format_date(date.fromisoformat(value + "-01"), format=month, locale=locale)
    return format_date(date.fromisoformat(value), format=full, locale=locale)


def country_name(code: str, locale: str | None = None) -> str:
    """An ISO 3166-1 alpha-2 code as the country's name: 'Polska', 'Estonia'."""
    return str(BabelLocale.parse(locale or current_locale()).territories.get(code.upper(), code))


def _reject_unknown_language() -> None:
    if is_api_request():
        return  # the API answers an unknown language with a 400 naming it
    requested = request.args.get("lang")
    if requested is not None and requested not in LOCALES:
        abort(404)


def _remember_language(response: Response) -> Response:
    if is_api_request():
        return response  # API answers are cacheable and cookie-free
    requested = request.args.get("lang")
    if (
        requested in LOCALES
        and request.cookies.get(current_app.config["LANGUAGE_COOKIE"]) != requested
    ):
        response.set_cookie(
            current_app.config["LANGUAGE_COOKIE"],
            requested,
            max_age=current_app.config["LANGUAGE_COOKIE_MAX_AGE"],
            samesite="Lax",
            secure=request.is_secure,
            httponly=True,
        )
    return response

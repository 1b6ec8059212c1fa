"""The site owner's dashboard at /admin/<site>, signed in with one of the site's API keys.

Signing in starts a session kept on the server (zgoda.store.keys): Flask's session cookie
(signed, HttpOnly, SameSite=Lax, Secure over https) holds only a random token for it, never
the key. Signing out deletes the session, so a copied cookie stops working too; a session
also ends after ADMIN_SESSION_LIFETIME, after ADMIN_SESSION_IDLE_TIMEOUT unused, and when
its key is revoked. Failed sign-ins count towards the per-network limit on key guesses.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, timedelta

from babel.dates import UTC, format_date, format_datetime, format_skeleton
from babel.numbers import format_decimal, format_percent
from flask import Blueprint, current_app, render_template, request, session, url_for
from flask_babel import gettext
from markupsafe import Markup
from werkzeug.exceptions import TooManyRequests
from werkzeug.utils import redirect
from werkzeug.wrappers import Response

from zgoda import legal
from zgoda.consent import rules_for
from zgoda.dashboard import DashboardStats, dashboard_stats, window_days
from zgoda.errors import Forbidden, Unauthorized
from zgoda.i18n import current_locale, localized
from zgoda.notices.check import Finding, counts
from zgoda.notices.loader import LoadedNotice
from zgoda.notices.registry import notice_registry
from zgoda.scan.storage import scan_history
from zgoda.store.db import engine
from zgoda.store.keys import (
    SessionEnded,
    SessionLimits,
    authenticate,
    end_session,
    resume_session,
    start_session,
)
from zgoda.svg_charts import Series, bar_chart, line_chart
from zgoda.web.labels import action_label, language_label
from zgoda.web.limits import key_attempt
from zgoda.webhooks.endpoints import failed_deliveries, list_endpoints

bp = Blueprint("admin", __name__, url_prefix="/admin")

SESSION_KEY = "admin_sessions"  # {site id: token of the session signed in to it}
# A working day from sign-in; an hour unused ends it sooner (a browser left open).
PERIOD_CHOICES = (7, 30, 90, 365)
PRIVATE_HEADERS = {"Cache-Control": "no-store", "X-Robots-Tag": "noindex, nofollow"}
# A section of the rendered privacy page (templates/privacy.html): flat, never nested.
PUBLIC_SECTION = re.compile(r'<section id="([a-z-]+)"[^>]*>.*?</section>', re.DOTALL)


@bp.route("/<site>", methods=["GET", "POST"])
def dashboard(site: str) -> Response:
    """The dashboard when signed in; otherwise the sign-in form (POST signs in)."""
    loaded = notice_registry().get_or_404(site)
    if request.method == "POST":
        return _sign_in(loaded)
    key_id = _signed_in_key(site)
    if isinstance(key_id, SessionEnded):
        return _sign_in_page(loaded, _ended_problem(key_id), 200)
    days = window_days(request.args.get("days"))
    rules = rules_for(loaded)
    stats = dashboard_stats(engine(), site, rules.optional_keys, days)
    names = {}
    for purpose_id in rules.optional:
        purpose = rules.by_id[purpose_id]
        names[purpose_id] = localized(purpose.name)
        # A service's opt-in rate follows its purpose's, named after both.
        for service in purpose.services:
            names[purpose.service_key(service)] = f"{localized(purpose.name)}: {service.name}"
    page = render_template(
        "admin.html",
        loaded=loaded,
        notice=loaded.notice,
        key_id=key_id,
        days=days,
        period_choices=sorted({*PERIOD_CHOICES, days}),
        stats=stats,
        names=names,
        periods=[_period_label(stats, period) for period in stats.periods],
        charts=_charts(stats, names),
        percent=_percent,
        number=_number,
        action_label=action_label,
        language_label=language_label,
        start=format_date(stats.start, "long", locale=current_locale()),
        end=format_date(stats.end, "long", locale=current_locale()),
        scans=scan_history(engine(), site),
        webhooks=list_endpoints(engine(), site),
        failed_deliveries=failed_deliveries(engine(), site),
        scan_time=lambda moment: format_datetime(
            moment, "medium", tzinfo=UTC, locale=current_locale()
        ),
    )
    return Response(page, mimetype="text/html", headers=PRIVATE_HEADERS)


@bp.get("/<site>/notice")
def notice_review(site: str) -> Response:
    """The notice as the public page renders it, each finding of the check beside the section
    it concerns; the sign-in form when not signed in."""
    loaded = notice_registry().get_or_404(site)
    key_id = _signed_in_key(site)
    if isinstance(key_id, SessionEnded):
        return _sign_in_page(loaded, _ended_problem(key_id), 200)
    findings = notice_registry().findings[site]
    sections = _public_sections(loaded)
    placed = {section for section, _ in sections}
    page = render_template(
        "admin_notice.html",
        loaded=loaded,
        notice=loaded.notice,
        key_id=key_id,
        counts=counts(findings),
        sections=[(html, _concerning(findings, section)) for section, html in sections],
        unplaced=[finding for finding in findings if finding.section not in placed],
        quotes=_quotes(loaded),
    )
    return Response(page, mimetype="text/html", headers=PRIVATE_HEADERS)


def _public_sections(loaded: LoadedNotice) -> list[tuple[str, Markup]]:
    """The privacy page's sections as visitors see them, by anchor."""
    page = render_template("privacy.html", loaded=loaded, notice=loaded.notice, legal=legal)
    # Our own template's output, already escaped.
    return [(m.group(1), Markup(m.group(0))) for m in PUBLIC_SECTION.finditer(page)]


def _concerning(findings: list[Finding], section: str) -> list[Finding]:
    return [finding for finding in findings if finding.section == section]


def _quotes(loaded: LoadedNotice) -> dict[str, str]:
    """The source's wording of each outdated statement, by its finding's path."""
    return {
        f"outdated_statements[{index}] ({statement.kind})": statement.quote
        for index, statement in enumerate(loaded.notice.outdated_statements)
    }


@bp.post("/<site>/sign-out")
def sign_out(site: str) -> Response:
    """End this site's session (for every copy of the cookie) and go back to the sign-in form."""
    notice_registry().get_or_404(site)
    _forget_session(site)
    return redirect(url_for(".dashboard", site=site, lang=current_locale()), 303)


def _sign_in(loaded: LoadedNotice) -> Response:
    site = loaded.site_id
    presented = request.form.get("api_key", "").strip()
    try:
        with key_attempt(presented):
            key = authenticate(engine(), site, presented)
    except TooManyRequests as error:
        problem = gettext("Too many failed sign-in attempts from your network. Try again later.")
        return _sign_in_page(loaded, problem, 429, {"Retry-After": str(error.retry_after)})
    except Unauthorized:
        return _sign_in_page(loaded, gettext("This is not a valid API key."), 401)
    except Forbidden:
        return _sign_in_page(loaded, gettext("This API key belongs to another site."), 403)
    _forget_session(site)
    token = start_session(engine(), key, _session_limits())
    session[SESSION_KEY] = _session_tokens() | {site: token}
    return redirect(url_for(".dashboard", site=site, lang=current_locale()), 303)


def _signed_in_key(site: str) -> str | SessionEnded:
    """The key id this browser's live session of `site` signed in with, or why there is none.

    A session that ended is also dropped from the cookie.
    """
    token = _session_tokens().get(site)
    if token is None:
        return SessionEnded.UNKNOWN
    key_id = resume_session(engine(), token, site, _session_limits())
    if isinstance(key_id, SessionEnded):
        session[SESSION_KEY] = {s: t for s, t in _session_tokens().items() if s != site}
    return key_id


def _forget_session(site: str) -> None:
    """End this browser's session of `site`, on the server and in the cookie."""
    tokens = _session_tokens()
    token = tokens.pop(site, None)
    if token is not None:
        end_session(engine(), token)
        session[SESSION_KEY] = tokens


def _session_tokens() -> dict[str, str]:
    """The cookie's session token per site (a copy), ignoring anything malformed."""
    stored = session.get(SESSION_KEY)
    if not isinstance(stored, dict):
        return {}
    return {site: token for site, token in stored.items() if isinstance(token, str)}


def _session_limits() -> SessionLimits:
    config = current_app.config
    return SessionLimits(
        timedelta(seconds=config["ADMIN_SESSION_LIFETIME"]),
        timedelta(seconds=config["ADMIN_SESSION_IDLE_TIMEOUT"]),
    )


def _ended_problem(ended: SessionEnded) -> str | None:
    if ended is SessionEnded.REVOKED:
        return str(gettext("The key you signed in with has been revoked."))
    if ended is SessionEnded.EXPIRED:
        return str(gettext("Your session has ended. Sign in again."))
    return None


def _sign_in_page(
    loaded: LoadedNotice, problem: str | None, status: int, headers: dict[str, str] | None = None
) -> Response:
    page = render_template(
        "admin_sign_in.html", loaded=loaded, notice=loaded.notice, problem=problem
    )
    headers = PRIVATE_HEADERS | (headers or {})
    return Response(page, status=status, mimetype="text/html", headers=headers)


def _percent(value: float | None) -> str:
    """25% in the page's language; an en dash where there is nothing to divide."""
    return "–" if value is None else str(format_percent(value, locale=current_locale()))


def _number(value: float) -> str:
    """1 234 or 1,234: a count in the page's language."""
    return str(format_decimal(value, locale=current_locale()))


def _period_label(stats: DashboardStats, period: date) -> str:
    label = str(format_skeleton("MMMd", period, locale=current_locale()))
    if stats.bucket == "week":
        return str(gettext("week of %(day)s", day=label))
    return label


def _charts(stats: DashboardStats, names: dict[str, str]) -> dict[str, Markup]:
    """The three charts, labelled in the page's language."""
    locale = current_locale()
    axis = [str(format_skeleton("MMMd", period, locale=locale)) for period in stats.periods]
    series = [
        Series(
            gettext(
                "%(purpose)s: %(rate)s overall",
                purpose=name,
                rate=_percent(stats.overall_rate(pid)),
            ),
            stats.rates(pid),
        )
        for pid, name in names.items()
    ]
    format_rate: Callable[[float], str] = _percent
    per = gettext("per day") if stats.bucket == "day" else gettext("per week")
    return {
        "optin": line_chart(
            "chart-optin",
            gettext("Opt-in rate per purpose, %(per)s", per=per),
            gettext(
                "Share of the %(total)s choices recorded in each period that allowed each purpose. "
                "The table below gives every number.",
                total=stats.total,
            ),
            axis,
            series,
            format_value=format_rate,
        ),
        "actions": bar_chart(
            "chart-actions",
            gettext("Choices per action"),
            gettext("How many choices of each kind were recorded in the period."),
            [(action_label(action), count) for action, count in stats.actions.items()],
            format_value=_number,
        ),
        "locales": bar_chart(
            "chart-locales",
            gettext("Choices per language"),
            gettext("How many choices were made in each language of the banner or page."),
            [(language_label(locale), count) for locale, count in stats.locales.items()],
            format_value=_number,
            colour="#1e6b34",
        ),
    }

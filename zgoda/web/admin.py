"""The site owner's dashboard at /admin/<site>, signed in with one of the site's API keys.

Signing in keeps only the key's id in Flask's session cookie (signed, HttpOnly,
SameSite=Lax), never the secret; every request checks again that the key is still
active, so revoking it signs its sessions out.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from babel.dates import format_date, format_skeleton
from babel.numbers import format_decimal, format_percent
from flask import Blueprint, render_template, request, session, url_for
from flask_babel import gettext
from markupsafe import Markup
from werkzeug.utils import redirect
from werkzeug.wrappers import Response

from zgoda.dashboard import DashboardStats, dashboard_stats, window_days
from zgoda.errors import Forbidden, Unauthorized
from zgoda.i18n import current_locale, localized
from zgoda.notices.loader import LoadedNotice
from zgoda.notices.registry import notice_registry
from zgoda.store.db import engine
from zgoda.store.keys import authenticate, is_active
from zgoda.svg_charts import Series, bar_chart, line_chart
from zgoda.web.labels import action_label, language_label

bp = Blueprint("admin", __name__, url_prefix="/admin")

SESSION_KEY = "admin_keys"  # {site id: id of the key it was signed in with}
PERIOD_CHOICES = (7, 30, 90, 365)
PRIVATE_HEADERS = {"Cache-Control": "no-store", "X-Robots-Tag": "noindex, nofollow"}


@bp.route("/<site>", methods=["GET", "POST"])
def dashboard(site: str) -> Response:
    """The dashboard when signed in; otherwise the sign-in form (POST signs in)."""
    loaded = notice_registry().get_or_404(site)
    if request.method == "POST":
        return _sign_in(loaded)
    key_id, ended = _signed_in_key(site)
    if key_id is None:
        problem = gettext("The key you signed in with has been revoked.") if ended else None
        return _sign_in_page(loaded, problem, 200)
    days = window_days(request.args.get("days"))
    optional = [p for p in loaded.notice.cookies.purposes if not p.required]
    stats = dashboard_stats(engine(), site, [p.id for p in optional], days)
    names = {purpose.id: localized(purpose.name) for purpose in optional}
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
    )
    return Response(page, mimetype="text/html", headers=PRIVATE_HEADERS)


@bp.post("/<site>/sign-out")
def sign_out(site: str) -> Response:
    """Forget the signed-in key for this site and go back to the sign-in form."""
    notice_registry().get_or_404(site)
    keys = dict(session.get(SESSION_KEY, {}))
    keys.pop(site, None)
    session[SESSION_KEY] = keys
    return redirect(url_for(".dashboard", site=site, lang=current_locale()), 303)


def _sign_in(loaded: LoadedNotice) -> Response:
    site = loaded.site_id
    try:
        key = authenticate(engine(), site, request.form.get("api_key", "").strip())
    except Unauthorized:
        return _sign_in_page(loaded, gettext("This is not a valid API key."), 401)
    except Forbidden:
        return _sign_in_page(loaded, gettext("This API key belongs to another site."), 403)
    session[SESSION_KEY] = dict(session.get(SESSION_KEY, {})) | {site: key.key_id}
    return redirect(url_for(".dashboard", site=site, lang=current_locale()), 303)


def _signed_in_key(site: str) -> tuple[str | None, bool]:
    """The active key id this session signed in with, and whether a revoked one was dropped."""
    keys = session.get(SESSION_KEY)
    key_id = keys.get(site) if isinstance(keys, dict) else None
    if not isinstance(key_id, str):
        return None, False
    if is_active(engine(), key_id, site):
        return key_id, False
    session[SESSION_KEY] = {s: k for s, k in keys.items() if s != site}  # type: ignore[union-attr]
    return None, True


def _sign_in_page(loaded: LoadedNotice, problem: str | None, status: int) -> Response:
    page = render_template(
        "admin_sign_in.html", loaded=loaded, notice=loaded.notice, problem=problem
    )
    return Response(page, status=status, mimetype="text/html", headers=PRIVATE_HEADERS)


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

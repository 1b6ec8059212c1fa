"""The site owner's dashboard, on SQLite and PostgreSQL: signing in and out, and its numbers."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ElementTree
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from tests.test_store import make_event
from zgoda.dashboard import DEFAULT_DAYS, MAX_DAYS, dashboard_stats, window_days
from zgoda.store.db import engine
from zgoda.store.event import ConsentEvent
from zgoda.store.keys import create_key, is_active, revoke_key
from zgoda.store.log import append_event

SITE = "optingo"
SVG = "{http://www.w3.org/2000/svg}"
NOW = datetime(2026, 11, 21, 15, 0, tzinfo=UTC)  # a Saturday
ALL_OFF = {"necessary": True, "statistics": False, "advertising": False}


def at(day: date, hour: int = 12) -> datetime:
    return datetime.combine(day, time(hour), UTC)


def known_events(today: date) -> list[ConsentEvent]:
    """Five decisions over three days, one too old, and one erasure (not a decision)."""
    two_ago, yesterday = today - timedelta(days=2), today - timedelta(days=1)
    decisions = [
        (two_ago, "accept_all", "pl", {"statistics": True, "advertising": True}),
        (two_ago, "custom", "en", {"statistics": True, "advertising": False}),
        (yesterday, "reject_all", "pl", {}),
        (today, "custom", "en", {"statistics": False, "advertising": True}),
        (today, "withdraw", "pl", {}),
        (today - timedelta(days=40), "accept_all", "pl", {"statistics": True}),
    ]
    events = [
        make_event(
            site_id=SITE,
            recorded_at=at(day, 1 + index),
            action=action,
            locale=locale,
            choices=ALL_OFF | choices,
        )
        for index, (day, action, locale, choices) in enumerate(decisions)
    ]
    erasure = replace(events[0], action="erase", consent_id="erased", choices={})
    other_site = replace(events[0], site_id="apifonica")
    return [*events, erasure, other_site]


def insert(app: Flask, events: list[ConsentEvent]) -> None:
    with app.app_context():
        for event in events:
            append_event(engine(), event)


def new_key(app: Flask, site: str = SITE) -> str:
    with app.app_context():
        return create_key(engine(), site, "dashboard test")


def csrf_token(client: FlaskClient, site: str = SITE) -> str:
    markup = client.get(f"/admin/{site}?lang=en").get_data(as_text=True)
    match = re.search(r'name="csrf_token" value="([^"]+)"', markup)
    assert match, markup
    return match.group(1)


def sign_in(client: FlaskClient, key: str, site: str = SITE) -> TestResponse:
    return client.post(
        f"/admin/{site}?lang=en", data={"csrf_token": csrf_token(client, site), "api_key": key}
    )


def svgs(markup: str) -> dict[str, ElementTree.Element]:
    """Each inline chart, parsed as XML (so it must be well-formed), by id."""
    charts = [ElementTree.fromstring(s) for s in re.findall(r"<svg.*?</svg>", markup, re.S)]
    return {chart.attrib["id"]: chart for chart in charts}


def texts(chart: ElementTree.Element) -> list[str]:
    return [element.text or "" for element in chart.iter(f"{SVG}text")]


# --- the numbers -----------------------------------------------------------------------------


def test_daily_numbers_match_the_events(db_app: Flask) -> None:
    insert(db_app, known_events(NOW.date()))
    with db_app.app_context():
        stats = dashboard_stats(engine(), SITE, ["statistics", "advertising"], 30, now=NOW)
    assert stats.bucket == "day" and len(stats.periods) == 30
    assert stats.start == NOW.date() - timedelta(days=29) and stats.end == NOW.date()
    assert stats.decisions[-3:] == [2, 1, 2] and stats.total == 5
    assert stats.rates("statistics")[-3:] == [1.0, 0.0, 0.0]
    assert stats.rates("advertising")[-3:] == [0.5, 0.0, 0.5]
    assert stats.rates("statistics")[0] is None, "no decision that day"
    assert stats.overall_rate("statistics") == 2 / 5
    assert stats.overall_rate("advertising") == 2 / 5
    assert stats.actions == {"accept_all": 1, "reject_all": 1, "custom": 2, "withdraw": 1}
    assert stats.locales == {"pl": 3, "en": 2}


def test_a_long_window_is_counted_per_week(db_app: Flask) -> None:
    insert(db_app, known_events(NOW.date()))
    with db_app.app_context():
        stats = dashboard_stats(engine(), SITE, ["statistics"], MAX_DAYS, now=NOW)
    assert stats.bucket == "week"
    assert all(period.weekday() == 0 for period in stats.periods)
    assert stats.periods[0] <= stats.start < stats.periods[0] + timedelta(days=7)
    assert stats.periods[-1] <= NOW.date() < stats.periods[-1] + timedelta(days=7)
    assert stats.total == 6, "the event 40 days ago is in the window now"
    # Thursday to Saturday of one week; the older event (a Monday) five weeks earlier.
    assert stats.decisions[-1] == 5 and stats.decisions[-6] == 1
    assert stats.periods[-6] == NOW.date() - timedelta(days=40)


def test_an_empty_log_has_no_rates(db_app: Flask) -> None:
    with db_app.app_context():
        stats = dashboard_stats(engine(), SITE, ["statistics"], 7, now=NOW)
    assert stats.total == 0 and stats.overall_rate("statistics") is None
    assert stats.rates("statistics") == [None] * 7
    assert stats.locales == {"pl": 0, "en": 0}


@pytest.mark.parametrize(
    ("requested", "days"),
    [(None, DEFAULT_DAYS), ("", DEFAULT_DAYS), ("abc", DEFAULT_DAYS), ("7", 7), ("0", 1),
     ("-5", 1), ("100000", MAX_DAYS)],
)  # fmt: skip
def test_the_window_is_bounded(requested: str | None, days: int) -> None:
    assert window_days(requested) == days


# --- signing in and out ---------------------------------------------------------------------


def test_without_a_session_the_dashboard_asks_for_a_key(db_app: Flask) -> None:
    response = db_app.test_client().get(f"/admin/{SITE}?lang=en")
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    markup = response.get_data(as_text=True)
    assert 'name="csrf_token"' in markup and 'name="api_key"' in markup
    assert 'type="password"' in markup
    assert "<svg" not in markup and "Sign out" not in markup
    assert response.headers["Cache-Control"] == "no-store"


def test_an_unknown_site_is_a_404(db_app: Flask) -> None:
    assert db_app.test_client().get("/admin/no-such-site").status_code == 404


@pytest.mark.parametrize("key", ["", "nonsense", "zk_000000000000_wrongsecret"])
def test_a_wrong_key_is_a_401_with_the_form_again(db_app: Flask, key: str) -> None:
    client = db_app.test_client()
    new_key(db_app)
    response = sign_in(client, key)
    assert response.status_code == 401
    markup = response.get_data(as_text=True)
    assert "This is not a valid API key." in markup and 'name="api_key"' in markup
    assert 'aria-invalid="true"' in markup
    assert "<svg" not in client.get(f"/admin/{SITE}").get_data(as_text=True)


def test_a_key_of_the_right_site_with_a_wrong_secret_is_a_401(db_app: Flask) -> None:
    prefix, key_id, _ = new_key(db_app).split("_", 2)
    response = sign_in(db_app.test_client(), f"{prefix}_{key_id}_{'x' * 43}")
    assert response.status_code == 401


def test_another_sites_key_is_a_403(db_app: Flask) -> None:
    client = db_app.test_client()
    response = sign_in(client, new_key(db_app, "apifonica"))
    assert response.status_code == 403
    assert "This API key belongs to another site." in response.get_data(as_text=True)
    assert "<svg" not in client.get(f"/admin/{SITE}").get_data(as_text=True)


def test_signing_in_needs_the_csrf_token(db_app: Flask) -> None:
    client = db_app.test_client()
    key = new_key(db_app)
    response = client.post(f"/admin/{SITE}", data={"api_key": key})
    assert response.status_code == 400
    assert "<svg" not in client.get(f"/admin/{SITE}").get_data(as_text=True)


def test_signing_in_and_out(db_app: Flask) -> None:
    client = db_app.test_client()
    key = new_key(db_app)
    key_id = key.split("_")[1]
    response = sign_in(client, key)
    assert response.status_code == 303
    assert response.headers["Location"] == f"/admin/{SITE}?lang=en"
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith("session=") and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    # The cookie keeps only a random session token: neither the key's secret nor its id.
    session_value = client.get_cookie("session")
    assert session_value is not None
    session = db_app.session_interface.get_signing_serializer(db_app).loads(session_value.value)  # type: ignore[attr-defined]
    assert set(session["admin_sessions"]) == {SITE}
    assert len(session["admin_sessions"][SITE]) >= 43  # 256 random bits
    assert key.split("_", 2)[2] not in session_value.value and key_id not in session_value.value

    markup = client.get(f"/admin/{SITE}?lang=en").get_data(as_text=True)
    assert f"Signed in with the API key {key_id}." in markup
    assert len(svgs(markup)) == 3
    # Signed in to one site only.
    assert "<svg" not in client.get("/admin/apifonica").get_data(as_text=True)

    token = re.search(r'name="csrf_token" value="([^"]+)"', markup).group(1)  # type: ignore[union-attr]
    assert client.post(f"/admin/{SITE}/sign-out").status_code == 400, "CSRF-protected"
    response = client.post(f"/admin/{SITE}/sign-out", data={"csrf_token": token})
    assert response.status_code == 303
    markup = client.get(f"/admin/{SITE}?lang=en").get_data(as_text=True)
    assert "<svg" not in markup and 'name="api_key"' in markup


def test_revoking_the_key_signs_its_sessions_out(db_app: Flask) -> None:
    client = db_app.test_client()
    key = new_key(db_app)
    key_id = key.split("_")[1]
    assert sign_in(client, key).status_code == 303
    assert "<svg" in client.get(f"/admin/{SITE}").get_data(as_text=True)
    with db_app.app_context():
        assert is_active(engine(), key_id, SITE) and not is_active(engine(), key_id, "apifonica")
        revoke_key(engine(), key_id)
        assert not is_active(engine(), key_id, SITE)
    response = client.get(f"/admin/{SITE}?lang=en")
    markup = response.get_data(as_text=True)
    assert "<svg" not in markup
    assert "The key you signed in with has been revoked." in markup
    # ... and it is forgotten: the next visit is a plain sign-in form.
    assert "revoked" not in client.get(f"/admin/{SITE}?lang=en").get_data(as_text=True)
    assert sign_in(client, key).status_code == 401


# --- the page -------------------------------------------------------------------------------


@pytest.fixture
def signed_in(db_app: Flask) -> FlaskClient:
    client = db_app.test_client()
    assert sign_in(client, new_key(db_app)).status_code == 303
    return client


def test_the_charts_and_tables_show_the_known_numbers(
    db_app: Flask, signed_in: FlaskClient
) -> None:
    # Relative to the real clock: the view has no frozen clock. Only whole-window numbers are
    # checked, so a midnight between inserting and reading changes nothing.
    insert(db_app, known_events(datetime.now(UTC).date()))
    response = signed_in.get(f"/admin/{SITE}?lang=en&days=30")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    markup = response.get_data(as_text=True)
    assert "5 choices recorded from" in markup
    charts = svgs(markup)
    assert set(charts) == {"chart-optin", "chart-actions", "chart-locales"}
    for chart_id, chart in charts.items():
        assert chart.attrib["role"] == "img"
        assert chart.attrib["aria-labelledby"] == f"{chart_id}-title {chart_id}-desc"
        assert chart.find(f"{SVG}title").attrib["id"] == f"{chart_id}-title"  # type: ignore[union-attr]
        assert chart.find(f"{SVG}desc").attrib["id"] == f"{chart_id}-desc"  # type: ignore[union-attr]
        assert not any("style" in element.attrib for element in chart.iter())
    actions = texts(charts["chart-actions"])
    for label, count in [("Accepted all", "1"), ("Rejected all", "1"), ("Chose per purpose", "2"),
                         ("Withdrew consent", "1")]:  # fmt: skip
        assert actions[actions.index(label) + 1] == count
    locales = texts(charts["chart-locales"])
    assert locales[locales.index("Polish") + 1] == "3"
    assert locales[locales.index("English") + 1] == "2"
    legend = texts(charts["chart-optin"])
    assert "Statistics: 40% overall" in legend
    assert "Advertising (remarketing): 40% overall" in legend
    assert "Site configuration: 0% overall" in legend
    # The same numbers as a table.
    assert re.search(r"<th scope=\"row\">Chose per purpose</th><td>2</td>", markup)
    assert re.search(r"<th scope=\"row\">Whole period</th>\s*<td>5</td>\s*<td>40%</td>", markup)
    # Nothing inline that the CSP would block.
    assert "<script" not in markup and "style=" not in markup


def test_the_period_selector_and_polish_labels(db_app: Flask, signed_in: FlaskClient) -> None:
    insert(db_app, known_events(datetime.now(UTC).date()))
    markup = signed_in.get(f"/admin/{SITE}?lang=pl&days=365").get_data(as_text=True)
    assert '<option value="365" selected>ostatnie 365 dni</option>' in markup
    assert "6 wyborów zapisanych od" in markup
    assert "tydzień od" in markup
    locales = texts(svgs(markup)["chart-locales"])
    assert locales[locales.index("Polski") + 1] == "4"
    odd = signed_in.get(f"/admin/{SITE}?lang=en&days=45").get_data(as_text=True)
    assert '<option value="45" selected>last 45 days</option>' in odd

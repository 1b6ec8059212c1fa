"""Consent without JavaScript: the form on the hosted cookie policy."""

from __future__ import annotations

import re

from flask import Flask
from flask.testing import FlaskClient

from zgoda.store import count_events, iter_events
from zgoda.store.db import engine


def form_fields(client: FlaskClient, url: str = "/optingo/cookies?lang=en") -> dict[str, str]:
    markup = client.get(url).get_data(as_text=True)
    return {
        name: re.search(rf'name="{name}" value="([^"]+)"', markup).group(1)  # type: ignore[union-attr]
        for name in ("csrf_token", "notice_version")
    }


def test_form_starts_with_nothing_ticked_but_required(db_app: Flask) -> None:
    markup = db_app.test_client().get("/optingo/cookies?lang=en").get_data(as_text=True)
    assert 'name="csrf_token"' in markup
    assert "You have not made a choice on this page yet." in markup
    assert re.search(r'id="purpose-necessary-choice" checked disabled', markup)
    assert not re.search(r'name="purpose-[a-z_]+" checked', markup)


def test_post_without_csrf_token_is_refused_and_records_nothing(db_app: Flask) -> None:
    client = db_app.test_client()
    fields = form_fields(client)
    response = client.post(
        "/optingo/cookies/preferences",
        data={"notice_version": fields["notice_version"], "action": "accept_all"},
    )
    assert response.status_code == 400
    with db_app.app_context():
        assert count_events(engine()) == 0


def test_custom_choice_is_recorded_kept_in_a_cookie_and_shown(db_app: Flask) -> None:
    client = db_app.test_client()
    fields = form_fields(client)
    response = client.post(
        "/optingo/cookies/preferences?lang=en",
        data=fields | {"action": "custom", "purpose-statistics": "on"},
    )
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/optingo/cookies?lang=en&saved=1#preferences")
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith("zgoda_consent_optingo=")
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Expires=" in cookie

    page = client.get("/optingo/cookies?lang=en&saved=1").get_data(as_text=True)
    assert "Your choice has been saved." in page
    assert 'name="purpose-statistics" checked' in page
    assert 'name="purpose-analytics" checked' not in page
    assert 'name="service-advertising.google_ads" checked' not in page

    with db_app.app_context():
        assert count_events(engine()) == 1


def test_changing_the_choice_keeps_one_consent_history(db_app: Flask) -> None:
    client = db_app.test_client()
    fields = form_fields(client)
    client.post("/optingo/cookies/preferences", data=fields | {"action": "accept_all"})
    client.post("/optingo/cookies/preferences", data=fields | {"action": "reject_all"})
    assert client.get_cookie("zgoda_consent_optingo") is not None
    with db_app.app_context():
        history = list(iter_events(engine(), "optingo"))
    assert [event.action for event in history] == ["accept_all", "reject_all"]
    assert len({event.consent_id for event in history}) == 1
    assert all(event.source == "preferences_page" for event in history)
    assert history[1].choices["statistics"] is False and history[1].choices["necessary"] is True


def test_a_stale_form_records_nothing_and_asks_again(db_app: Flask) -> None:
    client = db_app.test_client()
    fields = form_fields(client) | {"notice_version": "0000000000000000"}
    response = client.post(
        "/optingo/cookies/preferences?lang=en", data=fields | {"action": "accept_all"}
    )
    assert response.status_code == 303
    assert "changed=1" in response.headers["Location"]
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "The cookie policy changed while you were reading it." in page
    with db_app.app_context():
        assert count_events(engine()) == 0


def test_unknown_form_action_is_a_400(db_app: Flask) -> None:
    client = db_app.test_client()
    response = client.post(
        "/optingo/cookies/preferences", data=form_fields(client) | {"action": "all"}
    )
    assert response.status_code == 400

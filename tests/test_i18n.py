"""Locale selection and Babel formatting."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient

from zgoda.i18n import format_document_date, format_duration
from zgoda.notices.model import Duration, TimeUnit


@pytest.mark.parametrize(
    ("value", "unit", "polish", "english"),
    [
        (1, "year", "1 rok", "1 year"),
        (2, "year", "2 lata", "2 years"),
        (5, "year", "5 lat", "5 years"),
        (22, "year", "22 lata", "22 years"),
        (1, "month", "1 miesiąc", "1 month"),
        (3, "month", "3 miesiące", "3 months"),
        (6, "month", "6 miesięcy", "6 months"),
        (60, "day", "60 dni", "60 days"),
    ],
)
def test_durations_use_each_languages_plural_rules(
    value: int, unit: str, polish: str, english: str
) -> None:
    duration = Duration(value=value, unit=TimeUnit(unit))
    assert format_duration(duration, "pl") == polish
    assert format_duration(duration, "en") == english


def test_dates_and_months_are_formatted_per_locale() -> None:
    assert format_document_date("2024-09-09", "pl") == "9 września 2024 r."
    assert format_document_date("2024-09-09", "en") == "9 September 2024"
    assert format_document_date("2021-08", "pl") == "sierpnia 2021 r."  # read after "od"
    assert format_document_date("2021-08", "en") == "August 2021"


def html_lang(client: FlaskClient, url: str, **kwargs: object) -> str:
    body = client.get(url, **kwargs).get_data(as_text=True)  # type: ignore[arg-type]
    return body.split('<html lang="', 1)[1].split('"', 1)[0]


def test_query_parameter_wins_and_is_remembered(client: FlaskClient) -> None:
    response = client.get("/optingo/privacy?lang=en", headers={"Accept-Language": "pl"})
    assert '<html lang="en">' in response.get_data(as_text=True)
    assert "zgoda_lang=en" in response.headers["Set-Cookie"]
    # the cookie now carries the choice to the next page
    assert html_lang(client, "/optingo/cookies", headers={"Accept-Language": "pl"}) == "en"


def test_cookie_beats_accept_language(client: FlaskClient) -> None:
    client.set_cookie("zgoda_lang", "pl")
    assert html_lang(client, "/xopero/privacy", headers={"Accept-Language": "en"}) == "pl"


def test_accept_language_is_negotiated(client: FlaskClient) -> None:
    headers = {"Accept-Language": "de-DE,de;q=0.9,en;q=0.5,pl;q=0.4"}
    assert html_lang(client, "/optingo/privacy", headers=headers) == "en"


def test_notice_default_when_nothing_else_decides(client: FlaskClient) -> None:
    assert html_lang(client, "/optingo/privacy") == "pl"
    assert html_lang(client, "/xopero/privacy") == "en"


def test_unsupported_cookie_value_is_ignored(client: FlaskClient) -> None:
    client.set_cookie("zgoda_lang", "de")
    assert html_lang(client, "/optingo/privacy", headers={"Accept-Language": "en"}) == "en"


def test_api_answers_set_no_language_cookie(client: FlaskClient) -> None:
    response = client.get("/api/v1/sites/optingo/banner?lang=en")
    assert response.status_code == 200
    assert "Set-Cookie" not in response.headers

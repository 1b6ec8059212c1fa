"""Hosted pages: each organisation's facts in each language, valid and safe HTML."""

from __future__ import annotations

import html
import re
from pathlib import Path

import html5lib
import pytest
import yaml
from flask import Flask, Response
from flask.testing import FlaskClient
from flask_babel import force_locale

from app import create_app
from tests.conftest import FIXTURES, LANGS, SITES
from zgoda import legal
from zgoda.notices.model import Right

FACTS = {site: yaml.safe_load((FIXTURES / "facts" / f"{site}.yaml").read_text()) for site in SITES}
PAGES = ("privacy", "cookies")


def visible_text(markup: str) -> str:
    without_head = re.sub(r"<head>.*?</head>", " ", markup, flags=re.S)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", without_head)).split())


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("page", PAGES)
@pytest.mark.parametrize("site", SITES)
def test_page_shows_the_organisations_key_facts(
    client: FlaskClient, site: str, page: str, lang: str
) -> None:
    response = client.get(f"/{site}/{page}?lang={lang}")
    assert response.status_code == 200
    text = visible_text(response.get_data(as_text=True))
    facts = FACTS[site][f"{page}_{lang}"]
    assert len(facts) >= 5
    missing = [fact for fact in facts if " ".join(fact.split()) not in text]
    assert not missing


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("page", PAGES)
@pytest.mark.parametrize("site", SITES)
def test_page_is_valid_html5_with_locale_metadata(
    client: FlaskClient, site: str, page: str, lang: str
) -> None:
    markup = client.get(f"/{site}/{page}?lang={lang}").get_data(as_text=True)
    html5lib.HTMLParser(strict=True).parse(markup)  # raises on any parse error
    assert markup.startswith("<!DOCTYPE html>")
    assert f'<html lang="{lang}">' in markup
    for other in LANGS:
        assert f'hreflang="{other}" href="http://localhost/{site}/{page}?lang={other}"' in markup
    assert 'media="print"' in markup
    ids = re.findall(r'\sid="([^"]+)"', markup)
    assert len(ids) == len(set(ids)), "duplicate element ids"
    for anchor in re.findall(r'href="#([^"]+)"', markup):
        assert anchor in ids, f"table of contents points at missing #{anchor}"


def test_privacy_page_has_table_of_contents_date_and_version(client: FlaskClient) -> None:
    text = visible_text(client.get("/apifonica/privacy?lang=pl").get_data(as_text=True))
    assert "Spis treści" in text
    assert "Obowiązuje od 9 września 2024 r." in text
    assert "2.1" in text


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("site", SITES)
def test_every_gdpr_right_is_given_whatever_the_notice_lists(
    app: Flask, client: FlaskClient, site: str, lang: str
) -> None:
    text = visible_text(client.get(f"/{site}/privacy?lang={lang}").get_data(as_text=True))
    with app.test_request_context(), force_locale(lang):
        wording = [str(legal.RIGHT_DESCRIPTIONS[right]) for right in legal.GDPR_RIGHTS]
        wording.append(str(legal.RIGHT_DESCRIPTIONS[Right.WITHDRAW_CONSENT]))
    assert [line for line in wording if line not in text] == []


@pytest.mark.parametrize("lang", LANGS)
def test_an_automated_decision_the_source_is_silent_on_is_not_denied(
    client: FlaskClient, lang: str
) -> None:
    text = visible_text(client.get(f"/optingo/privacy?lang={lang}").get_data(as_text=True))
    assert "No decisions based solely on automated processing are made." not in text
    assert "Nie są podejmowane decyzje oparte wyłącznie" not in text
    assert (
        "Administrator nie mówi, czy podejmuje decyzje oparte wyłącznie"
        if lang == "pl"
        else "The controller does not say whether it makes decisions based solely"
    ) in text


@pytest.mark.parametrize("lang", LANGS)
def test_an_invalid_safeguard_is_not_listed_as_one(client: FlaskClient, lang: str) -> None:
    markup = client.get(f"/optingo/privacy?lang={lang}").get_data(as_text=True)
    section = markup.split('id="transfers"')[1].split("</section>")[0]
    listed = re.findall(r"<li>(.*?)</li>", section, flags=re.S)
    assert len(listed) == 1  # the standard contractual clauses only
    assert "Privacy Shield" not in listed[0] and "Tarcza" not in listed[0]


def test_index_lists_every_site(client: FlaskClient) -> None:
    markup = client.get("/").get_data(as_text=True)
    for site in SITES:
        assert f'href="/{site}/privacy"' in markup
        assert f'href="/{site}/cookies"' in markup


@pytest.mark.parametrize(
    ("url", "lang", "heading"),
    [
        ("/no-such-site/privacy", "pl", "Nie znaleziono strony"),
        ("/no-such-site/cookies?lang=en", "en", "Page not found"),
        ("/optingo/privacy?lang=de", "pl", "Nie znaleziono strony"),
        ("/optingo/nothing-here", "pl", "Nie znaleziono strony"),
    ],
)
def test_unknown_site_or_language_gets_a_localized_404(
    client: FlaskClient, url: str, lang: str, heading: str
) -> None:
    response = client.get(url, headers={"Accept-Language": lang})
    assert response.status_code == 404
    markup = response.get_data(as_text=True)
    assert heading in markup
    assert f'<html lang="{lang}">' in markup


@pytest.mark.parametrize("url", ["/", "/optingo/privacy", "/optingo/cookies", "/nope/privacy"])
def test_security_headers(client: FlaskClient, url: str) -> None:
    headers = client.get(url).headers
    csp = headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp
    assert "unsafe-inline" not in csp
    assert "unsafe-eval" not in csp
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "strict-origin-when-cross-origin"


def test_a_view_that_sets_a_security_header_keeps_its_own(app: Flask) -> None:
    @app.get("/framable")
    def framable() -> Response:
        response = Response("ok")
        response.headers["X-Frame-Options"] = "SAMEORIGIN"
        return response

    headers = app.test_client().get("/framable").headers
    assert headers.getlist("X-Frame-Options") == ["SAMEORIGIN"]
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert "default-src 'self'" in headers["Content-Security-Policy"]


def test_pages_carry_no_inline_script_or_style(client: FlaskClient) -> None:
    markup = client.get("/optingo/privacy").get_data(as_text=True)
    assert "<script" not in markup
    assert "<style" not in markup
    assert " style=" not in markup


def test_notice_text_cannot_inject_html(notices_copy: Path) -> None:
    path = notices_copy / "optingo" / "notice.yaml"
    attack = "<script>alert(1)</script><img src=x onerror=alert(2)>"
    path.write_text(
        path.read_text(encoding="utf-8").replace("site_name: Optingo", f'site_name: "{attack}"'),
        encoding="utf-8",
    )
    app = create_app({"TESTING": True, "NOTICES_DIR": str(notices_copy)})
    for url in ("/", "/optingo/privacy", "/optingo/cookies"):
        markup = app.test_client().get(url).get_data(as_text=True)
        assert attack not in markup
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in markup

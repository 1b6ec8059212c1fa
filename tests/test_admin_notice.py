"""The owner's review at /admin/<site>/notice: the public notice with each finding beside
the section it concerns, for a browser signed in with the site's API key."""

from __future__ import annotations

import re

from flask import Flask

from tests.test_dashboard import new_key, sign_in
from zgoda.notices.registry import NoticeRegistry

SITE = "optingo"
REVIEW = f"/admin/{SITE}/notice?lang=en"


def review_sections(markup: str) -> dict[str, str]:
    """Each reviewed section's markup (the public section and its findings), by anchor."""
    parts = re.findall(
        r'<div class="review-section">\s*<section id="([a-z-]+)"(.*?)</aside>', markup, re.S
    )
    return dict(parts)


def test_signed_in_the_review_shows_each_finding_beside_its_section(db_app: Flask) -> None:
    client = db_app.test_client()
    sign_in(client, new_key(db_app))
    response = client.get(REVIEW)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    markup = response.get_data(as_text=True)
    assert "<style" not in markup and "<script>" not in markup and " style=" not in markup

    registry: NoticeRegistry = db_app.extensions["zgoda_notices"]
    findings = registry.findings[SITE]
    sections = review_sections(markup)
    assert {"controller", "purposes", "rights", "transfers", "cookies"} <= set(sections)
    for finding in findings:
        where = sections.get(finding.section, markup)
        assert finding.fix.replace("'", "&#39;") in where, finding
    shield = next(f for f in findings if "Schrems II" in f.article)
    assert "Privacy Shield" in sections["transfers"] and shield.section == "transfers"
    # the clause as the source words it, beside what to do instead
    assert "The source says:" in sections["transfers"]
    assert "korzysta z unijno – amerykańskiego programu Privacy Shield" in sections["transfers"]
    # the public notice's own text is there
    assert "Optingo Digital Sp. z o.o." in sections["controller"]


def test_not_signed_in_the_review_asks_for_a_key(db_app: Flask) -> None:
    response = db_app.test_client().get(REVIEW)
    assert response.status_code == 200
    markup = response.get_data(as_text=True)
    assert 'name="api_key"' in markup
    assert "Fix:" not in markup


def test_a_key_of_another_site_does_not_open_this_sites_review(db_app: Flask) -> None:
    client = db_app.test_client()
    sign_in(client, new_key(db_app, "xopero"), site="xopero")
    assert 'name="api_key"' in client.get(REVIEW).get_data(as_text=True)


def test_an_unknown_sites_review_is_a_404(db_app: Flask) -> None:
    assert db_app.test_client().get("/admin/nope/notice").status_code == 404

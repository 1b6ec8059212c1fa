"""WCAG 2.1 AA on every hosted page, in real Chromium, checked by axe-core."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Browser, Page

from tests.conftest import LANGS, SITES
from tests.e2e.conftest import ARTIFACTS, AXE_SCRIPT

AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]


def axe_violations(page: Page) -> list[dict[str, Any]]:
    page.add_script_tag(path=str(AXE_SCRIPT))
    result = page.evaluate(
        "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})", AXE_TAGS
    )
    return [
        {"id": v["id"], "help": v["help"], "nodes": [n["target"] for n in v["nodes"]][:5]}
        for v in result["violations"]
    ]


@pytest.fixture
def page(browser: Browser) -> Page:
    # axe is injected as an inline script, which our own CSP rightly forbids.
    context = browser.new_context(bypass_csp=True)
    return context.new_page()


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize(
    "path", [f"/{site}/{page}" for site in SITES for page in ("privacy", "cookies")] + ["/"]
)
def test_page_has_no_axe_violations(zgoda_server: str, page: Page, path: str, lang: str) -> None:
    response = page.goto(f"{zgoda_server}{path}?lang={lang}")
    assert response is not None and response.status == 200
    assert page.get_attribute("html", "lang") == lang
    assert axe_violations(page) == []


def test_not_found_page_has_no_axe_violations(zgoda_server: str, page: Page) -> None:
    response = page.goto(f"{zgoda_server}/no-such-site/privacy?lang=en")
    assert response is not None and response.status == 404
    assert axe_violations(page) == []


@pytest.mark.parametrize("width", [320, 1280])
def test_notice_reflows_without_horizontal_scrolling(
    zgoda_server: str, page: Page, width: int
) -> None:
    page.set_viewport_size({"width": width, "height": 800})
    page.goto(f"{zgoda_server}/apifonica/privacy?lang=pl")
    scroll_width = page.evaluate("document.documentElement.scrollWidth")
    assert scroll_width <= width
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"apifonica-privacy-{width}.png"), full_page=False)


def test_language_switcher_changes_language_in_the_browser(zgoda_server: str, page: Page) -> None:
    page.goto(f"{zgoda_server}/optingo/cookies?lang=pl")
    page.get_by_role("link", name="English").click()
    page.wait_for_url("**lang=en")
    assert page.get_attribute("html", "lang") == "en"
    assert page.get_by_role("heading", level=1).inner_text() == "Cookie policy"
    # the choice is remembered on the next page without ?lang
    page.goto(f"{zgoda_server}/optingo/privacy")
    assert page.get_attribute("html", "lang") == "en"

"""The per-site script (/embed/SITE.js): the banner with no request before it but the script.

Every test listens for uncaught errors and console errors; there must be none.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import BrowserContext, Page, Request, expect

from tests.e2e.customer.banner import first_layer, preferences
from tests.e2e.test_embed import OPTIONAL, choices_in, consent_cookie, payload_of, wait_for_ran


@pytest.fixture
def page(context: BrowserContext, errors: list[str]) -> Page:
    return context.new_page()


def zgoda_requests(page: Page, zgoda: str) -> list[Request]:
    """Every request the page makes to Zgoda's origin from now on."""
    seen: list[Request] = []
    page.on("request", lambda r: seen.append(r) if r.url.startswith(zgoda) else None)
    return seen


@pytest.mark.parametrize("lang", ["pl", "en"])
def test_the_banner_shows_after_the_script_alone_in_the_page_language(
    customer: str, zgoda_server: str, page: Page, lang: str
) -> None:
    requests = zgoda_requests(page, zgoda_server)
    page.goto(f"{customer}/shop.html?script=site&lang={lang}")
    expect(first_layer(page)).to_be_visible()
    assert [r.url for r in requests] == [f"{zgoda_server}/embed/optingo.js"]
    # The built-in texts are the API's texts for that language.
    fetched = page.request.get(f"{zgoda_server}/api/v1/sites/optingo/banner?lang={lang}").json()
    expect(first_layer(page).locator("h2")).to_have_text(fetched["texts"]["title"])
    expect(
        first_layer(page).get_by_role("button", name=fetched["texts"]["reject_all"])
    ).to_be_visible()


def test_a_choice_made_with_the_per_site_script_is_recorded_and_applies(
    customer: str, zgoda_server: str, page: Page
) -> None:
    page.goto(f"{customer}/shop.html?script=site&lang=en")
    with page.expect_response("**/api/v1/sites/optingo/consents") as answer:
        first_layer(page).get_by_role("button", name="Accept all").click()
    assert answer.value.status == 201
    expect(first_layer(page)).to_be_hidden()
    assert len(wait_for_ran(page, 5)) == 5
    assert choices_in(page) == dict.fromkeys(OPTIONAL, True)
    page.wait_for_function("document.cookie.includes('zgoda_consent=')")
    cookie = consent_cookie(page.context)
    assert cookie is not None
    assert payload_of(cookie["value"])["site"] == "optingo"
    verified = page.request.post(
        f"{zgoda_server}/api/v1/sites/optingo/verify", data={"token": cookie["value"]}
    ).json()
    assert verified["valid"] is True
    # The settings open from the built-in configuration too, with no request for it.
    requests = zgoda_requests(page, zgoda_server)
    page.reload()
    page.locator("#settings-link").click()
    expect(preferences(page)).to_be_visible()
    assert not any("/banner" in r.url for r in requests)


def test_a_stale_built_in_configuration_is_replaced_by_the_api_one(
    customer: str, page: Page
) -> None:
    """A 409 (the server has a newer notice than the cached script) fetches the banner afresh."""
    page.goto(f"{customer}/shop.html?script=site&lang=en")
    expect(first_layer(page)).to_be_visible()
    page.route(
        "**/consents",
        lambda route: route.fulfill(
            status=409,
            json={"error": "stale_notice", "status": 409},
            headers={"Access-Control-Allow-Origin": customer},
        ),
        times=1,
    )
    with page.expect_request("**/api/v1/sites/optingo/banner*"):
        first_layer(page).get_by_role("button", name="Accept all").click()
    expect(first_layer(page)).to_be_visible()
    with page.expect_response("**/api/v1/sites/optingo/consents") as answer:
        first_layer(page).get_by_role("button", name="Accept all").click()
    assert answer.value.status == 201
    expect(first_layer(page)).to_be_hidden()

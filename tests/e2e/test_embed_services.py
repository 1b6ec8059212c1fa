"""Per-service choices in the embed: a switch per service under its purpose, gating by service.

Optingo's notice lists three ad networks under its advertising (remarketing) purpose; the
customer page gates one script per network (`data-zgoda-service`), one by the whole purpose,
and one by a service under the wrong purpose (which never runs).
"""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import BrowserContext, Locator, Page, expect

from tests.e2e.customer.banner import first_layer, preferences, reopen_button
from tests.e2e.test_embed import OPTIONAL, SERVICES, click_and_record, payload_of

AD_PURPOSE = "Advertising (remarketing)"
NETWORKS = {
    "advertising.facebook_ads": "Facebook Ads",
    "advertising.linkedin_ads": "LinkedIn Ads",
    "advertising.google_ads": "Google Ads (Google AdWords)",
}


@pytest.fixture
def page(context: BrowserContext, errors: list[str]) -> Page:
    return context.new_page()


def open_services_page(page: Page, customer: str, query: str = "lang=en") -> None:
    page.goto(f"{customer}/services.html?{query}")
    expect(first_layer(page)).to_be_visible()


def open_settings(page: Page) -> Locator:
    first_layer(page).get_by_role("button", name="Settings").click()
    dialog = preferences(page)
    expect(dialog).to_be_visible()
    return dialog


def ran_after_a_moment(page: Page) -> list[str]:
    page.wait_for_timeout(300)  # gated scripts run right after the frame that hid the banner
    ran: list[str] = page.evaluate("window.ran")
    return ran


def test_the_preferences_layer_offers_a_switch_per_service_under_its_purpose(
    customer: str, page: Page
) -> None:
    open_services_page(page, customer)
    dialog = open_settings(page)
    services = dialog.get_by_role("list", name=AD_PURPOSE)
    expect(services.get_by_role("checkbox")).to_have_count(len(NETWORKS))
    purpose = dialog.get_by_role("checkbox", name=AD_PURPOSE, exact=True)
    expect(purpose).not_to_be_checked()
    # One service on: the purpose shows as partly on ("mixed" to assistive technology).
    services.get_by_role("checkbox", name="Facebook Ads").check()
    expect(purpose).to_be_checked(indeterminate=True)
    # The purpose's switch sets all its services; all on is the purpose on.
    purpose.check()
    for name in NETWORKS.values():
        expect(services.get_by_role("checkbox", name=name)).to_be_checked()
    expect(purpose).to_be_checked()
    services.get_by_role("checkbox", name="LinkedIn Ads").uncheck()
    expect(purpose).to_be_checked(indeterminate=True)
    purpose.click()  # from mixed, a click turns the purpose on (the browser's rule): all on
    for name in NETWORKS.values():
        expect(services.get_by_role("checkbox", name=name)).to_be_checked()
    purpose.click()  # and off again: all off
    for name in NETWORKS.values():
        expect(services.get_by_role("checkbox", name=name)).not_to_be_checked()
    expect(purpose).not_to_be_checked()


def test_a_visitor_may_allow_one_ad_network_and_refuse_the_others(
    customer: str, page: Page
) -> None:
    open_services_page(page, customer)
    dialog = open_settings(page)
    dialog.get_by_role("list", name=AD_PURPOSE).get_by_role("checkbox", name="Facebook Ads").check()
    answer = click_and_record(page, dialog.get_by_role("button", name="Save choices"))
    expected = {"necessary": True} | dict.fromkeys([*OPTIONAL, *SERVICES], False)
    expected["advertising.facebook_ads"] = True
    assert answer["choices"] == expected
    assert payload_of(answer["token"])["ch"] == {k: int(v) for k, v in expected.items()}
    # Only the allowed network's script runs; the purpose as a whole stays refused.
    assert ran_after_a_moment(page) == ["facebook"]
    assert page.evaluate("[Zgoda.get('advertising.facebook_ads'), Zgoda.get('advertising')]") == [
        True,
        False,
    ]
    expect(page.locator("#google-frame")).not_to_have_attribute("src", "/ad.html")
    # A returning visitor: the stored choice gates the same way at once, and the layer shows it.
    page.wait_for_function("document.cookie.includes('zgoda_consent=')")
    page.reload()
    page.wait_for_function("window.ran.length > 0")
    assert ran_after_a_moment(page) == ["facebook"]
    reopen_button(page).click()
    services = preferences(page).get_by_role("list", name=AD_PURPOSE)
    expect(services.get_by_role("checkbox", name="Facebook Ads")).to_be_checked()
    expect(services.get_by_role("checkbox", name="Google Ads (Google AdWords)")).not_to_be_checked()
    purpose = preferences(page).get_by_role("checkbox", name=AD_PURPOSE, exact=True)
    expect(purpose).to_be_checked(indeterminate=True)


def test_accept_all_allows_every_service_and_reject_all_refuses_them_again(
    customer: str, page: Page
) -> None:
    open_services_page(page, customer)
    answer = click_and_record(page, first_layer(page).get_by_role("button", name="Accept all"))
    assert all(answer["choices"][key] for key in SERVICES)
    assert sorted(ran_after_a_moment(page)) == ["advertising", "facebook", "google", "linkedin"]
    frame = page.locator("#google-frame")
    expect(frame).to_have_attribute("src", "/ad.html")
    reopen_button(page).click()
    answer = click_and_record(page, preferences(page).get_by_role("button", name="Reject all"))
    assert not any(answer["choices"][key] for key in [*OPTIONAL, *SERVICES])
    # A frame gated by a refused service is unloaded.
    expect(frame).to_have_attribute("src", "about:blank")


def test_the_sites_code_can_accept_one_service(customer: str, page: Page) -> None:
    open_services_page(page, customer)
    with page.expect_response("**/consents") as answer:
        page.evaluate("Zgoda.accept(['advertising.google_ads'])")
    recorded: dict[str, Any] = answer.value.json()
    assert recorded["choices"]["advertising.google_ads"] is True
    assert not recorded["choices"]["advertising"] and not recorded["choices"]["statistics"]
    assert ran_after_a_moment(page) == ["google"]
    events = page.evaluate(
        "dataLayer.filter(e => e && e.event === 'zgoda_consent').map(e => e.zgoda)"
    )
    assert "advertising.google_ads" in events[-1]["granted"]
    assert events[-1]["changed"] == ["advertising.google_ads"]


def test_a_site_that_lists_no_services_shows_no_service_switches(customer: str, page: Page) -> None:
    open_services_page(page, customer, "lang=en&site=xopero")
    dialog = open_settings(page)
    expect(dialog.locator("ul.services")).to_have_count(0)
    answer = click_and_record(page, dialog.get_by_role("button", name="Accept all"))
    assert not any("." in key for key in answer["choices"])

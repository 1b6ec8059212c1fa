"""The embed's start guard and its guarded storage: only a real Zgoda instance stops it; anything
else named Zgoda gets a warning and the banner still works; so does a page that blocks cookies
and localStorage (the choice then lasts as long as the page)."""

from __future__ import annotations

import pytest
from playwright.sync_api import BrowserContext, ConsoleMessage, Page, expect

from tests.e2e.customer.banner import first_layer, open_shop, preferences
from tests.e2e.test_embed import wait_for_ran

BLOCKED_STORAGE = """
Object.defineProperty(Document.prototype, 'cookie', {
    get() { throw new DOMException('cookies are blocked', 'SecurityError'); },
    set() { throw new DOMException('cookies are blocked', 'SecurityError'); },
});
Object.defineProperty(window, 'localStorage', {
    get() { throw new DOMException('storage is blocked', 'SecurityError'); },
});
"""


@pytest.fixture
def page(context: BrowserContext, errors: list[str]) -> Page:
    return context.new_page()


@pytest.fixture
def warnings(page: Page) -> list[str]:
    found: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "warning":
            found.append(message.text)

    page.on("console", on_console)
    return found


def accept_all_works(page: Page) -> None:
    with page.expect_response("**/consents") as answer:
        first_layer(page).get_by_role("button", name="Accept all").click()
    assert answer.value.status == 201
    expect(first_layer(page)).to_be_hidden()
    assert any(tag.startswith("statistics") for tag in wait_for_ran(page, 2))


def test_a_page_element_named_zgoda_does_not_stop_the_banner(
    customer: str, page: Page, warnings: list[str]
) -> None:
    page.goto(f"{customer}/guard.html?lang=en")
    expect(first_layer(page)).to_be_visible()
    assert any("window.Zgoda is taken" in w for w in warnings)
    assert page.evaluate("typeof Zgoda.get") == "function"
    accept_all_works(page)
    assert page.evaluate("Zgoda.get('statistics')")
    assert page.evaluate("document.getElementById('Zgoda').isConnected")  # left alone


@pytest.mark.parametrize(
    "taken",
    [
        "window.Zgoda = {version: 'someone else'}",
        "Object.defineProperty(window, 'Zgoda', {value: 'fixed', writable: false})",
    ],
    ids=["a global", "a read-only global"],
)
def test_another_global_named_zgoda_gets_a_warning_and_the_banner_runs(
    customer: str, page: Page, warnings: list[str], taken: str
) -> None:
    page.add_init_script(taken)
    open_shop(page, customer)
    assert any("window.Zgoda" in w for w in warnings)
    accept_all_works(page)
    if "writable" not in taken:
        assert page.evaluate("Zgoda.get('statistics')")


def test_a_second_copy_of_the_embed_stands_down(customer: str, page: Page) -> None:
    open_shop(page, customer)
    page.evaluate(
        """src => new Promise(done => {
            const s = document.createElement('script');
            s.src = src; s.dataset.site = 'optingo'; s.onload = done;
            document.head.append(s);
        })""",
        page.locator("script[data-site]").first.get_attribute("src"),
    )
    assert page.locator("zgoda-consent").count() == 1


def test_blocked_cookies_and_storage_still_give_a_working_banner(customer: str, page: Page) -> None:
    page.add_init_script(BLOCKED_STORAGE)
    open_shop(page, customer)
    accept_all_works(page)
    assert page.evaluate("Zgoda.get('advertising')")
    # nothing could be stored: the choice holds for this page, the settings still open
    page.evaluate("Zgoda.open()")
    expect(preferences(page).get_by_role("checkbox", name="Statistics")).to_be_checked()

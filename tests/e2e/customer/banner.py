"""Where the embed's parts are on a page, for the browser tests (Playwright pierces the shadow root)."""

from __future__ import annotations

from playwright.sync_api import Locator, Page, expect


def first_layer(page: Page) -> Locator:
    return page.locator("zgoda-consent div.banner")


def preferences(page: Page) -> Locator:
    return page.locator("zgoda-consent dialog")


def reopen_button(page: Page) -> Locator:
    return page.locator("zgoda-consent button.reopen")


def open_shop(page: Page, origin: str, query: str = "lang=en") -> None:
    page.goto(f"{origin}/shop.html?{query}")
    expect(first_layer(page)).to_be_visible()

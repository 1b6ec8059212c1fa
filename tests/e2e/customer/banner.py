"""Where the embed's parts are on a page, for the browser tests (Playwright pierces the shadow root)."""

from __future__ import annotations

from playwright.sync_api import BrowserContext, ConsoleMessage, Locator, Page, expect


def first_layer(page: Page) -> Locator:
    return page.locator("zgoda-consent div.banner")


def preferences(page: Page) -> Locator:
    return page.locator("zgoda-consent dialog")


def reopen_button(page: Page) -> Locator:
    return page.locator("zgoda-consent button.reopen")


def open_shop(page: Page, origin: str, query: str = "lang=en") -> None:
    page.goto(f"{origin}/shop.html?{query}")
    expect(first_layer(page)).to_be_visible()


def watch_errors(context: BrowserContext) -> list[str]:
    """Collect uncaught errors and console errors of the context's pages from now on.

    Chromium's own "Failed to load resource" lines (a refused or aborted request) are not the
    embed's errors and are left out.
    """
    found: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            found.append(message.text)

    def watch(page: Page) -> None:
        page.on("pageerror", lambda error: found.append(f"uncaught: {error}"))
        page.on("console", on_console)

    context.on("page", watch)
    return found

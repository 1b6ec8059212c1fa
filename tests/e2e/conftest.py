"""Browser fixtures: a real Zgoda server process and Debian's Chromium driven by Playwright."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, sync_playwright

from tests.conftest import ROOT
from tests.e2e.customer.banner import watch_errors
from tests.e2e.customer.server import customer_site
from tests.servers import free_port, local_zgoda

CHROMIUM = "/usr/bin/chromium"
AXE_SCRIPT = ROOT / "node_modules" / "axe-core" / "axe.min.js"
ARTIFACTS = ROOT / "tests" / "artifacts"
# Flags the sandbox needs: no setuid sandbox as root, no calls home on a closed network.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


# The embed's "customer" website: another host, so another origin and another cookie jar.
CUSTOMER_HOST = "127.0.0.2"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test in this folder drives Chromium: `-m "not browser"` leaves them out."""
    here = Path(__file__).parent
    for item in items:
        if here in item.path.parents:
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def customer_origin() -> str:
    """The origin the customer pages will be served from (Zgoda's API must allow it)."""
    return f"http://{CUSTOMER_HOST}:{free_port(CUSTOMER_HOST)}"


@pytest.fixture(scope="session")
def zgoda_server(tmp_path_factory: pytest.TempPathFactory, customer_origin: str) -> Iterator[str]:
    """A Zgoda server process on a free loopback port, with its own database; yields its URL."""
    with local_zgoda(tmp_path_factory.mktemp("server"), ALLOWED_ORIGINS=customer_origin) as url:
        yield url


@pytest.fixture(scope="session")
def customer(customer_origin: str, zgoda_server: str) -> Iterator[str]:
    """The customer pages (tests/e2e/customer/), embedding Zgoda from `zgoda_server`."""
    with customer_site(customer_origin, zgoda_server) as origin:
        yield origin


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs Debian's chromium package")
    browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    yield browser
    browser.close()


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    """A fresh browser context (its own cookies and storage) in British English."""
    context = browser.new_context(locale="en-GB")
    yield context
    context.close()


@pytest.fixture
def errors(context: BrowserContext) -> Iterator[list[str]]:
    """Uncaught errors and console errors of every page in the context; none by the end.

    A test module that wants every page watched asks for it in its own `page` fixture.
    """
    found = watch_errors(context)
    yield found
    assert found == []


@pytest.fixture
def page(context: BrowserContext) -> Page:
    return context.new_page()

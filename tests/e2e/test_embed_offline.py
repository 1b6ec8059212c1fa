"""The embed when Zgoda's API is slow, refuses or is down: the choice applies at once, is recorded
later (retries, a queue across page loads), and the settings stay reachable without a configuration.

Every test listens for uncaught errors and console errors; there must be none.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from playwright.sync_api import BrowserContext, Page, Route, expect

from tests.e2e.customer.banner import (
    first_layer,
    open_shop,
    preferences,
    reopen_button,
)
from tests.e2e.test_embed import (
    OPTIONAL,
    SERVICES,
    choices_in,
    consent_cookie,
    decided,
    payload_of,
    wait_for_ran,
)

CONSENTS = "**/api/v1/sites/optingo/consents"
BANNER = "**/api/v1/sites/optingo/banner*"


@pytest.fixture
def page(context: BrowserContext, errors: list[str]) -> Page:
    return context.new_page()


def refuse(status: int, customer: str) -> Callable[[Route], None]:
    """A route handler answering every consent request with `status`."""

    def handler(route: Route) -> None:
        route.fulfill(
            status=status,
            json={"error": "unavailable", "status": status},
            headers={"Access-Control-Allow-Origin": customer},
        )

    return handler


def wait_for_cookie(context: BrowserContext, timeout: float = 20) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        cookie = consent_cookie(context)
        if cookie:
            return cookie
        time.sleep(0.1)
    raise AssertionError("the choice was never recorded")


def assert_recorded(page: Page, zgoda: str, expected: dict[str, int]) -> None:
    """The zgoda_consent cookie appears and Zgoda's API vouches for its token."""
    cookie = wait_for_cookie(page.context)
    assert payload_of(cookie["value"])["ch"] == expected
    verified = page.request.post(
        f"{zgoda}/api/v1/sites/optingo/verify", data={"token": cookie["value"]}
    ).json()
    assert verified["status"] == "valid"


EVERYTHING = dict.fromkeys(["necessary", *OPTIONAL, *SERVICES], 1)


def accept_all_at_once(page: Page) -> None:
    """Accept all hides the banner at once and applies the choice before any answer."""
    first_layer(page).get_by_role("button", name="Accept all").click()
    assert first_layer(page).evaluate("e => e.hidden")  # right after the click
    assert page.evaluate("Zgoda.get('statistics')")
    assert wait_for_ran(page, 5)[-1] == "statistics-inline-2"
    assert page.evaluate("window.changes") == [
        dict.fromkeys(["necessary", *OPTIONAL, *SERVICES], True)
    ]
    update = "dataLayer.filter(e => e[0] === 'consent' && e[1] === 'update').at(-1)"
    assert page.evaluate(f"{update}[2].analytics_storage") == "granted"
    expect(reopen_button(page)).to_be_visible()


@pytest.mark.parametrize("status", [503, 429])
def test_a_refusing_api_never_keeps_the_banner_up_and_the_choice_is_recorded_later(
    customer: str, zgoda_server: str, page: Page, status: int
) -> None:
    open_shop(page, customer)
    attempts: list[float] = []
    page.on("request", lambda r: attempts.append(time.monotonic()) if r.method == "POST" else None)
    page.route(CONSENTS, refuse(status, customer))
    accept_all_at_once(page)
    page.wait_for_timeout(3500)  # tried at 0 s, 1 s, 3 s: backing off
    assert 2 <= len(attempts) <= 4, attempts
    assert consent_cookie(page.context) is None
    with page.expect_response(
        lambda r: r.url.endswith("/consents") and r.status == 201, timeout=20_000
    ) as answer:
        page.unroute(CONSENTS)
    assert_recorded(page, zgoda_server, EVERYTHING)
    expect(first_layer(page)).to_be_hidden()
    # The log says when the visitor chose (the click) and when the choice arrived.
    times = {
        k: datetime.fromisoformat(answer.value.json()[k]) for k in ("chosen_at", "recorded_at")
    }
    assert times["recorded_at"] - times["chosen_at"] >= timedelta(seconds=3)


def test_a_retry_after_longer_than_the_backoff_is_waited_for(
    customer: str, zgoda_server: str, page: Page
) -> None:
    open_shop(page, customer)
    attempts: list[float] = []
    page.on("request", lambda r: attempts.append(time.monotonic()) if r.method == "POST" else None)

    def limited(route: Route) -> None:
        route.fulfill(
            status=429,
            json={"error": "too_many_requests", "status": 429},
            headers={
                "Access-Control-Allow-Origin": customer,
                "Access-Control-Expose-Headers": "Retry-After",
                "Retry-After": "3",
            },
        )

    page.route(CONSENTS, limited, times=1)
    accept_all_at_once(page)
    assert_recorded(page, zgoda_server, EVERYTHING)
    # The backoff alone would have tried again after 1 s.
    assert len(attempts) == 2 and attempts[1] - attempts[0] >= 2.9, attempts


def test_an_aborted_connection_is_retried(customer: str, zgoda_server: str, page: Page) -> None:
    open_shop(page, customer)
    page.route(CONSENTS, lambda route: route.abort())
    accept_all_at_once(page)
    page.wait_for_timeout(1500)
    page.unroute(CONSENTS)
    assert_recorded(page, zgoda_server, EVERYTHING)


def test_a_slow_answer_does_not_hold_the_banner(
    customer: str, zgoda_server: str, page: Page
) -> None:
    open_shop(page, customer)
    held: list[Route] = []
    page.route(CONSENTS, lambda route: held.append(route))
    accept_all_at_once(page)
    page.wait_for_timeout(3000)
    assert len(held) == 1  # waiting for its answer, not retried meanwhile
    assert consent_cookie(page.context) is None
    held[0].continue_()
    assert_recorded(page, zgoda_server, EVERYTHING)


def test_the_queue_outlives_a_reload_while_the_api_is_down(
    customer: str, zgoda_server: str, page: Page
) -> None:
    open_shop(page, customer)
    page.route(CONSENTS, refuse(503, customer))
    first_layer(page).get_by_role("button", name="Settings").click()
    preferences(page).get_by_role("checkbox", name="Statistics").check()
    preferences(page).get_by_role("button", name="Save choices").click()
    expect(preferences(page)).to_be_hidden()
    page.reload()
    # the queued choice applies on the new page, with no banner
    assert wait_for_ran(page, 4) == [
        "statistics-inline-1",
        "statistics-external",
        "statistics-inline-2",
        "necessary",
    ]
    assert choices_in(page) == {p: p == "statistics" for p in OPTIONAL}
    expect(reopen_button(page)).to_be_visible()
    expect(first_layer(page)).to_be_hidden()
    assert consent_cookie(page.context) is None
    page.unroute(CONSENTS)
    assert_recorded(
        page,
        zgoda_server,
        {"necessary": 1} | {k: int(v) for k, v in decided({"statistics"}).items()},
    )
    assert page.evaluate("localStorage.getItem('zgoda:optingo')") is None  # the queue is empty


def test_only_the_latest_choice_waits_in_the_queue(
    customer: str, zgoda_server: str, page: Page
) -> None:
    open_shop(page, customer)
    page.route(CONSENTS, refuse(503, customer))
    first_layer(page).get_by_role("button", name="Accept all").click()
    reopen_button(page).click()
    preferences(page).get_by_role("button", name="Reject all").click()
    assert not page.evaluate("Zgoda.get('statistics')")
    queued = page.evaluate("JSON.parse(localStorage.getItem('zgoda:optingo'))")
    assert queued["body"]["choices"] == decided(set())
    page.unroute(CONSENTS)
    assert_recorded(page, zgoda_server, {"necessary": 1} | dict.fromkeys([*OPTIONAL, *SERVICES], 0))


# --- a way back without the banner configuration ----------------------------------------


def record_accept_all(page: Page, customer: str) -> None:
    open_shop(page, customer)
    with page.expect_response(CONSENTS):
        first_layer(page).get_by_role("button", name="Accept all").click()
    wait_for_cookie(page.context)


def test_the_settings_open_from_the_last_configuration_seen(customer: str, page: Page) -> None:
    record_accept_all(page, customer)
    page.route(BANNER, lambda route: route.abort())
    page.reload()
    wait_for_ran(page, 5)
    expect(reopen_button(page)).to_be_visible()
    reopen_button(page).click()
    dialog = preferences(page)
    expect(dialog.get_by_role("checkbox", name="Site configuration")).to_be_checked()
    dialog.get_by_role("button", name="Close").click()
    page.evaluate("Zgoda.open()")
    expect(dialog).to_be_visible()


def test_a_built_in_fallback_offers_reject_all_for_the_stored_purposes(
    customer: str, zgoda_server: str, page: Page
) -> None:
    record_accept_all(page, customer)
    page.evaluate("localStorage.clear()")  # no configuration kept either
    page.route(BANNER, lambda route: route.fulfill(status=503, body="down"))
    page.reload()
    wait_for_ran(page, 5)
    reopen_button(page).click()
    dialog = preferences(page)
    expect(dialog.get_by_role("heading", name="Cookie settings")).to_be_visible()
    expect(dialog.get_by_role("checkbox", name="statistics")).to_be_checked()
    with page.expect_response(CONSENTS) as answer:
        dialog.get_by_role("button", name="Reject all").click()
    assert answer.value.status == 201
    expect(dialog).to_be_hidden()
    assert not page.evaluate("Zgoda.get('statistics')")
    page.wait_for_timeout(200)  # the answer's token replaces the cookie
    cookie = consent_cookie(page.context)
    assert cookie is not None
    assert payload_of(cookie["value"])["ch"] == {"necessary": 1} | dict.fromkeys(
        [*OPTIONAL, *SERVICES], 0
    )


def test_without_any_configuration_open_fails_quietly(customer: str, page: Page) -> None:
    page.route(BANNER, lambda route: route.abort())
    page.goto(f"{customer}/shop.html?lang=en")
    page.wait_for_timeout(300)
    assert page.evaluate("Zgoda.open().then(() => 'settled')") == "settled"
    assert page.evaluate("window.ran") == []  # nothing runs without a choice

"""The consent record and the dashboard in Chromium: WCAG by axe-core, no CSP violation, screenshots."""

from __future__ import annotations

import json
import random
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Page

from tests.conftest import LANGS
from tests.e2e.conftest import ARTIFACTS
from tests.e2e.test_pages_a11y import axe_violations
from tests.servers import flask_command, free_port, running_server, server_env, upgrade_database
from zgoda.store.db import make_engine
from zgoda.store.event import ConsentEvent
from zgoda.store.keys import create_key
from zgoda.store.log import append_event

SITE = "optingo"
OPTIONAL = (
    "statistics",
    "functional",
    "authentication",
    "analytics",
    "advertising",
    "social_media",
)
# How likely a visitor is to allow each purpose when choosing per purpose: distinct lines.
LIKELIHOOD = dict(zip(OPTIONAL, (0.7, 0.55, 0.4, 0.3, 0.15, 0.05), strict=True))


@dataclass(frozen=True)
class AdminServer:
    url: str
    api_key: str


def simulated_events(days: int = 30, seed: int = 5) -> Iterator[ConsentEvent]:
    """A month of plausible decisions: a fixed seed, so the screenshots are repeatable."""
    chance = random.Random(seed)
    today = datetime.now(UTC).date()
    for offset in range(days - 1, -1, -1):
        day = today - timedelta(days=offset)
        for number in range(chance.randint(4, 14)):
            action = chance.choices(
                ["accept_all", "reject_all", "custom", "withdraw"], [5, 3, 3, 1]
            )[0]
            if action == "custom":
                choices = {p: chance.random() < LIKELIHOOD[p] for p in OPTIONAL}
            else:
                choices = dict.fromkeys(OPTIONAL, action == "accept_all")
            moment = datetime.combine(day, time(8), UTC) + timedelta(minutes=37 * number)
            yield ConsentEvent(
                site_id=SITE,
                consent_id=f"00000000-0000-4000-8000-{offset:06d}{number:06d}",
                notice_version="0" * 16,
                content_hash="0" * 16,
                locale=chance.choice(["pl", "pl", "en"]),
                action=action,
                choices={"necessary": True} | choices,
                source=chance.choice(["banner", "banner", "preferences_page"]),
                gpc=False,
                user_agent_family="Chrome",
                ip_prefix=None,
                recorded_at=min(moment, datetime.now(UTC)),
                expires_at=moment + timedelta(days=180),
            )


@pytest.fixture(scope="module")
def admin_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AdminServer]:
    """A Zgoda server on a log with a month of decisions, and an API key for optingo."""
    workdir = tmp_path_factory.mktemp("admin-server")
    database_url = f"sqlite:///{workdir / 'zgoda.sqlite3'}"
    port = free_port()
    env = server_env(DATABASE_URL=database_url, PUBLIC_URL=f"http://127.0.0.1:{port}")
    env["FLASK_DEBUG"] = "0"
    upgrade_database(env)
    engine = make_engine(database_url)
    for event in simulated_events():
        append_event(engine, event)
    api_key = create_key(engine, SITE, "e2e")
    engine.dispose()
    with running_server(flask_command(port), port, env, workdir / "server.log"):
        yield AdminServer(f"http://127.0.0.1:{port}", api_key)


def api(server: AdminServer, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(
        f"{server.url}/api/v1/sites/{SITE}{path}",
        data=data,
        headers={"Content-Type": "application/json"},
        method="GET" if body is None else "POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        answer: dict[str, Any] = json.load(response)
    return answer


@pytest.fixture(scope="module")
def consent(admin_server: AdminServer) -> dict[str, Any]:
    """A consent with a history: everything, then statistics only, then withdrawn in Polish."""
    version = api(admin_server, "/banner")["notice_version"]
    first = api(
        admin_server,
        "/consents",
        {"action": "accept_all", "notice_version": version, "locale": "en"},
    )
    choices = dict.fromkeys(OPTIONAL, False) | {"statistics": True}
    second = api(admin_server, "/consents", {"action": "custom", "choices": choices,
                 "token": first["token"], "notice_version": version, "locale": "en"})  # fmt: skip
    return api(
        admin_server,
        "/consents",
        {"action": "custom", "choices": choices | {"analytics": True}, "token": second["token"],
         "notice_version": version, "locale": "pl", "source": "banner"},
    )  # fmt: skip


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    # axe is injected as an inline script, which our own CSP rightly forbids.
    context = browser.new_context(bypass_csp=True, viewport={"width": 1100, "height": 900})
    yield context
    context.close()


def sign_in(page: Page, server: AdminServer, lang: str, key: str | None = None) -> None:
    page.goto(f"{server.url}/admin/{SITE}?lang={lang}")
    page.locator("#api-key").fill(key or server.api_key)
    page.locator(".sign-in-form button[type=submit]").click()
    page.wait_for_load_state()


@pytest.mark.parametrize("lang", LANGS)
def test_receipt_page_has_no_axe_violations(
    admin_server: AdminServer, consent: dict[str, Any], context: BrowserContext, lang: str
) -> None:
    page = context.new_page()
    url = f"{admin_server.url}/{SITE}/consent/{consent['consent_id']}"
    response = page.goto(f"{url}?token={consent['token']}&lang={lang}")
    assert response is not None and response.status == 200
    assert page.url == f"{url}?lang={lang}", "the token does not stay in the address bar"
    assert page.get_attribute("html", "lang") == lang
    assert page.locator("#history tbody tr").count() == 3
    assert axe_violations(page) == []
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"receipt-{lang}.png"), full_page=True)


@pytest.mark.parametrize("lang", LANGS)
def test_dashboard_and_sign_in_have_no_axe_violations(
    admin_server: AdminServer, context: BrowserContext, lang: str
) -> None:
    page = context.new_page()
    sign_in(page, admin_server, lang, key="zk_wrong_key")
    assert page.locator("#sign-in-problem").is_visible()
    assert axe_violations(page) == []

    sign_in(page, admin_server, lang)
    assert page.locator("svg.chart").count() == 3
    assert page.get_attribute("html", "lang") == lang
    assert axe_violations(page) == []
    for chart in page.locator("svg.chart").all():
        box = chart.bounding_box()
        assert box is not None and box["width"] > 600 and box["height"] > 60
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"dashboard-{lang}.png"), full_page=True)
    page.set_viewport_size({"width": 320, "height": 800})
    assert page.evaluate("document.documentElement.scrollWidth") <= 320
    page.screenshot(path=str(ARTIFACTS / f"dashboard-320-{lang}.png"), full_page=False)


def test_nothing_is_blocked_by_the_content_security_policy(
    admin_server: AdminServer, consent: dict[str, Any], browser: Browser
) -> None:
    context = browser.new_context()  # the real CSP this time
    problems: list[str] = []

    def watch(message: ConsoleMessage) -> None:
        if message.type in ("error", "warning"):
            problems.append(f"{message.type}: {message.text}")

    page = context.new_page()
    page.on("console", watch)
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    page.add_init_script(
        "document.addEventListener('securitypolicyviolation',"
        " e => console.error('CSP violation: ' + e.violatedDirective + ' ' + e.blockedURI))"
    )
    url = f"{admin_server.url}/{SITE}/consent/{consent['consent_id']}"
    page.goto(f"{url}?token={consent['token']}&lang=en")
    assert page.locator("h1").inner_text() == "Your consent record"
    sign_in(page, admin_server, "en")
    assert page.locator("svg.chart").count() == 3
    # The site's stylesheet applied: the charts are scaled to the page, not drawn at 300x150.
    box = page.locator("#chart-optin").bounding_box()
    assert box is not None and box["width"] > 600
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_load_state()
    assert page.locator("#api-key").is_visible()
    context.close()
    assert problems == []

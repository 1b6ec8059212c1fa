"""The embed on a customer website, in real Chromium: choices, gating, persistence, GPC, CSP.

The customer pages (tests/e2e/customer/) live on 127.0.0.2, Zgoda on 127.0.0.1:
another origin and another cookie jar, as for a real website.
"""

from __future__ import annotations

import base64
import json
import shutil
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import yaml
from playwright.sync_api import Browser, BrowserContext, Locator, Page, expect

from tests.conftest import NOTICES_DIR
from tests.e2e.conftest import ARTIFACTS
from tests.e2e.customer.banner import first_layer, open_shop, preferences, reopen_button
from tests.servers import local_zgoda

OPTIONAL = [
    "statistics",
    "functional",
    "authentication",
    "analytics",
    "advertising",
    "social_media",
]
# Optingo's advertising purpose lists its ad networks as services: each a choice of its own
# under the key "purpose.service"; the purpose is granted when all of its services are.
SERVICES = ["advertising.facebook_ads", "advertising.linkedin_ads", "advertising.google_ads"]
GPC_ON = "Object.defineProperty(Navigator.prototype, 'globalPrivacyControl', {get: () => true})"
DENIED_DEFAULT = {
    "ad_storage": "denied",
    "ad_user_data": "denied",
    "ad_personalization": "denied",
    "analytics_storage": "denied",
    "functionality_storage": "denied",
    "personalization_storage": "denied",
    "security_storage": "granted",
    "wait_for_update": 500,
}


# --- helpers ---------------------------------------------------------------------------


def click_and_record(page: Page, button: Locator) -> dict[str, Any]:
    """Click a choice button; the answer of the consent API, which must be 201."""
    with page.expect_response("**/consents") as answer:
        button.click()
    assert answer.value.status == 201
    body: dict[str, Any] = answer.value.json()
    return body


def payload_of(token: str) -> dict[str, Any]:
    encoded = token.split(".")[0]
    decoded: dict[str, Any] = json.loads(
        base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
    )
    return decoded


def consent_cookie(context: BrowserContext) -> dict[str, Any] | None:
    return next((dict(c) for c in context.cookies() if c["name"] == "zgoda_consent"), None)


def ran(page: Page) -> list[str]:
    result: list[str] = page.evaluate("window.ran")
    return result


def consent_commands(page: Page) -> list[list[Any]]:
    result: list[list[Any]] = page.evaluate(
        "dataLayer.map(a => Array.from(a)).filter(a => a[0] === 'consent')"
    )
    return result


def wait_for_ran(page: Page, count: int) -> list[str]:
    page.wait_for_function("n => window.ran.length >= n", arg=count)
    time.sleep(0.1)  # anything that should not run has had its chance too
    return ran(page)


def decided(granted: set[str] | tuple[str, ...]) -> dict[str, bool]:
    """Every choice a visitor makes (purposes, then services) with `granted` purposes on."""
    return {key: key.split(".")[0] in granted for key in [*OPTIONAL, *SERVICES]}


def choices_in(page: Page) -> dict[str, bool]:
    result: dict[str, bool] = page.evaluate(
        "ids => Object.fromEntries(ids.map(id => [id, Zgoda.get(id)]))", OPTIONAL
    )
    return result


# --- fixtures --------------------------------------------------------------------------


def edited_notices(target: Path) -> Path:
    """A copy of notices/ whose statistics and advertising purposes changed (and name cookies)."""
    shutil.copytree(NOTICES_DIR, target)
    path = target / "optingo" / "notice.yaml"
    notice = yaml.safe_load(path.read_text("utf-8"))
    for purpose in notice["cookies"]["purposes"]:
        if purpose["id"] == "statistics":
            purpose["description"] = {
                "pl": "Statystyki odwiedzin w narzędziu Zgoda Stats.",
                "en": "Visit statistics in the Zgoda Stats tool.",
            }
            purpose["cookies"] = [
                {"name": name, "provider": "Zgoda Stats", "party": "first", "duration": "session"}
                for name in ("_zstat", "_zstat_*")
            ]
        if purpose["id"] == "advertising":
            purpose["cookies"].append(
                {"name": "_zad", "provider": "Optingo", "party": "first", "duration": "session"}
            )
    path.write_text(yaml.safe_dump(notice, allow_unicode=True, sort_keys=False), "utf-8")
    return target


@pytest.fixture(scope="module")
def edited_zgoda(tmp_path_factory: pytest.TempPathFactory, customer_origin: str) -> Iterator[str]:
    """A second Zgoda server whose notice changed since the main one: a newer notice version."""
    workdir = tmp_path_factory.mktemp("edited-server")
    notices = str(edited_notices(workdir / "notices"))
    with local_zgoda(workdir, NOTICES_DIR=notices, ALLOWED_ORIGINS=customer_origin) as url:
        yield url


# --- the first layer -------------------------------------------------------------------


def test_first_layer_offers_three_equal_choices_and_leaves_the_page_usable(
    customer: str, zgoda_server: str, page: Page
) -> None:
    page.add_init_script("window.globalsBefore = Object.keys(window)")
    open_shop(page, customer)
    layer = first_layer(page)
    buttons = [
        layer.get_by_role("button", name=name) for name in ("Accept all", "Reject all", "Settings")
    ]
    boxes = [button.bounding_box() for button in buttons]
    assert all(box is not None for box in boxes)
    assert len({(round(b["width"]), round(b["height"])) for b in boxes if b}) == 1
    style = "e => ['backgroundColor', 'color', 'fontSize', 'fontWeight', 'borderTopColor', 'fontFamily'].map(p => getComputedStyle(e)[p])"
    styles = [button.evaluate(style) for button in buttons]
    assert styles[0] == styles[1] == styles[2]
    # the page's `* { font-family: Comic Sans }` and `button { width: 20px }` stay outside
    assert "Comic" not in styles[0][5]
    assert boxes[0] and boxes[0]["width"] > 100
    assert layer.get_by_role("link", name="Privacy notice").get_attribute("href") == (
        f"{zgoda_server}/optingo/privacy?lang=en"
    )
    assert layer.get_by_role("link", name="Cookie policy").get_attribute("href") == (
        f"{zgoda_server}/optingo/cookies?lang=en"
    )
    # no cookie wall: the page still works; only required purposes' tags ran
    page.locator("#page-button").click()
    assert ran(page) == ["necessary"]
    assert consent_commands(page) == [["consent", "default", DENIED_DEFAULT]]
    assert choices_in(page) == dict.fromkeys(OPTIONAL, False)
    assert consent_cookie(page.context) is None
    added = page.evaluate(
        "Object.keys(window).filter(k => !globalsBefore.includes(k) && isNaN(k))"  # not frames
    )
    # ran and changes are the test page's own; dataLayer is Google's
    assert sorted(added) == ["Zgoda", "changes", "dataLayer", "globalsBefore", "ran"]


def test_nothing_is_pre_ticked_and_required_purposes_are_always_on(
    customer: str, page: Page
) -> None:
    open_shop(page, customer)
    expect(page.get_by_role("dialog", name="Your privacy choices on Optingo")).to_be_visible()
    first_layer(page).get_by_role("button", name="Settings").click()
    dialog = preferences(page)
    expect(page.get_by_role("dialog", name="Cookie settings")).to_be_visible()
    expect(dialog).to_have_attribute("aria-modal", "true")
    for checkbox in dialog.get_by_role("checkbox").all():
        expect(checkbox).not_to_be_checked()
    assert dialog.get_by_role("checkbox").count() == len(OPTIONAL) + len(SERVICES)
    necessary = dialog.locator(".purpose").first
    expect(necessary.get_by_text("Always on")).to_be_visible()
    assert necessary.get_by_role("checkbox").count() == 0
    necessary.get_by_text("Cookies and services (2)").click()
    expect(necessary.get_by_text("zgoda_consent")).to_be_visible()
    expect(necessary.get_by_text("zgoda_lang")).to_be_visible()
    expect(necessary.get_by_text("Provider: Optingo").first).to_be_visible()


# --- recording a choice ----------------------------------------------------------------


def test_accept_all_runs_gated_tags_in_document_order_and_stores_a_first_party_cookie(
    customer: str, zgoda_server: str, page: Page
) -> None:
    open_shop(page, customer)
    page.evaluate("window.callbacks = []; Zgoda.onChange(c => window.callbacks.push(c))")
    answer = click_and_record(page, first_layer(page).get_by_role("button", name="Accept all"))
    assert wait_for_ran(page, 5) == [
        "necessary",
        "statistics-inline-1",
        "statistics-external",
        "advertising-inline",
        "statistics-inline-2",
    ]
    expect(page.locator("#ad-frame")).to_have_attribute("src", "/ad.html")
    expect(first_layer(page)).to_be_hidden()
    expect(reopen_button(page)).to_be_visible()
    assert choices_in(page) == dict.fromkeys(OPTIONAL, True)

    cookie = consent_cookie(page.context)
    assert cookie is not None
    payload = payload_of(cookie["value"])
    assert cookie["value"] == answer["token"]
    assert cookie["sameSite"] == "Lax" and cookie["path"] == "/" and not cookie["secure"]
    assert cookie["domain"] == "127.0.0.2"  # the website's own host, not Zgoda's
    assert cookie["expires"] == payload["exp"]
    assert payload["ch"] == dict.fromkeys(["necessary", *OPTIONAL, *SERVICES], 1)
    assert payload["gpc"] == 0

    update = dict(DENIED_DEFAULT, ad_storage="granted", ad_user_data="granted")
    update |= {"ad_personalization": "granted", "analytics_storage": "granted"}
    del update["wait_for_update"]
    assert consent_commands(page) == [
        ["consent", "default", DENIED_DEFAULT],
        ["consent", "update", update],
    ]
    every = dict.fromkeys(["necessary", *OPTIONAL, *SERVICES], True)
    assert page.evaluate("window.changes") == [every]
    assert page.evaluate("window.callbacks") == [every]

    verified = page.request.post(
        f"{zgoda_server}/api/v1/sites/optingo/verify", data={"token": cookie["value"]}
    ).json()
    assert verified["status"] == "valid"


def test_reject_all_runs_nothing_optional_and_denies_every_consent_type(
    customer: str, page: Page
) -> None:
    open_shop(page, customer)
    click_and_record(page, first_layer(page).get_by_role("button", name="Reject all"))
    expect(first_layer(page)).to_be_hidden()
    assert wait_for_ran(page, 1) == ["necessary"]
    cookie = consent_cookie(page.context)
    assert cookie is not None
    assert payload_of(cookie["value"])["ch"] == {"necessary": 1} | dict.fromkeys(
        [*OPTIONAL, *SERVICES], 0
    )
    update = {k: v for k, v in DENIED_DEFAULT.items() if k != "wait_for_update"}
    assert consent_commands(page)[-1] == ["consent", "update", update]
    assert page.locator("#ad-frame").get_attribute("src") is None


def test_a_custom_choice_runs_only_the_chosen_purpose(customer: str, page: Page) -> None:
    open_shop(page, customer)
    first_layer(page).get_by_role("button", name="Settings").click()
    dialog = preferences(page)
    dialog.get_by_role("checkbox", name="Statistics").check()
    with page.expect_request("**/consents") as sent:
        click_and_record(page, dialog.get_by_role("button", name="Save choices"))
    body = sent.value.post_data_json
    assert body["action"] == "custom" and body["source"] == "banner" and body["locale"] == "en"
    assert body["choices"] == decided({"statistics"})
    expect(dialog).to_be_hidden()
    assert wait_for_ran(page, 4) == [
        "necessary",
        "statistics-inline-1",
        "statistics-external",
        "statistics-inline-2",
    ]
    assert page.locator("#ad-frame").get_attribute("src") is None
    assert choices_in(page) == {p: p == "statistics" for p in OPTIONAL}
    assert consent_commands(page)[-1][2]["analytics_storage"] == "granted"
    assert consent_commands(page)[-1][2]["ad_storage"] == "denied"


def test_a_stale_answer_from_the_api_shows_the_current_banner_again(
    customer: str, page: Page
) -> None:
    open_shop(page, customer)
    banner_requests: list[str] = []
    page.on("request", lambda r: banner_requests.append(r.url) if "/banner" in r.url else None)
    page.route(
        "**/consents",
        lambda route: route.fulfill(
            status=409,
            json={"error": "stale_notice", "status": 409},
            headers={"Access-Control-Allow-Origin": customer},
        ),
        times=1,
    )
    with page.expect_request("**/banner*"):
        first_layer(page).get_by_role("button", name="Accept all").click()
    expect(first_layer(page)).to_be_visible()
    page.wait_for_timeout(200)
    assert len(banner_requests) == 1  # the configuration was fetched again
    assert consent_cookie(page.context) is None
    click_and_record(page, first_layer(page).get_by_role("button", name="Accept all"))
    expect(first_layer(page)).to_be_hidden()


# --- later visits ----------------------------------------------------------------------


def test_the_choice_applies_on_later_visits_without_any_network_request(
    customer: str, page: Page
) -> None:
    open_shop(page, customer)
    click_and_record(page, first_layer(page).get_by_role("button", name="Accept all"))
    wait_for_ran(page, 5)
    # Zgoda unreachable: the stored choice must apply without it.
    api_calls: list[str] = []
    page.route("**/api/v1/**", lambda route: (api_calls.append(route.request.url), route.abort()))
    page.reload()
    assert wait_for_ran(page, 5) == [
        "statistics-inline-1",
        "statistics-external",
        "advertising-inline",
        "statistics-inline-2",
        "necessary",
    ]
    assert choices_in(page) == dict.fromkeys(OPTIONAL, True)
    assert consent_commands(page)[1][1] == "update"
    page.wait_for_timeout(300)
    expect(first_layer(page)).to_be_hidden()
    assert not any("/consents" in url for url in api_calls)


def test_an_expired_choice_brings_the_banner_back(customer: str, page: Page) -> None:
    open_shop(page, customer)
    click_and_record(page, first_layer(page).get_by_role("button", name="Reject all"))
    cookie = consent_cookie(page.context)
    assert cookie is not None
    expires = datetime.fromtimestamp(payload_of(cookie["value"])["exp"], UTC)
    page.clock.set_fixed_time(expires + timedelta(minutes=1))
    page.reload()
    expect(first_layer(page)).to_be_visible()
    assert ran(page) == ["necessary"]
    first_layer(page).get_by_role("button", name="Settings").click()
    for checkbox in preferences(page).get_by_role("checkbox").all():
        expect(checkbox).not_to_be_checked()


def test_a_newer_notice_asks_again_only_about_the_purposes_that_changed(
    customer: str, edited_zgoda: str, page: Page
) -> None:
    open_shop(page, customer)
    first_layer(page).get_by_role("button", name="Settings").click()
    preferences(page).get_by_role("checkbox", name="Site configuration").check()
    first = click_and_record(page, preferences(page).get_by_role("button", name="Save choices"))

    # The same website now embeds a Zgoda whose notice changed statistics and advertising.
    open_shop(page, customer, f"lang=en&zgoda={quote(edited_zgoda)}")
    assert choices_in(page)["functional"]  # the old choice holds until the new one is made
    first_layer(page).get_by_role("button", name="Settings").click()
    dialog = preferences(page)
    expect(dialog.get_by_role("checkbox", name="Site configuration")).to_be_checked()
    expect(dialog.get_by_role("checkbox", name="Statistics")).not_to_be_checked()
    dialog.press("Escape")
    expect(dialog).to_be_hidden()

    answer = click_and_record(page, first_layer(page).get_by_role("button", name="Accept all"))
    assert answer["consent_id"] == first["consent_id"]
    assert answer["notice_version"] != first["notice_version"]
    changed = {"statistics", "advertising", "functional"}
    assert answer["choices"] == {"necessary": True} | decided(changed)


def test_withdrawal_deletes_the_declared_cookies_of_that_purpose(
    customer: str, edited_zgoda: str, page: Page
) -> None:
    open_shop(page, customer, f"lang=en&zgoda={quote(edited_zgoda)}")
    click_and_record(page, first_layer(page).get_by_role("button", name="Accept all"))
    wait_for_ran(page, 5)
    for name in ("_zstat", "_zstat_abc", "_zad", "site_cart"):
        page.evaluate("name => { document.cookie = name + '=1; path=/' }", name)

    def cookie_names() -> set[str]:
        return {c["name"] for c in page.context.cookies(customer)} - {"zgoda_consent"}

    # withdraw statistics: two steps, as easy as the one click that gave it
    reopen_button(page).click()
    dialog = preferences(page)
    dialog.get_by_role("checkbox", name="Statistics").uncheck()
    click_and_record(page, dialog.get_by_role("button", name="Save choices"))
    expect(dialog).to_be_hidden()
    assert cookie_names() == {"_zad", "site_cart"}  # "_zstat_*" covered _zstat_abc
    assert not choices_in(page)["statistics"]
    assert consent_commands(page)[-1][2]["analytics_storage"] == "denied"

    # withdraw everything
    reopen_button(page).click()
    with page.expect_request("**/consents") as sent:
        click_and_record(page, preferences(page).get_by_role("button", name="Reject all"))
    assert sent.value.post_data_json["action"] == "withdraw"
    assert cookie_names() == {"site_cart"}
    expect(page.locator("#ad-frame")).to_have_attribute("src", "about:blank")
    assert page.evaluate("window.changes.length") == 3


# --- gating ----------------------------------------------------------------------------


def test_gated_elements_added_later_run_once_their_purpose_is_granted(
    customer: str, page: Page
) -> None:
    add = """id => {
        const box = document.createElement('div');
        const s = document.createElement('script');
        s.type = 'text/plain';
        s.dataset.zgodaPurpose = 'statistics';
        s.text = `window.ran.push('${id}')`;
        box.append(s);
        document.querySelector('main').append(box);
    }"""
    open_shop(page, customer)
    page.evaluate(add, "late-before-choice")
    page.wait_for_timeout(100)
    assert "late-before-choice" not in ran(page)
    first_layer(page).get_by_role("button", name="Settings").click()
    preferences(page).get_by_role("checkbox", name="Statistics").check()
    click_and_record(page, preferences(page).get_by_role("button", name="Save choices"))
    assert wait_for_ran(page, 5)[-1] == "late-before-choice"
    page.evaluate(add, "late-after-choice")
    assert wait_for_ran(page, 6)[-1] == "late-after-choice"
    page.evaluate(
        """() => {
        const f = document.createElement('iframe');
        f.title = 'late ad'; f.id = 'late-ad';
        f.dataset.zgodaPurpose = 'advertising'; f.dataset.src = '/ad.html';
        document.querySelector('main').append(f);
    }"""
    )
    page.wait_for_timeout(100)
    assert page.locator("#late-ad").get_attribute("src") is None  # advertising was not chosen


# --- Global Privacy Control ------------------------------------------------------------


def test_global_privacy_control_refuses_advertising_and_is_recorded(
    customer: str, context: BrowserContext
) -> None:
    context.add_init_script(GPC_ON)
    page = context.new_page()
    open_shop(page, customer)
    with page.expect_request("**/consents") as sent:
        answer = click_and_record(page, first_layer(page).get_by_role("button", name="Accept all"))
    assert sent.value.post_data_json["gpc"] is True
    assert answer["choices"]["advertising"] is False
    assert answer["choices"]["statistics"] is True
    cookie = consent_cookie(context)
    assert cookie is not None and payload_of(cookie["value"])["gpc"] == 1
    update = consent_commands(page)[-1][2]
    assert update["analytics_storage"] == "granted" and update["ad_storage"] == "denied"
    assert "advertising-inline" not in wait_for_ran(page, 4)
    # the visitor can still switch advertising on themselves
    reopen_button(page).click()
    checkbox = preferences(page).get_by_role("checkbox", name="Advertising (remarketing)")
    expect(checkbox).not_to_be_checked()
    checkbox.check()
    answer = click_and_record(page, preferences(page).get_by_role("button", name="Save choices"))
    assert answer["choices"]["advertising"] is True


# --- language, reopen button -----------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "locale", "expected"),
    [
        ("lang=pl", "en-GB", "Akceptuj wszystkie"),  # the page's <html lang>
        ("lang=pl&embed=" + quote('data-lang="en"'), "pl-PL", "Accept all"),  # data-lang wins
        ("lang=de", "pl-PL", "Akceptuj wszystkie"),  # unsupported page language: the browser's
        ("lang=de", "en-US", "Accept all"),
    ],
)
def test_language_comes_from_data_lang_then_the_page_then_the_browser(
    customer: str, browser: Browser, query: str, locale: str, expected: str
) -> None:
    context = browser.new_context(locale=locale)
    try:
        page = context.new_page()
        open_shop(page, customer, query)
        expect(first_layer(page).get_by_role("button", name=expected)).to_be_visible()
        expected_lang = "pl" if expected.startswith("Akceptuj") else "en"
        assert page.locator("zgoda-consent div[lang]").get_attribute("lang") == expected_lang
    finally:
        context.close()


def test_a_site_can_hide_the_reopen_button_and_open_settings_from_its_own_link(
    customer: str, page: Page
) -> None:
    open_shop(page, customer, "lang=en&embed=" + quote('data-reopen="false"'))
    click_and_record(page, first_layer(page).get_by_role("button", name="Reject all"))
    expect(first_layer(page)).to_be_hidden()
    expect(reopen_button(page)).to_be_hidden()
    page.locator("#settings-link").click()
    expect(preferences(page)).to_be_visible()
    page.evaluate("Zgoda.open()")  # opening twice is harmless
    expect(preferences(page)).to_be_visible()


# --- strict Content-Security-Policy ----------------------------------------------------


def test_it_works_on_a_page_with_a_strict_content_security_policy(
    customer: str, page: Page
) -> None:
    page.add_init_script(
        "window.violations = [];"
        "document.addEventListener('securitypolicyviolation',"
        " e => window.violations.push(e.violatedDirective + ' ' + e.blockedURI))"
    )
    response = page.goto(f"{customer}/strict.html?lang=en")
    assert response is not None
    assert "unsafe" not in response.headers["content-security-policy"]
    layer = first_layer(page)
    expect(layer).to_be_visible()
    accept = layer.get_by_role("button", name="Accept all")
    # styled: the banner's own sheet applied despite style-src 'self'
    assert accept.evaluate("e => getComputedStyle(e).backgroundColor") == "rgb(11, 87, 176)"
    assert layer.evaluate("e => getComputedStyle(e).position") == "fixed"
    click_and_record(page, accept)
    expect(page.locator("#statistics-state")).to_have_text("statistics: ran")
    expect(page.frame_locator("iframe").locator("#ad")).to_have_text("An advertisement")
    assert page.evaluate("window.violations") == []


# --- the demo shop ---------------------------------------------------------------------


@pytest.mark.parametrize("lang", ["pl", "en"])
def test_the_demo_shop_runs_its_tags_after_consent(
    zgoda_server: str, page: Page, lang: str
) -> None:
    page.goto(f"{zgoda_server}/demo/optingo?lang={lang}")
    layer = first_layer(page)
    expect(layer).to_be_visible()
    expect(page.locator("#tag-statistics")).to_have_attribute("data-state", "waiting")
    accept = "Akceptuj wszystkie" if lang == "pl" else "Accept all"
    click_and_record(page, layer.get_by_role("button", name=accept))
    expect(page.locator("#tag-statistics")).to_have_attribute("data-state", "running")
    expect(page.locator("#tag-advertising")).to_have_attribute("data-state", "running")
    expect(page.locator("#consent-mode")).to_contain_text("'update'")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"embed-demo-{lang}.png"), full_page=True)

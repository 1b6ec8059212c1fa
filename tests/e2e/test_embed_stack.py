"""The embed in a website's stack: the dataLayer event for tag managers, the site's own controls
(Zgoda.accept, Zgoda.reject), module scripts, and Microsoft UET and Clarity consent signals.

Every test listens for uncaught errors and console errors; there must be none.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from typing import Any

import pytest
import yaml
from playwright.sync_api import BrowserContext, Page, expect

from tests.conftest import NOTICES_DIR
from tests.e2e.customer.banner import first_layer, open_shop
from tests.e2e.test_embed import OPTIONAL, SERVICES, consent_cookie, decided, payload_of
from tests.servers import local_zgoda
from zgoda import __version__

CONSENTS = "**/api/v1/sites/optingo/consents"


@pytest.fixture
def page(context: BrowserContext, errors: list[str]) -> Page:
    return context.new_page()


def zgoda_events(page: Page) -> list[dict[str, Any]]:
    """The embed's dataLayer events, in order."""
    events: list[dict[str, Any]] = page.evaluate(
        "dataLayer.filter(e => e && e.event === 'zgoda_consent').map(e => e.zgoda)"
    )
    return events


def wait_for_events(page: Page, count: int) -> None:
    """Until the embed has pushed `count` zgoda_consent events: a click's effects (Consent
    Mode, the other signals, gating, events) follow the frame that hides the banner."""
    page.wait_for_function(
        "n => dataLayer.filter(e => e && e.event === 'zgoda_consent').length == n", arg=count
    )


def commands(page: Page, queue: str) -> list[list[Any]]:
    """What the embed pushed to a vendor's command queue (uetq, or clarity's q)."""
    pushed: list[list[Any]] = page.evaluate(queue)
    return pushed


@pytest.fixture(scope="module")
def signals_zgoda(tmp_path_factory: pytest.TempPathFactory, customer_origin: str) -> Iterator[str]:
    """A Zgoda server whose optingo notice asks for Microsoft UET and Clarity signals."""
    workdir = tmp_path_factory.mktemp("signals-server")
    notices = workdir / "notices"
    shutil.copytree(NOTICES_DIR, notices)
    path = notices / "optingo" / "notice.yaml"
    notice = yaml.safe_load(path.read_text("utf-8"))
    notice.setdefault("embed", {})["consent_signals"] = ["microsoft_uet", "microsoft_clarity"]
    path.write_text(yaml.safe_dump(notice, allow_unicode=True, sort_keys=False), "utf-8")
    with local_zgoda(workdir, NOTICES_DIR=str(notices), ALLOWED_ORIGINS=customer_origin) as url:
        yield url


# --- the dataLayer event ---------------------------------------------------------------


def test_a_tag_manager_hears_of_the_load_the_first_choice_and_each_change(
    customer: str, page: Page
) -> None:
    open_shop(page, customer)
    assert zgoda_events(page) == [{"granted": ["necessary"], "changed": [], "first": False}]
    first_layer(page).get_by_role("button", name="Accept all").click()
    wait_for_events(page, 2)
    event = zgoda_events(page)[-1]
    assert set(event["granted"]) == {"necessary", *OPTIONAL, *SERVICES}
    assert set(event["changed"]) == {*OPTIONAL, *SERVICES} and event["first"] is True
    page.wait_for_function("document.cookie.includes('zgoda_consent=')")
    page.evaluate("Zgoda.reject()")
    wait_for_events(page, 3)
    event = zgoda_events(page)[-1]
    assert event["granted"] == ["necessary"]
    assert set(event["changed"]) == {*OPTIONAL, *SERVICES} and event["first"] is False
    # A later page: one event on load, with the choice in force.
    page.reload()
    page.wait_for_function("dataLayer.some(e => e.event === 'zgoda_consent')")
    assert zgoda_events(page) == [{"granted": ["necessary"], "changed": [], "first": False}]


def test_the_change_event_and_on_change_say_which_purposes_changed(
    customer: str, page: Page
) -> None:
    open_shop(page, customer)
    page.evaluate(
        """() => {
          window.heard = [];
          Zgoda.onChange((choices, changed) => window.heard.push(changed));
          document.addEventListener('zgoda:change', e => window.heard.push(e.detail.changed));
        }"""
    )
    page.evaluate("Zgoda.accept(['statistics'])")
    page.wait_for_function("window.heard.length == 2")
    assert page.evaluate("window.heard") == [["statistics"], ["statistics"]]


# --- the site's own controls ----------------------------------------------------------


def test_the_sites_code_can_accept_some_purposes_and_it_is_recorded_as_its_choice(
    customer: str, page: Page
) -> None:
    open_shop(page, customer)
    with page.expect_request(CONSENTS) as sent:
        page.evaluate("Zgoda.accept(['statistics', 'analytics'])")
    body = sent.value.post_data_json
    assert body["source"] == "api" and body["action"] == "custom"
    assert body["choices"] == decided({"statistics", "analytics"})
    expect(first_layer(page)).to_be_hidden()
    assert page.evaluate("Zgoda.get('statistics') && !Zgoda.get('advertising')")
    page.wait_for_function("document.cookie.includes('zgoda_consent=')")
    cookie = consent_cookie(page.context)
    assert cookie is not None and payload_of(cookie["value"])["ch"]["statistics"] == 1


def test_accept_without_purposes_accepts_all_and_reject_refuses_all(
    customer: str, page: Page
) -> None:
    open_shop(page, customer)
    with page.expect_request(CONSENTS) as accepted:
        page.evaluate("Zgoda.accept()")
    assert accepted.value.post_data_json["action"] == "accept_all"
    with page.expect_request(CONSENTS) as rejected:
        page.evaluate("Zgoda.reject()")
    assert rejected.value.post_data_json["action"] == "withdraw"  # it had been granted
    assert not any(page.evaluate("ids => ids.map(id => Zgoda.get(id))", OPTIONAL))
    assert page.evaluate("Zgoda.version") == __version__


def test_a_gated_module_script_runs_as_a_module(customer: str, page: Page) -> None:
    open_shop(page, customer)
    page.evaluate(
        """() => {
          const s = document.createElement('script');
          s.type = 'text/plain';
          s.dataset.zgodaPurpose = 'statistics';
          s.dataset.type = 'module';
          s.text = "window.ran.push('module:' + typeof import.meta)";
          document.body.append(s);
        }"""
    )
    first_layer(page).get_by_role("button", name="Accept all").click()
    page.wait_for_function("window.ran.includes('module:object')")


# --- Microsoft UET and Clarity ----------------------------------------------------------


def test_uet_and_clarity_are_denied_first_then_follow_the_choice(
    customer: str, signals_zgoda: str, page: Page
) -> None:
    page.goto(f"{customer}/shop.html?lang=en&zgoda={signals_zgoda}")
    expect(first_layer(page)).to_be_visible()
    # UET's queue takes a command's parts one after the other.
    assert commands(page, "uetq") == ["consent", "default", {"ad_storage": "denied"}]
    clarity = "clarity.q.map(a => Array.from(a))"
    denied = {"ad_Storage": "denied", "analytics_Storage": "denied"}
    assert commands(page, clarity) == [["consentv2", denied]]
    first_layer(page).get_by_role("button", name="Accept all").click()
    wait_for_events(page, 2)
    assert commands(page, "uetq")[-3:] == ["consent", "update", {"ad_storage": "granted"}]
    granted = {"ad_Storage": "granted", "analytics_Storage": "granted"}
    assert commands(page, clarity)[-1] == ["consentv2", granted]
    # A later page: the defaults first, then the stored choice, before any gated tag.
    page.reload()
    page.wait_for_function("window.uetq && uetq.length >= 6")
    assert commands(page, "uetq") == [
        "consent", "default", {"ad_storage": "denied"},
        "consent", "update", {"ad_storage": "granted"},
    ]  # fmt: skip
    assert commands(page, clarity) == [["consentv2", denied], ["consentv2", granted]]


def test_sites_that_do_not_ask_get_no_microsoft_globals(customer: str, page: Page) -> None:
    open_shop(page, customer)
    first_layer(page).get_by_role("button", name="Accept all").click()
    wait_for_events(page, 2)  # the choice's signals have gone out
    assert (
        page.evaluate("typeof window.uetq + ' ' + typeof window.clarity") == "undefined undefined"
    )


def test_the_per_site_script_sets_the_defaults_before_the_page_runs_any_tag(
    customer: str, signals_zgoda: str, page: Page
) -> None:
    page.goto(f"{customer}/shop.html?lang=en&script=site&zgoda={signals_zgoda}")
    expect(first_layer(page)).to_be_visible()
    assert commands(page, "uetq") == ["consent", "default", {"ad_storage": "denied"}]

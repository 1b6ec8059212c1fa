"""The scanner's judgement without a browser: observations held against a notice, the tracker
database, the notice patch, and scans kept and shown on the dashboard."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import yaml
from flask import Flask
from flask.testing import FlaskCliRunner

from tests.e2e.scan_server import SITE_ID, write_notices
from tests.test_dashboard import new_key, sign_in
from zgoda.notices.loader import LoadedNotice, load_notice
from zgoda.scan.classify import TRACKERDB, read_database, tracker_database
from zgoda.scan.crawl import hard_limit, same_origin_links
from zgoda.scan.findings import compare, tally, violations
from zgoda.scan.limits import ScanLimits
from zgoda.scan.network import is_loopback, site_of
from zgoda.scan.observations import (
    ObservedCookie,
    ScanRun,
    ScanState,
    StateObservation,
    StorageKey,
    ThirdPartyRequest,
)
from zgoda.scan.patch import notice_patch
from zgoda.scan.storage import save_scan, scan_history
from zgoda.store.db import engine

PAGE = "http://shop.test/index.html"
NOW = 1_800_000_000.0
DAY = 86400.0


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> LoadedNotice:
    """The fixture shop's notice (its ad network on 127.0.0.3)."""
    notices = write_notices(tmp_path_factory.mktemp("scan") / "notices", "http://127.0.0.3:9")
    return load_notice(notices / SITE_ID)


def cookie(
    name: str, days: float | None = 30, first_party: bool = True, **kw: object
) -> ObservedCookie:
    fields: dict[str, object] = dict(name=name, domain="shop.test", path="/", secure=False,
                                     http_only=False, same_site="Lax", first_party=first_party)  # fmt: skip
    fields |= kw
    return ObservedCookie(expires=None if days is None else NOW + days * DAY, **fields)  # type: ignore[arg-type]


def request(url: str, after: bool = True, **kw: object) -> ThirdPartyRequest:
    host = url.split("/")[2].split(":")[0]
    fields: dict[str, object] = dict(resource_type="Script", sent_cookies=False, pixel_like=False)
    return ThirdPartyRequest(url=url, host=host, after_choice=after, **(fields | kw))  # type: ignore[arg-type]


def run(*observations: StateObservation) -> ScanRun:
    return ScanRun(PAGE, NOW, NOW + 5, (PAGE,), observations)


def state(which: ScanState, *cookies: ObservedCookie, **kw: object) -> StateObservation:
    return StateObservation(PAGE, which, NOW, cookies, **kw)  # type: ignore[arg-type]


def consented() -> tuple[StateObservation, ...]:
    """What a well-behaved shop shows: nothing, then the consent cookie, then everything."""
    return (
        state(ScanState.BEFORE),
        state(ScanState.REJECTED, cookie("zgoda_consent", 180)),
        state(ScanState.ACCEPTED, cookie("zgoda_consent", 180), cookie("shop_stats", 30)),
    )


def test_what_the_notice_declares_where_it_declares_it_is_no_finding(shop: LoadedNotice) -> None:
    assert compare(run(*consented()), shop.notice, tracker_database()) == []


def test_a_declared_consent_cookie_before_any_choice(shop: LoadedNotice) -> None:
    before = state(
        ScanState.BEFORE, cookie("shop_stats", 30, set_by="script http://shop.test/s.js")
    )
    found = compare(run(before, *consented()[1:]), shop.notice, tracker_database())
    assert [(f.kind, f.subject, f.purpose, f.severity) for f in found] == [
        ("before_choice", "cookie shop_stats", "statistics", "error")
    ]
    assert found[0].state == "before_choice" and "Planet49" in found[0].reference


def test_a_known_tracker_after_reject_all_is_classified_and_unnamed(shop: LoadedNotice) -> None:
    analytics = request("https://www.google-analytics.com/g/collect?v=2")
    rejected = state(ScanState.REJECTED, cookie("zgoda_consent", 180), requests=(analytics,))
    found = compare(run(consented()[0], rejected, consented()[2]), shop.notice, tracker_database())
    kinds = {(f.kind, f.subject): f for f in found}
    after = kinds[("after_reject", "www.google-analytics.com")]
    assert (after.vendor, after.category, after.purpose) == (
        "Google",
        "site_analytics",
        "statistics",
    )
    assert kinds[("unnamed_recipient", "www.google-analytics.com")].severity == "warning"
    assert violations(found) == 2


def test_a_request_before_the_choice_on_the_reject_page_is_not_after_the_refusal(
    shop: LoadedNotice,
) -> None:
    pixel = request(
        "http://127.0.0.3:9/pixel.gif", after=False, resource_type="Image", pixel_like=True
    )
    rejected = state(ScanState.REJECTED, cookie("zgoda_consent", 180), requests=(pixel,))
    found = compare(run(consented()[0], rejected, consented()[2]), shop.notice, tracker_database())
    assert found == []  # the notice names 127.0.0.3 as Pixel Ads, and it fired before the click


def test_undeclared_longer_and_never_seen(shop: LoadedNotice) -> None:
    accepted = state(ScanState.ACCEPTED, cookie("zgoda_consent", 180), cookie("shop_stats", 400),
                     cookie("shop_uid", None), storage=(StorageKey("localStorage", "zgoda:scanshop"),
                     StorageKey("sessionStorage", "cart")))  # fmt: skip
    found = compare(run(accepted), shop.notice, tracker_database())
    assert [(f.kind, f.subject, f.severity) for f in found] == [
        ("lifetime_exceeded", "cookie shop_stats", "error"),
        ("undeclared_cookie", "cookie shop_uid", "error"),
        ("undeclared_storage", "sessionStorage cart", "warning"),
    ]
    assert "expires in 400 days; the notice declares 30 day(s)" in found[0].evidence
    assert "session" in found[1].evidence
    missing = compare(run(state(ScanState.ACCEPTED)), shop.notice, tracker_database())
    assert {(f.kind, f.subject) for f in missing if f.severity == "info"} == {
        ("declared_not_seen", "zgoda_consent"),
        ("declared_not_seen", "shop_stats"),
    }  # "Pixel Ads" names a service, not a cookie: it is not looked for


def test_the_database_classifies_by_parent_domain_and_knows_what_it_does_not_know() -> None:
    database = tracker_database()
    assert database.source.startswith("@ghostery/trackerdb ")
    assert database.host("region1.google-analytics.com").tracker == "Google Analytics"
    assert database.host("stats.some-sub.google-analytics.com").category == "site_analytics"
    assert database.host("shop.test").category == "unknown"
    absent = read_database(Path("/nonexistent/trackerdb.json"))
    assert absent.host("google-analytics.com").vendor == "unknown" and "npm ci" in absent.source
    assert TRACKERDB.is_file()


def test_the_patch_declares_what_was_found_under_the_suggested_purpose(shop: LoadedNotice) -> None:
    ga = cookie("_ga", 400, set_by="script https://www.googletagmanager.com/gtag/js")
    accepted = state(ScanState.ACCEPTED, cookie("zgoda_consent", 180), cookie("shop_stats", 30),
                     ga, cookie("shop_uid", 90))  # fmt: skip
    scanned = run(accepted)
    patch = notice_patch(SITE_ID, scanned, compare(scanned, shop.notice, tracker_database()))
    assert patch.startswith("# Notice patch for scanshop, from the scan of http://shop.test/")
    body = yaml.safe_load(patch)
    purposes = {p["id"]: p["cookies"] for p in body["cookies"]["purposes"]}
    assert purposes["unclassified"] == [{"name": "shop_uid", "provider": "TODO: who sets it",
        "party": "first", "duration": {"value": 90, "unit": "day"},
        "description": {"pl": "TODO", "en": "TODO"}}]  # fmt: skip
    # Ghostery puts www.googletagmanager.com (the script that set it) under Google Tag, advertising.
    assert [(c["name"], c["provider"], c["party"]) for c in purposes["advertising"]] == [
        ("_ga", "Google", "first")
    ]


def test_the_patch_names_unnamed_recipients_and_corrects_lifetimes(shop: LoadedNotice) -> None:
    analytics = request("https://www.google-analytics.com/g/collect?v=2")
    accepted = state(ScanState.ACCEPTED, cookie("zgoda_consent", 180), cookie("shop_stats", 400),
                     requests=(analytics,))  # fmt: skip
    scanned = run(accepted)
    body = yaml.safe_load(
        notice_patch(SITE_ID, scanned, compare(scanned, shop.notice, tracker_database()))
    )
    assert body["recipients"] == [{"category": {"pl": "TODO", "en": "TODO"}, "role": "processor",
                                   "names": ["Google (www.google-analytics.com)"]}]  # fmt: skip
    statistics = {p["id"]: p["cookies"] for p in body["cookies"]["purposes"]}["statistics"]
    assert [(c["name"], c["duration"]) for c in statistics] == [
        ("shop_stats", {"value": 400, "unit": "day"})
    ]
    clean = run(*consented())
    assert "Nothing to add" in notice_patch(
        SITE_ID, clean, compare(clean, shop.notice, tracker_database())
    )


def test_scans_are_kept_per_site_and_shown_on_the_dashboard(
    db_app: Flask, shop: LoadedNotice
) -> None:
    early = run(state(ScanState.BEFORE, cookie("shop_stats", 30)))
    with db_app.app_context():
        for scanned in (run(*consented()), early):
            findings = compare(scanned, shop.notice, tracker_database())
            save_scan(engine(), "optingo", "v1", scanned, findings)
            time.sleep(0.01)
        history = scan_history(engine(), "optingo")
        assert scan_history(engine(), "xopero") == []
    assert [tally(list(h.findings)) if h.run else h.counts for h in history] == [
        {"error": 1, "warning": 0, "info": 1},
        {"error": 0, "warning": 0, "info": 0},
    ]
    client = db_app.test_client()
    sign_in(client, new_key(db_app))
    page = client.get("/admin/optingo?lang=en").get_data(as_text=True)
    assert "Cookie scan" in page and "before_choice: cookie shop_stats" in page
    assert "Earlier scans" in page and "load it only after consent to its purpose" in page
    polish = client.get("/admin/optingo?lang=pl").get_data(as_text=True)
    assert "Skan plików cookie" in polish and "Wcześniejsze skany" in polish


def test_links_hosts_and_the_watchdogs_limit() -> None:
    links = ("http://shop.test/a.html#x", "http://shop.test/a.html", "https://shop.test/b.html",
             "http://shop.test:8080/c.html", "http://other.test/d.html", "http://shop.test/e?q=1")  # fmt: skip
    assert same_origin_links("http://shop.test/", links) == [
        "http://shop.test/a.html",
        "http://shop.test/e?q=1",
    ]
    assert site_of("www.google-analytics.com") == "google-analytics.com"
    assert site_of("127.0.0.3") == "127.0.0.3" and site_of("[::1]") == "[::1]"
    assert is_loopback("127.0.0.2") and is_loopback("localhost") and is_loopback("[::1]")
    assert not is_loopback("10.0.0.1") and not is_loopback("example.com")
    assert hard_limit(ScanLimits(total_timeout=5, page_timeout=2)) == 33


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["scan", "nosuch", "--url", "http://shop.test/"], "unknown site 'nosuch'"),
        (
            ["scan", "optingo", "--url", "ftp://shop.test/"],
            "'ftp://shop.test/' is not an http(s) URL",
        ),
        (["scan", "optingo", "--url", "http:///no-host"], "is not an http(s) URL with a host"),
        (["scan", "optingo", "--url", "http://shop.test/", "--pages", "-1"], "--pages"),
        (["scan", "optingo"], "Missing option '--url'"),
    ],
)
def test_bad_input_is_refused_before_any_browser(
    runner: FlaskCliRunner, arguments: list[str], message: str
) -> None:
    result = runner.invoke(args=arguments)
    assert result.exit_code == 2 and message in result.output

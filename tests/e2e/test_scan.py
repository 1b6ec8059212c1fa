"""The cookie scanner against sites that misbehave: a shop on 127.0.0.2 embedding a real
Zgoda server's banner, an ad network on 127.0.0.3, each finding asserted; the demo shops."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine

from tests.conftest import ROOT, SITES
from tests.e2e.scan_server import PIXEL_HOST, SHOP_HOST, SITE_ID, scan_sites, write_notices
from tests.servers import flask_command, free_port, running_server, server_env, upgrade_database
from zgoda.scan.storage import scan_history

# Each test runs `flask scan` over real pages in three states: minutes, not seconds.
pytestmark = pytest.mark.slow


@dataclass(frozen=True)
class ScanWorld:
    env: dict[str, str]
    zgoda: str
    shop: str
    pixel: str
    database: str


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ScanWorld]:
    """Zgoda (with the shop's notice), the shop and the ad network, each on its own address."""
    workdir = tmp_path_factory.mktemp("scan")
    shop = f"http://{SHOP_HOST}:{free_port(SHOP_HOST)}"
    pixel = f"http://{PIXEL_HOST}:{free_port(PIXEL_HOST)}"
    port = free_port()
    zgoda = f"http://127.0.0.1:{port}"
    database = f"sqlite:///{workdir / 'zgoda.sqlite3'}"
    env = server_env(
        DATABASE_URL=database,
        NOTICES_DIR=str(write_notices(workdir / "notices", pixel)),
        ALLOWED_ORIGINS=shop,
        PUBLIC_URL=zgoda,
    )
    env["FLASK_DEBUG"] = "0"
    upgrade_database(env)
    with running_server(flask_command(port), port, env, workdir / "server.log"):
        with scan_sites(shop, pixel, zgoda):
            yield ScanWorld(env, zgoda, shop, pixel, database)


def scan(world: ScanWorld, url: str, *options: str, site: str = SITE_ID) -> tuple[int, str, str]:
    """`flask scan` as a site's CI runs it: exit code, standard output, standard error."""
    command = [sys.executable, "-m", "flask", "--app", "app", "scan", site, "--url", url,
               "--only-loopback", "--page-timeout", "10", *options]  # fmt: skip
    done = subprocess.run(
        command, cwd=ROOT, env=world.env, capture_output=True, text=True, timeout=180
    )
    return done.returncode, done.stdout, done.stderr


def report(world: ScanWorld, variant: str, *options: str) -> dict[str, Any]:
    code, out, err = scan(world, f"{world.shop}/{variant}/index.html", "--format", "json", *options)
    assert code == 0, err[-2000:]
    return dict(json.loads(out))


def kinds(found: dict[str, Any]) -> list[tuple[str, str]]:
    return [(f["kind"], f["subject"]) for f in found["findings"]]


def test_a_correct_site_has_no_findings(world: ScanWorld) -> None:
    found = report(world, "clean")
    assert found["findings"] == []
    assert found["pages"] == [f"{world.shop}/clean/index.html", f"{world.shop}/clean/about.html"]
    states = [(o["page"].rsplit("/", 1)[1], o["state"]) for o in found["observations"]]
    assert len(states) == 6 and len(set(states)) == 6
    # Not clean for want of looking: after "Accept all" the tags ran and were seen.
    accepted = next(o for o in found["observations"] if o["state"] == "after_accept_all")
    stats = next(c for c in accepted["cookies"] if c["name"] == "shop_stats")
    assert stats["set_by"] == f"script {world.shop}/shared/stats.js"
    assert stats["first_party"] and round((stats["expires"] - accepted["seen_at"]) / 86400) == 30
    pixels = [r for r in accepted["requests"] if r["host"] == PIXEL_HOST]
    assert pixels and all(r["pixel_like"] and r["resource_type"] == "Image" for r in pixels)
    before = next(o for o in found["observations"] if o["state"] == "before_choice")
    assert [c["name"] for c in before["cookies"]] == [] and before["requests"] == [
        r for r in before["requests"] if r["host"] == "127.0.0.1"
    ]


def test_the_per_site_embed_is_zgodas_banner_too(world: ScanWorld) -> None:
    found = report(world, "persite", "--pages", "0")
    assert found["findings"] == [] and found["notes"] == []  # no third party, no missing banner
    assert [o["state"] for o in found["observations"]] == [
        "before_choice",
        "after_reject_all",
        "after_accept_all",
    ]


def test_an_analytics_cookie_before_consent(world: ScanWorld) -> None:
    found = report(world, "early")
    early = [f for f in found["findings"] if f["kind"] == "before_choice"]
    assert [(f["subject"], f["state"], f["purpose"]) for f in early] == [
        ("cookie shop_stats", "before_choice", "statistics")
    ]
    assert "Art. 5(3)" in early[0]["reference"] and "Planet49" in early[0]["reference"]
    assert early[0]["severity"] == "error" and early[0]["fix"]
    # Present after "Reject all" too: the same tag runs whatever the choice.
    assert ("after_reject", "cookie shop_stats") in kinds(found)


def test_an_ad_pixel_after_reject_all(world: ScanWorld) -> None:
    found = report(world, "pixel")
    after = [f for f in found["findings"] if f["kind"] == "after_reject"]
    assert [(f["subject"], f["state"]) for f in after] == [(PIXEL_HOST, "after_reject_all")]
    assert "pixel-like" in after[0]["evidence"] and "pixel.gif?leak=1" in after[0]["evidence"]
    assert not any(f["kind"] == "before_choice" for f in found["findings"])


def test_an_undeclared_cookie_and_its_patch(world: ScanWorld) -> None:
    code, out, err = scan(world, f"{world.shop}/undeclared/index.html", "--patch", "--no-store")
    assert code == 0, err[-2000:]
    assert "error  undeclared_cookie  cookie shop_uid" in out
    assert "GDPR Art. 13(1)(c)" in out
    patch = out[out.index("# Notice patch for scanshop") :]
    assert "- id: unclassified\n    cookies:\n    - name: shop_uid\n" in patch
    assert "duration:\n        value: 90\n        unit: day" in patch


def test_a_cookie_kept_longer_than_declared(world: ScanWorld) -> None:
    found = report(world, "longer")
    longer = [f for f in found["findings"] if f["kind"] == "lifetime_exceeded"]
    assert [(f["subject"], f["state"]) for f in longer] == [
        ("cookie shop_stats", "after_accept_all")
    ]
    assert "expires in 400 days; the notice declares 30 day(s) (30 days)" in longer[0]["evidence"]


def test_strict_fails_on_violations_only(world: ScanWorld) -> None:
    code, _, err = scan(world, f"{world.shop}/early/index.html", "--strict", "--pages", "0")
    assert code == 1 and "violations (errors and warnings) on scanshop (--strict)" in err
    code, _, err = scan(world, f"{world.shop}/clean/index.html", "--strict", "--pages", "0")
    assert code == 0, err[-2000:]


def test_a_site_that_is_down_or_hangs_fails_clearly(world: ScanWorld) -> None:
    down = f"http://{SHOP_HOST}:{free_port(SHOP_HOST)}/index.html"
    code, _, err = scan(world, down, "--pages", "0")
    assert code == 2 and "scan of scanshop failed" in err and "ERR_CONNECTION_REFUSED" in err
    assert "could not be loaded" in err and "did not load within" not in err
    code, _, err = scan(world, f"{world.shop}/hang.html", "--page-timeout", "2")
    assert code == 2 and "the page did not load within 2 s" in err


def test_a_page_whose_script_never_yields_is_stopped_by_the_watchdog(world: ScanWorld) -> None:
    started = time.monotonic()
    code, _, err = scan(world, f"{world.shop}/busy/index.html", "--timeout", "5",
                        "--page-timeout", "2", "--pages", "0")  # fmt: skip
    assert code == 2 and "the scan was stopped after 33 s" in err, err[-2000:]
    assert time.monotonic() - started < 90  # 5 s budget + one state's longest run + start-up


def test_a_page_without_zgodas_banner_is_scanned_before_any_choice(world: ScanWorld) -> None:
    found = report(world, "plain", "--pages", "0")
    assert [o["state"] for o in found["observations"]] == ["before_choice"]
    assert found["notes"] == [
        f"{world.shop}/plain/index.html: no Zgoda banner, so only the state before any choice "
        "was scanned"
    ]


def test_scans_are_stored_per_site(world: ScanWorld, tmp_path: Path) -> None:
    written = tmp_path / "scan.json"
    code, out, err = scan(world, f"{world.shop}/clean/index.html", "--pages", "0",
                          "--format", "json", "--output", str(written))  # fmt: skip
    assert code == 0 and out == "" and f"scanshop: report written to {written}" in err
    assert json.loads(written.read_text("utf-8"))["counts"] == {"error": 0, "warning": 0, "info": 0}
    history = scan_history(create_engine(world.database), SITE_ID)
    assert history and history[0].url == f"{world.shop}/clean/index.html"
    assert history[0].counts == {"error": 0, "warning": 0, "info": 0} and history[0].run
    assert [h.started_at for h in history] == sorted((h.started_at for h in history), reverse=True)


@pytest.mark.parametrize("site", SITES)
def test_the_demo_shops_scan_clean(world: ScanWorld, site: str) -> None:
    # Two more pages by the demo's links: its language links set Zgoda's zgoda_lang cookie,
    # which every seed notice declares under its necessary purpose.
    code, out, err = scan(world, f"{world.zgoda}/demo/{site}", "--format", "json", "--pages", "2",
                          "--strict", site=site)  # fmt: skip
    assert code == 0, (out + err)[-3000:]
    found = json.loads(out)
    assert found["counts"]["error"] == 0 and found["counts"]["warning"] == 0
    seen = {c["name"] for o in found["observations"] for c in o["cookies"]}
    assert "zgoda_lang" in seen
    # The banner was operated: the consent cookie is there after each choice.
    url = f"{world.zgoda}/demo/{site}"
    chosen = [
        o for o in found["observations"] if o["state"] != "before_choice" and o["page"] == url
    ]
    assert len(chosen) == 2
    assert all(any(c["name"] == "zgoda_consent" for c in o["cookies"]) for o in chosen)

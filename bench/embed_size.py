"""The embed's weight and what it asks of the network, measured in Debian's Chromium.

    .venv/bin/python bench/embed_size.py [--runs 5] [--json results.json]

- Size: static/embed/embed.js as written and embed.css minified, raw and gzip -9, and the
  bundle as served (the script without whole-line comments and indentation, the CSS inlined)
  against the 6 KB budget for JS + CSS together.
- Requests before the banner shows: a first visit to the test customer page (on 127.0.0.2,
  Zgoda on 127.0.0.1, as in tests/e2e); every request from navigation until the banner is
  visible, grouped by origin; for the generic /embed.js and for the per-site /embed/SITE.js,
  and the per-site script's bytes (gzip, as served).
- A returning visit: requests to Zgoda before the gated tags have run (the stored choice
  should need none), and the background check of the notice version that follows.
- Time from navigation start to the banner in the page (median of --runs), on loopback.
"""

from __future__ import annotations

import argparse
import gzip
import json
import statistics
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from urllib.request import Request, urlopen

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from playwright.sync_api import Browser, sync_playwright  # noqa: E402

from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS, CUSTOMER_HOST  # noqa: E402
from tests.e2e.customer.server import customer_site  # noqa: E402
from tests.servers import (  # noqa: E402
    flask_command,
    free_port,
    running_server,
    server_env,
    upgrade_database,
)
from zgoda.web.embed import EMBED_DIR, build_bundle, minify_css  # noqa: E402

BUDGET_BYTES = 6 * 1024
BANNER = "zgoda-consent div.banner"
# When the banner's host element enters the page, by the page's own clock.
WATCH_BANNER = """
new MutationObserver((_, observer) => {
  if (document.querySelector('zgoda-consent')) {
    window.bannerAt = performance.now();
    observer.disconnect();
  }
}).observe(document, {childList: true, subtree: true});
"""


def gzip_size(data: bytes) -> int:
    return len(gzip.compress(data, compresslevel=9, mtime=0))


def sizes() -> dict[str, int]:
    """Raw and gzip -9 bytes of the script, the stylesheet and the served bundle."""
    script = (EMBED_DIR / "embed.js").read_bytes()
    css = minify_css((EMBED_DIR / "embed.css").read_text("utf-8")).encode("utf-8")
    bundle = build_bundle().source
    return {
        "js_raw": len(script),
        "js_gzip": gzip_size(script),
        "css_min_raw": len(css),
        "css_min_gzip": gzip_size(css),
        "bundle_raw": len(bundle),
        "bundle_gzip": gzip_size(bundle),
    }


@contextmanager
def servers(workdir: Path) -> Iterator[tuple[str, str]]:
    """A Zgoda server and the customer pages on another origin; yields both origins."""
    customer = f"http://{CUSTOMER_HOST}:{free_port(CUSTOMER_HOST)}"
    port = free_port()
    env = server_env(
        DATABASE_URL=f"sqlite:///{workdir / 'zgoda.sqlite3'}",
        ALLOWED_ORIGINS=customer,
        PUBLIC_URL=f"http://127.0.0.1:{port}",
    )
    env["FLASK_DEBUG"] = "0"
    upgrade_database(env)
    with running_server(flask_command(port), port, env, workdir / "server.log"):
        zgoda = f"http://127.0.0.1:{port}"
        with customer_site(customer, zgoda):
            yield zgoda, customer


def first_visit(browser: Browser, customer: str, form: str = "generic") -> dict[str, Any]:
    """Requests until the banner is visible, and the time it took, in a fresh profile."""
    context = browser.new_context()
    try:
        page = context.new_page()
        page.add_init_script(WATCH_BANNER)
        requests: list[str] = []
        page.on("request", lambda request: requests.append(request.url))
        script = "&script=site" if form == "site" else ""
        page.goto(f"{customer}/shop.html?lang=pl{script}", wait_until="commit")
        page.locator(BANNER).wait_for()
        before_banner = list(requests)
        banner_at = page.evaluate("window.bannerAt")
        # Accept, then come back: what does a returning visit ask of Zgoda?
        page.get_by_role("button", name="Akceptuj wszystkie").click()
        page.wait_for_function("window.ran.length >= 5")
        requests.clear()
        page.add_init_script(
            "document.addEventListener('zgoda:change', () => { window.appliedAt = performance.now() })"
        )
        page.reload()
        page.wait_for_function("window.ran.length >= 5")
        page.wait_for_load_state("networkidle")
        api_started = page.evaluate(
            "Math.min(...performance.getEntriesByType('resource')"
            ".filter(e => e.name.includes('/api/v1/')).map(e => e.startTime))"
        )
        return {
            "before_banner": before_banner,
            "banner_ms": banner_at,
            "returning": list(requests),
            "returning_applied_ms": page.evaluate("window.appliedAt"),
            "returning_first_api_request_ms": api_started,
        }
    finally:
        context.close()


def urlopen_gzip(url: str) -> int:
    """The bytes of `url`'s body as sent to a client that accepts gzip."""
    request = Request(url, headers={"Accept-Encoding": "gzip"})
    with urlopen(request) as response:  # noqa: S310 (a loopback URL of our own server)
        return len(response.read())


def by_origin(urls: list[str]) -> dict[str, list[str]]:
    grouped: dict[str, list[str]] = {}
    for url in urls:
        parts = urlsplit(url)
        grouped.setdefault(f"{parts.scheme}://{parts.netloc}", []).append(
            parts.path + (f"?{parts.query}" if parts.query else "")
        )
    return grouped


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--json", type=Path, help="also write the results here")
    options = parser.parse_args()

    result: dict[str, Any] = {"sizes": sizes(), "budget_bytes": BUDGET_BYTES}
    with tempfile.TemporaryDirectory() as workdir, servers(Path(workdir)) as (zgoda, customer):
        with sync_playwright() as driver:
            browser = driver.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            visits = [first_visit(browser, customer) for _ in range(options.runs)]
            site_visits = [first_visit(browser, customer, "site") for _ in range(options.runs)]
            browser.close()
        site_script = urlopen_gzip(f"{zgoda}/embed/optingo.js")
    first = visits[0]
    before = by_origin(first["before_banner"])
    returning = by_origin(first["returning"])
    result |= {
        "chromium": CHROMIUM,
        "requests_before_banner": before,
        "zgoda_requests_before_banner": len(before.get(zgoda, [])),
        "returning_visit": returning,
        "banner_ms_median": statistics.median(v["banner_ms"] for v in visits),
        "returning_applied_ms_median": statistics.median(v["returning_applied_ms"] for v in visits),
        "returning_first_api_request_ms_median": statistics.median(
            v["returning_first_api_request_ms"] for v in visits
        ),
        "runs": options.runs,
        "site_script_gzip": site_script,
        "site_requests_before_banner": by_origin(site_visits[0]["before_banner"]),
        "site_banner_ms_median": statistics.median(v["banner_ms"] for v in site_visits),
    }

    s = result["sizes"]
    print(f"embed.js            {s['js_raw']:6} B raw  {s['js_gzip']:5} B gzip -9")
    print(f"embed.css (min)     {s['css_min_raw']:6} B raw  {s['css_min_gzip']:5} B gzip -9")
    print(
        f"served bundle       {s['bundle_raw']:6} B raw  {s['bundle_gzip']:5} B gzip -9"
        f"  (budget {BUDGET_BYTES} B: {'within' if s['bundle_gzip'] <= BUDGET_BYTES else 'OVER'})"
    )
    print("first visit, requests until the banner is visible:")
    for origin, paths in before.items():
        print(f"  {origin}: {', '.join(paths)}")
    print("returning visit, every request (the gated tags ran from the cookie):")
    for origin, paths in returning.items():
        print(f"  {origin}: {', '.join(paths)}")
    print(
        f"returning visit: choice applied at {result['returning_applied_ms_median']:.0f} ms, "
        f"first Zgoda API request started at {result['returning_first_api_request_ms_median']:.0f} ms"
    )
    print(
        f"navigation start to banner, median of {options.runs}: {result['banner_ms_median']:.0f} ms"
    )
    print(f"per-site script /embed/optingo.js: {site_script} B gzip, requests until the banner:")
    for origin, paths in result["site_requests_before_banner"].items():
        print(f"  {origin}: {', '.join(paths)}")
    print(
        f"navigation start to banner with the per-site script, median of {options.runs}: "
        f"{result['site_banner_ms_median']:.0f} ms"
    )
    if options.json:
        options.json.write_text(json.dumps(result, indent=2) + "\n", "utf-8")
    return 0 if s["bundle_gzip"] <= BUDGET_BYTES else 1


if __name__ == "__main__":
    sys.exit(main())

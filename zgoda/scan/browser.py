"""One page in one state, in a fresh Chromium context: load it, operate Zgoda's banner, record.

Zgoda's banner renders into an open shadow root (static/embed/embed.js): a `zgoda-consent`
element whose `.banner` holds the first layer, with "Accept all", "Reject all" and the
settings button in that order in its `.actions` row. Playwright's CSS selectors pierce it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from playwright.sync_api import Browser, BrowserContext, Page, Route
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from zgoda.scan.limits import NoZgodaBanner, ScanFailed, ScanLimits
from zgoda.scan.network import COOKIE_WRITES_JS, Recorder, is_loopback, site_of
from zgoda.scan.observations import (
    ObservedCookie,
    ScanState,
    StateObservation,
    StorageKey,
)

CHROMIUM = "/usr/bin/chromium"
# No sandbox (root in a container), no GPU, and no calls home on a closed network.
CHROMIUM_ARGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
)
BANNER = "zgoda-consent .banner"  # the first layer, inside the embed's open shadow root
CHOICE_BUTTONS = ".actions button.choice"  # accept all, reject all, settings (embed.js)
CONSENT_COOKIE = "zgoda_consent"
STORAGE_JS = """() => {
  const keys = area => { try { return Object.keys(window[area]); } catch (e) { return []; } };
  return {localStorage: keys('localStorage'), sessionStorage: keys('sessionStorage')};
}"""
LINKS_JS = "els => els.map(e => e.href)"
# Zgoda's embed, by its URL shapes (/embed.js, /embed.<digest>.js, /embed/<site>[.<hash>].js)
# or by the data-site attribute the generic script needs.
TOOL_SCRIPTS_JS = r"""els => els.filter(e => e.dataset.site ||
  /\/embed(\.[0-9a-f]+)?\.js$|\/embed\/[^/]+\.js$/.test(new URL(e.src).pathname)).map(e => e.src)"""


def launch(chromium: Any) -> Browser:
    """Debian's Chromium, headless, with the flags a closed machine needs."""
    return chromium.launch(executable_path=CHROMIUM, args=list(CHROMIUM_ARGS))  # type: ignore[no-any-return]


def _refuse_outside(route: Route) -> None:
    host = urlsplit(route.request.url).hostname or ""
    if is_loopback(host) or not route.request.url.startswith("http"):
        route.continue_()
    else:
        route.abort("blockedbyclient")


def _settle(page: Page, recorder: Recorder, limits: ScanLimits) -> None:
    """Wait until the network has been quiet for a moment, or settle_cap has passed."""
    deadline = time.monotonic() + limits.settle_cap
    while time.monotonic() < deadline:
        quiet_for = time.monotonic() - recorder.last_activity
        if recorder.in_flight == 0 and quiet_for >= limits.quiet:
            return
        page.wait_for_timeout(25)


def _load(page: Page, url: str, limits: ScanLimits, reload: bool = False) -> None:
    try:
        if reload:
            page.reload(wait_until="load", timeout=limits.page_timeout * 1000)
        else:
            page.goto(url, wait_until="load", timeout=limits.page_timeout * 1000)
    except PlaywrightError as error:
        first_line = str(error).splitlines()[0] if str(error) else type(error).__name__
        # A refused connection or an unknown host fails at once: say so, not "too slow".
        what = (
            f"the page did not load within {limits.page_timeout:g} s"
            if isinstance(error, PlaywrightTimeout)
            else "the page could not be loaded"
        )
        raise ScanFailed(f"{url}: {what} ({first_line})") from error


def _choose(
    context: BrowserContext, page: Page, state: ScanState, limits: ScanLimits, recorder: Recorder
) -> None:
    """Press "Accept all" or "Reject all" on Zgoda's banner and wait until it is recorded."""
    banner = page.locator(BANNER)
    try:
        banner.wait_for(state="visible", timeout=limits.banner_timeout * 1000)
    except PlaywrightError as error:
        raise NoZgodaBanner(f"{page.url}: no Zgoda banner appeared") from error
    recorder.after_choice = True  # from the click on, requests count as after the choice
    banner.locator(CHOICE_BUTTONS).nth(0 if state is ScanState.ACCEPTED else 1).click()
    deadline = time.monotonic() + limits.banner_timeout
    while time.monotonic() < deadline:
        if any(c["name"] == CONSENT_COOKIE for c in context.cookies()):
            return
        page.wait_for_timeout(25)


@dataclass(frozen=True)
class PageVisit:
    """One state of one page, and what only the first state needs: links and the banner."""

    observation: StateObservation
    links: tuple[str, ...]
    tool_scripts: tuple[str, ...]
    has_banner: bool


def observe(browser: Browser, url: str, state: ScanState, limits: ScanLimits) -> PageVisit:
    """Load `url` in a fresh context, make the choice `state` names, and record what is there."""
    page_site = site_of(urlsplit(url).hostname or "")
    recorder = Recorder(page_site)
    context = browser.new_context()
    try:
        context.set_default_timeout(limits.page_timeout * 1000)
        if limits.only_loopback:
            context.route("**/*", _refuse_outside)
        context.expose_binding("__zgodaScanCookieWrite", recorder.cookie_written)
        context.add_init_script(COOKIE_WRITES_JS)
        page = context.new_page()
        recorder.attach(context, page)
        recorder.after_choice = state is ScanState.BEFORE
        _load(page, url, limits)
        has_banner = True
        if state is ScanState.BEFORE:
            _settle(page, recorder, limits)
            try:
                page.locator(BANNER).wait_for(
                    state="attached", timeout=limits.banner_timeout * 1000
                )
            except PlaywrightError:
                has_banner = False
        else:
            # No settling before the choice: what loads meanwhile is recorded (as before the
            # choice) and its cookies are in the jar read at the end.
            _choose(context, page, state, limits, recorder)
            _settle(page, recorder, limits)
            _load(page, url, limits, reload=True)  # the next page view, with the choice stored
            _settle(page, recorder, limits)
        seen_at = time.time()
        cookies = tuple(_cookie(c, page_site, recorder) for c in context.cookies())
        stored = page.evaluate(STORAGE_JS)
        links = tuple(page.eval_on_selector_all("a[href]", LINKS_JS))
        tools = tuple(page.eval_on_selector_all("script[src]", TOOL_SCRIPTS_JS))
    finally:
        context.close()
    observation = StateObservation(
        page=url,
        state=state,
        seen_at=seen_at,
        cookies=cookies,
        storage=tuple(StorageKey(area, key) for area in stored for key in stored[area]),
        requests=recorder.third_party(),
    )
    return PageVisit(observation, links, tools, has_banner)


def _cookie(raw: Any, page_site: str, recorder: Recorder) -> ObservedCookie:
    expires = float(raw.get("expires", -1))
    return ObservedCookie(
        name=raw["name"],
        domain=raw["domain"],
        path=raw["path"],
        expires=expires if expires > 0 else None,
        secure=bool(raw.get("secure")),
        http_only=bool(raw.get("httpOnly")),
        same_site=str(raw.get("sameSite", "")),
        first_party=site_of(raw["domain"].lstrip(".")) == page_site,
        set_by=recorder.setter_of(raw["name"]),
    )

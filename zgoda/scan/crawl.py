"""The walk over a site: the given URL, then same-site pages found by links, three states each.

Every browser call has its own timeout (ScanLimits.page_timeout), and the walk checks the
total budget before each page and state, so a scan ends within about total_timeout plus one
page's timeout, however the site behaves.
"""

from __future__ import annotations

import time
from urllib.parse import urldefrag, urlsplit

from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import sync_playwright

from zgoda.scan.browser import launch, observe
from zgoda.scan.limits import NoZgodaBanner, ScanFailed, ScanLimits
from zgoda.scan.observations import ScanRun, ScanState, StateObservation

CHOICE_STATES = (ScanState.REJECTED, ScanState.ACCEPTED)


def same_origin_links(page: str, links: tuple[str, ...]) -> list[str]:
    """The links of `page` to its own origin, without fragments, in page order, once each."""
    origin = urlsplit(page)[:2]
    found: list[str] = []
    for link in links:
        url = urldefrag(link).url
        if urlsplit(url)[:2] == origin and url not in found:
            found.append(url)
    return found


def run_scan(url: str, extra_pages: int, limits: ScanLimits) -> ScanRun:
    """Scan `url` and up to `extra_pages` pages linked from it, each before any choice, after
    "Reject all" and after "Accept all"."""
    if urlsplit(url).scheme not in ("http", "https") or not urlsplit(url).hostname:
        raise ScanFailed(f"{url!r} is not an http(s) URL")
    started = time.time()
    deadline = time.monotonic() + limits.total_timeout
    queue: list[str] = [urldefrag(url).url]
    visited: list[str] = []
    observations: list[StateObservation] = []
    notes: list[str] = []
    tool_hosts: set[str] = set()
    try:
        with sync_playwright() as driver:
            browser = launch(driver.chromium)
            try:
                while queue and len(visited) <= extra_pages:
                    page = queue.pop(0)
                    visited.append(page)
                    _check_budget(deadline, limits, visited, page)
                    first = observe(browser, page, ScanState.BEFORE, limits)
                    observations.append(first.observation)
                    tool_hosts.update(urlsplit(src).hostname or "" for src in first.tool_scripts)
                    for link in same_origin_links(page, first.links):
                        if link not in visited and link not in queue:
                            queue.append(link)
                    if not first.has_banner:
                        notes.append(
                            f"{page}: no Zgoda banner, so only the state before any choice was scanned"
                        )
                        continue
                    for state in CHOICE_STATES:
                        _check_budget(deadline, limits, visited, page)
                        try:
                            observations.append(observe(browser, page, state, limits).observation)
                        except NoZgodaBanner as missing:
                            notes.append(f"{missing}; {state.value} not scanned")
            finally:
                browser.close()
    except PlaywrightError as error:
        raise ScanFailed(f"{url}: the browser failed: {str(error).splitlines()[0]}") from error
    return ScanRun(
        url=url,
        started_at=started,
        finished_at=time.time(),
        pages=tuple(visited),
        observations=tuple(observations),
        consent_tool_hosts=tuple(sorted(h for h in tool_hosts if h)),
        notes=tuple(notes),
    )


def _check_budget(deadline: float, limits: ScanLimits, visited: list[str], page: str) -> None:
    if time.monotonic() > deadline:
        raise ScanFailed(
            f"the scan went over its total time of {limits.total_timeout:g} s at {page} "
            f"(page {len(visited)}); raise --timeout or scan fewer pages"
        )

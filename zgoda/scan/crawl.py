"""The walk over a site: the given URL, then same-site pages found by links, three states each.

The three states of a page run at once, each in its own browser (zgoda.scan.workers).
Navigations have their own timeout (ScanLimits.page_timeout) and the walk checks the total
budget before each page. A page whose script never yields would still block the
calls that need its renderer (reading cookies, storage, links), so a watchdog thread kills
the Playwright driver and its Chromium once the scan outlives its budget plus one state's
longest legitimate run (`hard_limit`); the blocked call then fails and the scan reports it.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import wait
from contextlib import contextmanager, suppress
from urllib.parse import urldefrag, urlsplit

from playwright.sync_api import Browser
from playwright.sync_api import Error as PlaywrightError

from zgoda.scan.browser import PageVisit, observe
from zgoda.scan.limits import NoZgodaBanner, ScanFailed, ScanLimits
from zgoda.scan.observations import ScanRun, ScanState, StateObservation
from zgoda.scan.workers import BrowserPool

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
        with _hard_stop(hard_limit(limits)) as stopped, BrowserPool(len(ScanState)) as pool:
            while queue and len(visited) <= extra_pages:
                page = queue.pop(0)
                visited.append(page)
                _check_budget(deadline, limits, visited, page)
                # The three states at once, each in a fresh context of its own browser.
                visits = {
                    state: pool.submit(index, _visit(page, state, limits))
                    for index, state in enumerate(ScanState)
                }
                wait(visits.values())
                first = visits[ScanState.BEFORE].result()
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
                    try:
                        observations.append(visits[state].result().observation)
                    except NoZgodaBanner as missing:
                        notes.append(f"{missing}; {state.value} not scanned")
    except Exception as error:  # whatever the killed driver's pipe raises
        if stopped.is_set():
            raise ScanFailed(
                f"{url}: the scan was stopped after {hard_limit(limits):.0f} s: a page stopped "
                "answering the browser (a script that never yields?)"
            ) from error
        if isinstance(error, PlaywrightError):
            first_line = str(error).splitlines()[0] if str(error) else type(error).__name__
            raise ScanFailed(f"{url}: the browser failed: {first_line}") from error
        raise
    return ScanRun(
        url=url,
        started_at=started,
        finished_at=time.time(),
        pages=tuple(visited),
        observations=tuple(observations),
        consent_tool_hosts=tuple(sorted(h for h in tool_hosts if h)),
        notes=tuple(notes),
    )


def _visit(page: str, state: ScanState, limits: ScanLimits) -> Callable[[Browser], PageVisit]:
    def visit(browser: Browser) -> PageVisit:
        return observe(browser, page, state, limits)

    return visit


def hard_limit(limits: ScanLimits) -> float:
    """Seconds after which the watchdog ends a scan: the budget plus one state's longest
    legitimate run (a load and a reload, the banner and the recorded choice, three settles)."""
    one_state = 2 * limits.page_timeout + 2 * limits.banner_timeout + 3 * limits.settle_cap
    return limits.total_timeout + one_state + 5


def _driver_processes() -> list[int]:
    """This process's Playwright driver children and everything below them (Chromium)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            with suppress(OSError, IndexError, ValueError):
                with open(f"/proc/{entry}/stat") as stat:
                    parent = int(stat.read().rsplit(")", 1)[1].split()[1])
                children.setdefault(parent, []).append(int(entry))
    stack = []
    for pid in children.get(os.getpid(), []):
        with suppress(OSError), open(f"/proc/{pid}/cmdline", "rb") as cmdline:
            if b"playwright" in cmdline.read():
                stack.append(pid)
    found = []
    while stack:
        pid = stack.pop()
        found.append(pid)
        stack.extend(children.get(pid, []))
    return found


@contextmanager
def _hard_stop(seconds: float) -> Iterator[threading.Event]:
    """Kill the Playwright driver and its Chromium if the block outlives `seconds`."""
    fired = threading.Event()

    def stop() -> None:
        fired.set()
        for pid in _driver_processes():
            with suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)

    timer = threading.Timer(seconds, stop)
    timer.daemon = True
    timer.start()
    try:
        yield fired
    finally:
        timer.cancel()


def _check_budget(deadline: float, limits: ScanLimits, visited: list[str], page: str) -> None:
    if time.monotonic() > deadline:
        raise ScanFailed(
            f"the scan went over its total time of {limits.total_timeout:g} s at {page} "
            f"(page {len(visited)}); raise --timeout or scan fewer pages"
        )

"""One measured visit: a fresh browser context, optional throttling, the probe, one click.

Definitions (the same for every candidate):
- banner visible: the first animation frame in which the banner element is connected, has a
  box of at least 1x1 px inside the viewport, passes `checkVisibility` (display, visibility
  and opacity 0 up the tree) and is what `elementFromPoint` finds at its centre; ms from
  navigation start (the page's time origin);
- after the last byte: from the end of the last response that ended before the banner
  showed to the banner visible: the candidate's own script and rendering work;
- requests and bytes before the banner: every request the page sent before that moment
  (from the DevTools protocol's Network events, the document included), with the bytes
  each took on the wire (`encodedDataLength`: compressed body and headers);
- total blocking time: the sum of (duration - 50 ms) over long tasks that started between
  first contentful paint and the click;
- CLS: the sum of layout-shift values without recent input, until the click;
- LCP: the last largest-contentful-paint entry before the click;
- click -> banner hidden: from the click event's timestamp to the first frame in which the
  banner no longer passes the visibility test above;
- click -> gated script ran: from the click on "Accept all" to the gated tag setting its marker.
"""

from __future__ import annotations

from typing import Any

from playwright.sync_api import Browser

from .pages import Candidate

# DevTools' "Slow 4G" preset (its NetworkManager: 1.6 Mbps down x 0.9, 750 kbps up x 0.9,
# 150 ms x 3.75 latency), in the units Network.emulateNetworkConditions takes: bytes/s, ms.
SLOW_4G = {
    "offline": False,
    "latency": 150 * 3.75,
    "downloadThroughput": 1.6 * 1000 * 1000 / 8 * 0.9,
    "uploadThroughput": 750 * 1000 / 8 * 0.9,
}
CPU_SLOWDOWN = 4
# How long the page runs after the banner shows before the click: long tasks and shifts
# that follow the banner are counted.
SETTLE_MS = 1000
# A pause between finding the button (a script run in the page) and clicking it.
IDLE_MS = 250
TIMEOUT_MS = 30_000

PROBE = """
(() => {
  const m = window.__bench = {bannerAt: null, clickAt: null, handlerAt: null, hiddenAt: null, fcp: null,
    lcp: null, cls: 0, longTasks: []};
  const find = () => { try { return %BANNER%; } catch (e) { return null; } };
  const visible = el => {
    if (!el || !el.isConnected) return false;
    const r = el.getBoundingClientRect();
    if (r.width < 1 || r.height < 1 || r.bottom <= 0 || r.top >= innerHeight) return false;
    if (!el.checkVisibility({opacityProperty: true, visibilityProperty: true})) return false;
    const x = Math.min(Math.max((r.left + r.right) / 2, 0), innerWidth - 1);
    const y = Math.min(Math.max((Math.max(r.top, 0) + Math.min(r.bottom, innerHeight)) / 2, 0), innerHeight - 1);
    const hit = el.getRootNode().elementFromPoint(x, y);
    return !!hit && el.contains(hit);
  };
  const tick = () => {
    const shown = visible(find()), now = performance.now();
    if (m.bannerAt === null && shown) m.bannerAt = now;
    if (m.clickAt !== null && m.hiddenAt === null && !shown) m.hiddenAt = now;
    if (m.hiddenAt === null) requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
  addEventListener('click', e => {
    if (m.clickAt === null) [m.clickAt, m.handlerAt] = [e.timeStamp, performance.now()];
  }, true);
  const watch = (type, f) => new PerformanceObserver(list => list.getEntries().forEach(f))
    .observe({type, buffered: true});
  watch('paint', e => { if (e.name == 'first-contentful-paint') m.fcp = e.startTime; });
  watch('largest-contentful-paint', e => { if (m.clickAt === null) m.lcp = e.startTime; });
  watch('layout-shift', e => { if (!e.hadRecentInput && m.clickAt === null) m.cls += e.value; });
  watch('longtask', e => m.longTasks.push([e.startTime, e.duration]));
  // Event Timing: how long the click's listeners (the library's and this probe's) ran.
  new PerformanceObserver(list => list.getEntries().forEach(e => {
    if (e.name == 'click' && m.handlers === undefined) m.handlers = e.processingEnd - e.processingStart;
  })).observe({type: 'event', durationThreshold: 16, buffered: true});
})();
"""

# The probe's figures, the gated tag's marker, and when the last response that ended before
# the banner showed ended (Resource Timing gives responseEnd even cross-origin).
LAST_BYTE = """({...window.__bench, gatedAt: window.__gatedAt,
  lastByte: Math.max(...performance.getEntriesByType('navigation')
    .concat(performance.getEntriesByType('resource'))
    .map(e => e.responseEnd).filter(t => t <= window.__bench.bannerAt))})"""


def blocking_time(long_tasks: list[list[float]], start: float, end: float) -> float:
    """Total blocking time: the sum of (duration - 50) over long tasks starting in [start, end)."""
    return sum(max(0.0, d - 50) for at, d in long_tasks if start <= at < end)


def before_banner(requests: list[dict[str, Any]], banner_ms: float) -> tuple[int, int]:
    """How many requests were sent before the banner showed, and their bytes on the wire.

    `requests` hold `at` (seconds, the protocol's monotonic clock) in the order sent; the
    first is the document, sent at navigation start.
    """
    if not requests:
        return 0, 0
    start = requests[0]["at"]
    early = [r for r in requests if (r["at"] - start) * 1000 <= banner_ms]
    return len(early), sum(int(r["bytes"]) for r in early)


def visit(browser: Browser, url: str, candidate: Candidate, throttled: bool) -> dict[str, Any]:
    """One cold visit to `url`: load, wait for the banner, settle, click Accept all; metrics."""
    context = browser.new_context(locale="pl-PL", viewport={"width": 1280, "height": 800})
    try:
        context.add_init_script(PROBE.replace("%BANNER%", candidate.banner))
        page = context.new_page()
        cdp = context.new_cdp_session(page)
        requests: dict[str, dict[str, Any]] = {}

        def sent(event: dict[str, Any]) -> None:
            # The browser's own favicon request is neither the page's nor the banner's.
            url = event["request"]["url"]
            if not url.startswith("data:") and not url.endswith("/favicon.ico"):
                requests.setdefault(event["requestId"], {"at": event["timestamp"], "bytes": 0})

        def finished(event: dict[str, Any]) -> None:
            if event["requestId"] in requests:
                requests[event["requestId"]]["bytes"] = event["encodedDataLength"]

        cdp.on("Network.requestWillBeSent", sent)
        cdp.on("Network.loadingFinished", finished)
        cdp.send("Network.enable")
        cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})
        if throttled:
            cdp.send("Network.emulateNetworkConditions", SLOW_4G)
            cdp.send("Emulation.setCPUThrottlingRate", {"rate": CPU_SLOWDOWN})
        page.goto(url, wait_until="commit", timeout=TIMEOUT_MS)
        page.wait_for_function("window.__bench.bannerAt !== null", timeout=TIMEOUT_MS)
        page.wait_for_timeout(SETTLE_MS)
        # A bare mouse click at the button's centre: Playwright's click() would run its
        # actionability checks in the page just before (main-thread work the visitor's click
        # does not have), which the click -> hidden figure would then include.
        box = page.locator(candidate.accept).bounding_box(timeout=TIMEOUT_MS)
        if box is None:
            raise RuntimeError(f"{candidate.name}: no Accept all button on screen")
        page.wait_for_timeout(IDLE_MS)
        page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        page.wait_for_function(
            "window.__bench.hiddenAt !== null && window.__gatedAt !== undefined",
            timeout=TIMEOUT_MS,
        )
        page.wait_for_timeout(100)  # the click's Event Timing entry comes after its paint
        m = page.evaluate(LAST_BYTE)
    finally:
        context.close()
    count, size = before_banner(sorted(requests.values(), key=lambda r: r["at"]), m["bannerAt"])
    return {
        "banner_ms": m["bannerAt"],
        "requests": count,
        "bytes": size,
        "after_bytes_ms": m["bannerAt"] - m["lastByte"],
        "tbt_ms": blocking_time(m["longTasks"], m["fcp"] or 0.0, m["clickAt"]),
        "cls": m["cls"],
        "lcp_ms": m["lcp"],
        "hidden_ms": m["hiddenAt"] - m["clickAt"],
        "gated_ms": m["gatedAt"] - m["clickAt"],
        # How long the click waited for the page's main thread (input delay), part of hidden_ms.
        "input_ms": m["handlerAt"] - m["clickAt"],
        # How long the click's listeners ran (Event Timing; 0 when the whole click, to the next
        # paint, took under 16 ms, the API's smallest threshold), also part of hidden_ms.
        "handlers_ms": m.get("handlers") or 0.0,
    }

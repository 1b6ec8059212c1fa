"""The cookie scanner's time and memory: 10 pages x 3 states of a fixture shop.

    .venv/bin/python bench/scan_bench.py [--rounds 2] [--json results.json]

A Zgoda server (flask, threaded) serves the banner; the fixture shop of tests/e2e
(`/many/0.html` .. `/many/9.html`, linked to each other, on 127.0.0.2) and its ad network
(127.0.0.3) run in this process. Two scenarios, interleaved per round, in one session:

- scan: `run_scan(url, 9, ScanLimits(only_loopback=True))`, the whole scanner (crawl by links,
  three fresh contexts per page, the banner operated, DevTools recording, settling, cookies
  and storage read);
- bare: the same 30 page states with the same browser flags, each in a fresh context: load,
  and for the choice states press the banner's button, wait for the consent cookie and reload;
  no recording, no settling, nothing read (the floor a scan cannot go under).

Peak memory is the highest sum, sampled every 50 ms, of the proportional set sizes (PSS:
a page shared by n processes counts 1/n in each) of this process and all its descendants
(the Playwright driver and every Chromium process), from /proc/<pid>/smaps_rollup; the Zgoda
server runs in its own process tree and is not counted.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from playwright.sync_api import sync_playwright  # noqa: E402

from tests.e2e.scan_server import MANY_PAGES, PIXEL_HOST, SHOP_HOST, scan_sites, write_notices  # noqa: E402
from tests.servers import (  # noqa: E402
    flask_command,
    free_port,
    running_server,
    server_env,
    upgrade_database,
)
from zgoda.scan.browser import BANNER, CHOICE_BUTTONS, CONSENT_COOKIE, launch  # noqa: E402
from zgoda.scan.crawl import run_scan  # noqa: E402
from zgoda.scan.limits import ScanLimits  # noqa: E402

TARGET_SECONDS = 60.0


def _pss(pid: int) -> int:
    """Proportional set size of `pid` in bytes: shared pages split among their users."""
    with open(f"/proc/{pid}/smaps_rollup") as rollup:
        for line in rollup:
            if line.startswith("Pss:"):
                return int(line.split()[1]) * 1024
    return 0


def _tree_pss(root: int) -> int:
    """Memory of process `root` and every descendant (PSS, so Chromium's shared pages count
    once), from /proc."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                parent = int(stat.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(parent, []).append(int(entry))
    total, stack = 0, [root]
    while stack:
        pid = stack.pop()
        try:
            total += _pss(pid)
        except OSError:
            pass  # the process ended meanwhile
        stack.extend(children.get(pid, []))
    return total


@contextmanager
def peak_memory() -> Iterator[list[int]]:
    """Sample this process tree's memory until the block ends; the list holds the peak."""
    peak, stop = [0], threading.Event()

    def sample() -> None:
        while not stop.is_set():
            peak[0] = max(peak[0], _tree_pss(os.getpid()))
            stop.wait(0.05)

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    try:
        yield peak
    finally:
        stop.set()
        thread.join()


def bare(start: str) -> int:
    """The 30 page states with nothing recorded; how many were loaded."""
    pages = [start.replace("/0.html", f"/{n}.html") for n in range(MANY_PAGES)]
    loaded = 0
    with sync_playwright() as driver:
        browser = launch(driver.chromium)
        for page_url in pages:
            for choice in (None, 0, 1):
                context = browser.new_context()
                page = context.new_page()
                page.goto(page_url, wait_until="load")
                if choice is not None:
                    banner = page.locator(BANNER)
                    banner.wait_for(state="visible")
                    banner.locator(CHOICE_BUTTONS).nth(choice).click()
                    while not any(c["name"] == CONSENT_COOKIE for c in context.cookies()):
                        page.wait_for_timeout(25)
                    page.reload(wait_until="load")
                loaded += 1
                context.close()
        browser.close()
    return loaded


def measure(name: str, work: Callable[[], int]) -> dict[str, Any]:
    """One timed run of `work` with its peak memory."""
    with peak_memory() as peak:
        started = time.perf_counter()
        states = work()
        seconds = time.perf_counter() - started
    return {"scenario": name, "seconds": seconds, "states": states, "peak_mb": peak[0] / 2**20}


def main() -> None:
    """Run the rounds and print a Markdown table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="scan-bench-"))
    shop = f"http://{SHOP_HOST}:{free_port(SHOP_HOST)}"
    pixel = f"http://{PIXEL_HOST}:{free_port(PIXEL_HOST)}"
    port = free_port()
    zgoda = f"http://127.0.0.1:{port}"
    env = server_env(
        DATABASE_URL=f"sqlite:///{workdir / 'zgoda.sqlite3'}",
        NOTICES_DIR=str(write_notices(workdir / "notices", pixel)),
        ALLOWED_ORIGINS=shop,
        PUBLIC_URL=zgoda,
    )
    env["FLASK_DEBUG"] = "0"
    upgrade_database(env)
    start = f"{shop}/many/0.html"
    limits = ScanLimits(only_loopback=True)
    results: list[dict[str, Any]] = []
    load_before = os.getloadavg()
    with running_server(flask_command(port), port, env, workdir / "server.log"):
        with scan_sites(shop, pixel, zgoda):
            for _ in range(args.rounds):
                run = measure("scan", lambda: len(run_scan(start, 9, limits).observations))
                results.append(run)
                results.append(measure("bare", lambda: bare(start)))
    for name in ("scan", "bare"):
        runs = [r for r in results if r["scenario"] == name]
        assert all(r["states"] == 3 * MANY_PAGES for r in runs), runs
    scan_s = statistics.median(r["seconds"] for r in results if r["scenario"] == "scan")
    bare_s = statistics.median(r["seconds"] for r in results if r["scenario"] == "bare")
    print("| scenario | page states | median s | rounds (s) | peak MB (max) |")
    print("| --- | ---: | ---: | --- | ---: |")
    for name, median in (("scan", scan_s), ("bare", bare_s)):
        runs = [r for r in results if r["scenario"] == name]
        rounds = ", ".join(f"{r['seconds']:.1f}" for r in runs)
        peak = max(r["peak_mb"] for r in runs)
        print(f"| {name} | {runs[0]['states']} | {median:.1f} | {rounds} | {peak:.0f} |")
    load_after = os.getloadavg()
    print("\nload average (1, 5, 15 min) before: " + ", ".join(f"{x:.1f}" for x in load_before)
          + "; after: " + ", ".join(f"{x:.1f}" for x in load_after))  # fmt: skip
    verdict = "MET" if scan_s <= TARGET_SECONDS else "MISSED"
    print(f"\nscan / bare: {scan_s / bare_s:.2f} x; target 10 pages x 3 states <= "
          f"{TARGET_SECONDS:.0f} s: {verdict} ({scan_s:.1f} s)")  # fmt: skip
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()

"""Zgoda's banner against its peers, side by side, in Debian's Chromium (issue 13, item 7).

    .venv/bin/python bench/embed_peers.py [--runs 15] [--json results.json]

The peers, vanilla-cookieconsent 3.1.0, Klaro 0.7.22 and tarteaucitron 1.34.0, are pinned in
bench/embed_peers/package.json + package-lock.json (bench-only) and installed there with
`npm ci` when this script runs. Each candidate gets the same customer page (bench/embed_peers/
pages.py) on a second loopback origin (127.0.0.2), the peers' files self-hosted there, Zgoda's
script from a real Zgoda server (gunicorn) on 127.0.0.1. Candidates: Zgoda's /embed.js (which
then fetches the banner configuration), Zgoda's per-site script /embed/optingo.js when that
route answers 200 (left out, and said so, otherwise), and the three peers.

Every visit is a fresh browser context (empty cache, no stored choice). Runs are interleaved:
each round visits every candidate once per condition, the order rotating from round to round,
so that a burst of other work on this shared machine lands on all candidates alike. The two
conditions: unthrottled, and DevTools' Slow 4G with 4x CPU slowdown (bench/embed_peers/
measure.py has the figures and the definition of every metric). Medians and p90s per
candidate and condition, then MET / MISSED for each of the issue's targets.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(ROOT))

from embed_peers.measure import visit  # noqa: E402
from embed_peers.pages import CANDIDATES, page  # noqa: E402
from embed_peers.site import customer_site  # noqa: E402
from embed_peers.stats import CONDITIONS, Summaries, summarize, table, verdicts  # noqa: E402
from playwright.sync_api import sync_playwright  # noqa: E402

from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS, CUSTOMER_HOST  # noqa: E402
from tests.servers import (  # noqa: E402
    free_port,
    gunicorn_command,
    running_server,
    server_env,
    upgrade_database,
)

PEERS_DIR = BENCH / "embed_peers"
SITE = "optingo"


def install_peers() -> None:
    """`npm ci` in bench/embed_peers: the pinned peers, unless node_modules matches the lock."""
    stamp = PEERS_DIR / "node_modules" / ".package-lock.json"
    lock = PEERS_DIR / "package-lock.json"
    if stamp.exists() and stamp.stat().st_mtime >= lock.stat().st_mtime:
        return
    subprocess.run(
        ["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=PEERS_DIR, check=True
    )


def fetch(url: str, gzipped: bool = False) -> tuple[int, bytes]:
    """GET `url`: the status and the body as it came over the wire."""
    headers = {"Accept-Encoding": "gzip"} if gzipped else {}
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=10) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as error:
        return error.code, b""


def machine() -> str:
    """nproc, CPU model, Chromium's version: the line the docs quote."""
    model = next(
        (line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
         if line.startswith("model name")), platform.processor(),
    )  # fmt: skip
    version = subprocess.run([CHROMIUM, "--version"], capture_output=True, text=True).stdout
    cores = subprocess.run(["nproc"], capture_output=True, text=True).stdout.strip()
    return f"nproc {cores}, {model}, {version.strip()}, Python {platform.python_version()}"


def measure(
    zgoda: str, customer: str, keys: list[str], runs: int
) -> tuple[Summaries, dict[str, Any]]:
    """Interleaved visits: each round, each condition, every candidate in rotating order."""
    raw: dict[str, dict[str, list[dict[str, Any]]]] = {c: {k: [] for k in keys} for c in CONDITIONS}
    failures: list[str] = []
    with sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            for number in range(runs):
                order = keys[number % len(keys) :] + keys[: number % len(keys)]
                for condition in CONDITIONS:
                    for key in order:
                        try:
                            result = visit(
                                browser, f"{customer}/{key}.html", CANDIDATES[key],
                                throttled=condition != "unthrottled",
                            )  # fmt: skip
                        except Exception as error:  # a timeout: counted, reported, not fatal
                            failures.append(f"round {number + 1} {condition} {key}: {error}")
                            print("  failed:", failures[-1].splitlines()[0], file=sys.stderr)
                            continue
                        raw[condition][key].append(result)
                print(f"round {number + 1}/{runs} done", file=sys.stderr)
        finally:
            browser.close()
    summaries = {c: {k: summarize(v) for k, v in by.items() if v} for c, by in raw.items()}
    return summaries, {"runs": raw, "failures": failures}


def main() -> int:
    """Start Zgoda and the customer origin, measure, print the table and the targets."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15, help="visits per candidate and condition")
    parser.add_argument("--json", type=Path, help="write every visit's metrics here")
    args = parser.parse_args()
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    install_peers()
    customer = f"http://{CUSTOMER_HOST}:{free_port(CUSTOMER_HOST)}"
    with tempfile.TemporaryDirectory(prefix="zgoda-embed-peers-") as tmp:
        port = free_port()
        zgoda = f"http://127.0.0.1:{port}"
        env = server_env(
            DATABASE_URL=f"sqlite:///{Path(tmp) / 'zgoda.sqlite3'}",
            ALLOWED_ORIGINS=customer,
            PUBLIC_URL=zgoda,
            CONSENT_RATE_LIMIT="1000000000 per minute",  # the limit is not what is measured
        )
        env["ZGODA_SECRET_KEY"] = "bench-embed-peers-secret-key-of-48-characters-x"
        upgrade_database(env)
        with running_server(gunicorn_command(port), port, env, Path(tmp) / "server.log"):
            status, body = fetch(f"{zgoda}/api/v1/sites/{SITE}/banner?lang=pl")
            if status != 200:
                raise SystemExit(f"Zgoda's banner configuration answered {status}")
            config = json.loads(body)
            keys = list(CANDIDATES)
            site_status = fetch(f"{zgoda}/embed/{SITE}.js")[0]
            if site_status != 200:
                keys.remove("zgoda-site")
                print(
                    f"zgoda per-site script left out: GET /embed/{SITE}.js answered {site_status}"
                )
            sizes = {
                path: len(fetch(f"{zgoda}{path}", gzipped=True)[1])
                for path in ("/embed.js", f"/embed/{SITE}.js")[: 1 + (site_status == 200)]
            }
            pages = {f"/{key}.html": page(key, config, zgoda) for key in keys}
            with customer_site(CUSTOMER_HOST, int(customer.rsplit(":", 1)[1]), pages):
                started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
                load = os.getloadavg()[0]
                summaries, details = measure(zgoda, customer, keys, args.runs)
                details["load"] = [load, os.getloadavg()[0]]
    report(summaries, details, sizes, started, args.runs)
    if args.json:
        args.json.write_text(json.dumps({"summaries": summaries, "sizes": sizes, **details}))
    return 0


def report(
    summaries: Summaries, details: dict[str, Any], sizes: dict[str, int], started: str, runs: int
) -> None:
    """Print the machine, the table (median (p90)), the failures and the targets."""
    print(f"\n{started}, {runs} runs per candidate and condition; {machine()}")
    print("load average (1 min) at the start and the end:", details["load"])
    print("Zgoda's scripts as served, gzip bytes:", ", ".join(f"{p} {n}" for p, n in sizes.items()))
    print(table(summaries, {k: c.name for k, c in CANDIDATES.items()}))
    for failure in details["failures"]:
        print("failed visit:", failure.splitlines()[0])
    print("\nTargets (issue 13, item 7):")
    for target, figure, met in verdicts(summaries, sizes["/embed.js"]):
        print(f"  {'MET   ' if met else 'MISSED'} {target}: {figure}")


if __name__ == "__main__":
    sys.exit(main())

"""Consent-log export and chain check at scale, on SQLite and PostgreSQL.

    .venv/bin/python bench/export_bench.py [--sizes 100000 1000000] [--databases sqlite postgresql]
                                           [--json results.json]

For each database and size it fills a fresh log with that many optingo records (bulk
inserts, chain hashes computed in Python exactly as `append_event` would), then runs each
command below as its own `flask --app app ...` process and reads that process's wall time
and peak resident memory (`os.wait4`):

- `consents export --format csv|ndjson --output /dev/null`, and `--output FILE.csv.gz`;
- `consents verify FILE.csv.gz` (the offline check of that export);
- `consents verify --db --site optingo` (the live chain check);
- a baseline: exporting a site with no records (start-up and imports only).

SQLite lives in a temporary directory; PostgreSQL gets a throwaway database on
`ZGODA_BENCH_POSTGRES_URL` (default postgresql+psycopg://postgres@127.0.0.1:5432/test),
dropped at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app import create_app  # noqa: E402
from zgoda.store.chain import GENESIS, link_hash, personal_hash  # noqa: E402
from zgoda.store.db import make_engine  # noqa: E402
from zgoda.store.migrate import upgrade  # noqa: E402
from zgoda.store.tables import chain_heads, consent_events  # noqa: E402

SITE = "optingo"
EMPTY_SITE = "xopero"
POSTGRES_ADMIN_URL = os.environ.get(
    "ZGODA_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
FLASK = str(ROOT / ".venv" / "bin" / "flask")
BATCH = 10_000
TARGET_SECONDS = 20.0
TARGET_PEAK_MB = 150.0
BROWSERS = ["Chrome", "Firefox", "Safari", "Edge", "Samsung Internet", "Opera", "Other"]


@dataclass(frozen=True)
class Run:
    """One measured command."""

    database: str
    records: int
    command: str
    seconds: float
    peak_mb: float
    output: str


def fake_records(
    count: int, notice_version: str, optional: list[str], seed: int = 7
) -> Iterator[dict[str, Any]]:
    """`count` chained optingo records over the last two years, oldest first."""
    rng = random.Random(seed)
    start = datetime.now(UTC) - timedelta(days=730)
    step = timedelta(days=730) / count
    prev_hash = GENESIS
    for sequence in range(1, count + 1):
        action = rng.choice(["accept_all", "reject_all", "custom", "custom", "withdraw"])
        if action == "custom":
            choices = {purpose: rng.random() < 0.4 for purpose in optional}
        else:
            choices = dict.fromkeys(optional, action == "accept_all")
        recorded_at = start + step * sequence
        record: dict[str, Any] = {
            "site_id": SITE,
            "consent_id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            "notice_version": notice_version,
            "content_hash": "5f0c3a9e1b2d4c6f",
            "locale": rng.choice(["pl", "pl", "en"]),
            "action": action,
            "choices": {"necessary": True} | choices,
            "source": rng.choice(["banner", "banner", "banner", "preferences_page", "api"]),
            "gpc": rng.random() < 0.1,
            "user_agent_family": rng.choice(BROWSERS),
            "ip_prefix": f"{rng.randrange(1, 224)}.{rng.randrange(256)}.{rng.randrange(256)}.0/24",
            "recorded_at": recorded_at,
            "expires_at": recorded_at + timedelta(days=180),
            "sequence": sequence,
            "prev_hash": prev_hash,
            "erased_at": None,
        }
        record["personal_hash"] = personal_hash(record)
        record["record_hash"] = prev_hash = link_hash(prev_hash, record)
        yield record


def fill(url: str, count: int, notice_version: str, optional: list[str]) -> float:
    """Bulk-insert `count` chained records and the chain head; returns the seconds it took."""
    began = time.perf_counter()
    engine = make_engine(url)
    last: dict[str, Any] = {}
    with engine.begin() as connection:
        batch: list[dict[str, Any]] = []
        for record in fake_records(count, notice_version, optional):
            batch.append(record)
            if len(batch) == BATCH:
                connection.execute(consent_events.insert(), batch)
                last, batch = batch[-1], []
        if batch:
            connection.execute(consent_events.insert(), batch)
            last = batch[-1]
        connection.execute(
            chain_heads.insert().values(
                site_id=SITE, sequence=last["sequence"], record_hash=last["record_hash"]
            )
        )
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("VACUUM ANALYZE consent_events"))
    engine.dispose()
    return time.perf_counter() - began


@contextmanager
def database(kind: str, workdir: Path) -> Iterator[str]:
    """The URL of an empty database of `kind`, removed afterwards."""
    if kind == "sqlite":
        # A fresh file per run: a second size must not append to the first one's chain.
        path = workdir / f"bench-{uuid.uuid4().hex[:12]}.sqlite3"
        try:
            yield f"sqlite:///{path}"
        finally:
            for suffix in ("", "-wal", "-shm", "-journal", ".writer-lock"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
        return
    name = f"zgoda_bench_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def measure(url: str, args: list[str]) -> tuple[float, float, str]:
    """Run `flask --app app ARGS` on `url`; its wall seconds, peak RSS in MB and last output line."""
    env = os.environ | {
        "DATABASE_URL": url,
        "ZGODA_SECRET_KEY": "bench-secret-of-at-least-thirty-two-bytes",
    }
    env["ZGODA_PUBLIC_URL"] = "http://127.0.0.1"
    began = time.perf_counter()
    process = subprocess.Popen(
        [FLASK, "--app", "app", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert process.stdout is not None
    output = process.stdout.read()
    # wait4 gives this child's own rusage; RUSAGE_CHILDREN would be the maximum of all of them.
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - began
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise SystemExit(f"flask {' '.join(args)} failed ({process.returncode}):\n{output}")
    return seconds, usage.ru_maxrss / 1024, (output.strip().splitlines() or [""])[-1]


def bench(kind: str, count: int, workdir: Path) -> list[Run]:
    """Fill a fresh `kind` database with `count` records and measure every command on it."""
    runs: list[Run] = []
    with database(kind, workdir) as url:
        app = create_app({"TESTING": True, "SECRET_KEY": "bench", "DATABASE_URL": url})
        upgrade(app)
        app.extensions["zgoda_db"].dispose()
        notice_version = app.extensions["zgoda_notices"].notices[SITE].version
        notice = app.extensions["zgoda_notices"].notices[SITE].notice
        optional = [purpose.id for purpose in notice.cookies.purposes if not purpose.required]
        seconds = fill(url, count, notice_version, optional)
        print(f"{kind} {count:,}: filled in {seconds:.1f} s", file=sys.stderr, flush=True)
        archive = workdir / "export.csv.gz"
        commands = {
            "baseline (empty site)": ["consents", "export", "--site", EMPTY_SITE]
            + ["--format", "csv", "--output", os.devnull],
            "export csv": ["consents", "export", "--site", SITE, "--format", "csv"]
            + ["--output", os.devnull],
            "export ndjson": ["consents", "export", "--site", SITE, "--format", "ndjson"]
            + ["--output", os.devnull],
            "export csv.gz": ["consents", "export", "--site", SITE, "--format", "csv"]
            + ["--output", str(archive)],
            "verify FILE (csv.gz)": ["consents", "verify", str(archive)],
            "verify --db": ["consents", "verify", "--db", "--site", SITE],
        }
        for name, args in commands.items():
            seconds, peak, output = measure(url, args)
            run = Run(kind, count, name, round(seconds, 2), round(peak, 1), output[:120])
            print(f"  {name:24} {run.seconds:7.2f} s {run.peak_mb:7.1f} MB  {run.output}")
            runs.append(run)
        archive.unlink(missing_ok=True)
    return runs


def main() -> None:
    """Run every database and size; print a table and optionally write JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="+", type=int, default=[100_000, 1_000_000])
    parser.add_argument("--databases", nargs="+", default=["sqlite", "postgresql"])
    parser.add_argument("--json", type=Path, help="Write the results here.")
    options = parser.parse_args()
    runs: list[Run] = []
    with tempfile.TemporaryDirectory(prefix="zgoda-export-bench-") as workdir:
        for kind in options.databases:
            for count in options.sizes:
                runs += bench(kind, count, Path(workdir))
    print("\n| database | records | command | seconds | peak RSS (MB) |")
    print("| --- | ---: | --- | ---: | ---: |")
    for run in runs:
        slow = " ⚠" if run.seconds > TARGET_SECONDS or run.peak_mb > TARGET_PEAK_MB else ""
        print(
            f"| {run.database} | {run.records:,} | {run.command} | {run.seconds:.1f}{slow} "
            f"| {run.peak_mb:.0f} |"
        )
    if options.json:
        machine = {"python": platform.python_version(), "cpus": os.cpu_count()}
        body = {"machine": machine, "runs": [asdict(run) for run in runs]}
        options.json.write_text(json.dumps(body, indent=2))


if __name__ == "__main__":
    main()

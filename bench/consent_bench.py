"""Consent API throughput and latency under gunicorn on loopback, measured with wrk.

    .venv/bin/python bench/consent_bench.py [--duration 12] [--rounds 3] [--json results.json]

Nine scenarios, the same gunicorn settings for each, interleaved in rounds so that a burst of
other work on the machine does not land on one scenario only:

- bare: a one-route Flask app (bench/bare_app.py), the reference;
- bare-post: the bare app parsing the consent's JSON body and answering 201 (no database),
  what any POST costs before it does anything (shown, no target);
- banner: GET the banner configuration (built at start-up, no database);
- consent-sqlite: POST a new consent, SQLite log (WAL, synchronous=FULL) under instance/;
- consent-postgresql: POST a new consent, PostgreSQL log;
- consent-webhooks-sqlite, consent-webhooks-postgresql (with --webhooks): the same POST on a
  log of its own where the site has one webhook endpoint, so each write also inserts an outbox
  row in its transaction (no worker delivers them: the write's own cost);
- bare-write-sqlite, bare-write-postgresql: the bare app inserting and committing one row
  per POST on the same databases, the floor of a durable write, the consent writes' reference;
- django-sqlite, django-postgresql: the peer, django-cookie-consent (bench/django_peer/, its
  pinned packages in bench/requirements.txt, installed into the venv when these are asked for
  and missing), recording a choice through its own accept view: POST cookie_groups=statistics
  to /cookies/accept/ (with the X-Cookie-Consent-Fetch header its JavaScript sends, so the view
  answers 200 rather than a redirect), each POST writing one row to its consent log
  (COOKIE_CONSENT_LOG_ENABLED). Its accept and decline views are CSRF-protected; the peer's
  urls wrap them in csrf_exempt, so that wrk needs no token: the comparison is of the write
  path, not of CSRF. SQLite: its own file beside Zgoda's, WAL, synchronous=FULL; PostgreSQL:
  the same database as Zgoda's.

Targets: banner >= 80 % of bare; each consent write >= 100 % of the bare write on the same
database, measured in the same run, with p99 <= 30 ms at 32 connections. The summary prints
MET or MISSED for each, and Zgoda's consent-write throughput as a multiple of the peer's.

Each server leads its own process group, so the CPU its master and workers use is read from
/proc, as is PostgreSQL's; what the machine spent beyond them and wrk is other load, and a run
that other load disturbed is tried again.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import os
import platform
import re
import resource
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parent.parent
BENCH = Path(__file__).resolve().parent
SITE = "optingo"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
POSTGRES_ADMIN_URL = os.environ.get(
    "ZGODA_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
# banner against bare; a consent write against the bare write on its own database.
TARGET_BANNER_SHARE = 0.80
TARGET_WRITE_SHARE = 1.00
TARGET_P99_MS = 30.0
DATABASES = ("sqlite", "postgresql")
PEER_PATH = "/cookies/accept/"
PEER_BODY = "cookie_groups=statistics"
PEER_HEADERS = ("application/x-www-form-urlencoded", "X-Cookie-Consent-Fetch: 1")
# Each write scenario's log: the table holding one row per answered POST.
LOG_TABLES = {"consent": "consent_events", "django": "cookie_consent_logitem"}
# CPU (in cores) that other processes may use during a run before it counts as disturbed.
DISTURBED_CORES = 0.25
# A PostgreSQL backend serving a client shows the client's address in its title.
CLIENT_BACKEND = re.compile(r"\(\d+\)|\[local\]")


@dataclass(frozen=True)
class Server:
    """A gunicorn server: where it listens, and the process group of its master and workers."""

    port: int
    group: int


@dataclass(frozen=True)
class Scenario:
    """What wrk sends where: a GET, or a POST of `body`.

    The body is JSON unless `headers` names its content type first; more `Name: value` headers
    may follow.
    """

    server: Server
    path: str
    body: str | None = None
    headers: tuple[str, ...] = ()


@dataclass
class Run:
    """One wrk run of one scenario; round 0 is a warm-up."""

    scenario: str
    round: int
    requests: int
    seconds: float
    errors: dict[str, int]
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    server_cpu_ms_per_request: float
    postgres_cpu_ms_per_request: float
    server_cores: float
    postgres_cores: float
    wrk_cores: float
    other_cores: float
    steal_cores: float

    @property
    def rps(self) -> float:
        return self.requests / self.seconds


@dataclass(frozen=True)
class CpuSnapshot:
    """CPU seconds used so far: the machine (busy, stolen), wrk, and each process followed."""

    machine: float
    steal: float
    wrk: float
    server: dict[int, float]
    postgres: dict[int, float]


class Bench:
    """Runs wrk against the scenarios and accounts for the CPU each run used."""

    def __init__(self, wrk: str, args: argparse.Namespace, postgres_database: str):
        self.wrk = wrk
        self.args = args
        self.postgres_database = postgres_database

    def measure(self, scenarios: dict[str, Scenario]) -> tuple[list[Run], list[Run]]:
        """A warm-up of each scenario, then interleaved rounds: (every try, the counted runs)."""
        for name, scenario in scenarios.items():
            self.run(name, 0, scenario, self.args.warmup)
        attempts: list[Run] = []
        runs: list[Run] = []
        for number in range(1, self.args.rounds + 1):
            for name, scenario in scenarios.items():
                tries: list[Run] = []
                for _ in range(1 + self.args.retries):
                    wait_until_quiet(self.args.quiet_wait)
                    tries.append(self.run(name, number, scenario, self.args.duration))
                    if tries[-1].other_cores <= DISTURBED_CORES:
                        break
                attempts += tries
                runs.append(min(tries, key=lambda run: run.other_cores))
        return attempts, runs

    def run(self, name: str, number: int, scenario: Scenario, seconds: int) -> Run:
        """One wrk run, with the CPU use read from /proc around it."""
        url = f"http://127.0.0.1:{scenario.server.port}{scenario.path}"
        command = [
            self.wrk, "-t", str(self.args.wrk_threads), "-c", str(self.args.connections),
            "-d", f"{seconds}s", "--timeout", "10s", "-s", str(BENCH / "wrk_report.lua"), url,
        ]  # fmt: skip
        if scenario.body is not None:
            command += ["--", scenario.body, *scenario.headers]
        before = self.snapshot(scenario.server)
        finished = subprocess.run(command, capture_output=True, text=True, check=True, timeout=120)
        after = self.snapshot(scenario.server)
        line = next(x for x in finished.stdout.splitlines() if x.startswith("WRK_JSON "))
        stats: dict[str, Any] = json.loads(line.removeprefix("WRK_JSON "))
        wall, requests, latency = stats["duration_us"] / 1e6, stats["requests"], stats["latency_us"]
        server, postgres = used(before.server, after.server), used(before.postgres, after.postgres)
        wrk = after.wrk - before.wrk
        other = after.machine - before.machine - server - postgres - wrk
        run = Run(
            scenario=name,
            round=number,
            requests=requests,
            seconds=wall,
            errors=stats["errors"],
            p50_ms=latency["p50"] / 1000,
            p90_ms=latency["p90"] / 1000,
            p99_ms=latency["p99"] / 1000,
            max_ms=latency["max"] / 1000,
            server_cpu_ms_per_request=1000 * server / max(requests, 1),
            postgres_cpu_ms_per_request=1000 * postgres / max(requests, 1),
            server_cores=server / wall,
            postgres_cores=postgres / wall,
            wrk_cores=wrk / wall,
            other_cores=max(other, 0.0) / wall,
            steal_cores=(after.steal - before.steal) / wall,
        )
        print(
            f"{'warm-up' if number == 0 else f'round {number}':8} {name:19} {run.rps:6.0f} req/s"
            f"  p50 {run.p50_ms:6.1f} ms  p99 {run.p99_ms:6.1f} ms  cores: server "
            f"{run.server_cores:.2f} postgres {run.postgres_cores:.2f} wrk {run.wrk_cores:.2f} "
            f"other {run.other_cores:.2f} steal {run.steal_cores:.2f}  errors {run.errors}",
            file=sys.stderr,
        )
        return run

    def snapshot(self, server: Server) -> CpuSnapshot:
        machine, steal = machine_busy()
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)  # wrk, once it has been waited for
        return CpuSnapshot(
            machine=machine,
            steal=steal,
            wrk=usage.ru_utime + usage.ru_stime,
            server=process_cpu(lambda _name, group, _title: group == server.group),
            postgres=process_cpu(self._ours_in_postgres),
        )

    def _ours_in_postgres(self, name: str, _group: int, title: str) -> bool:
        # PostgreSQL's shared processes, and the backends serving our database, not others'.
        if name != "postgres":
            return False
        return self.postgres_database in title or not CLIENT_BACKEND.search(title)


SCENARIO_NAMES = (
    "bare",
    "bare-post",
    "banner",
    "consent-sqlite",
    "consent-postgresql",
    "consent-webhooks-sqlite",
    "consent-webhooks-postgresql",
    "bare-write-sqlite",
    "bare-write-postgresql",
    "django-sqlite",
    "django-postgresql",
)


def main() -> int:
    args = parse_args()
    wrk = ensure_wrk()
    (ROOT / "instance").mkdir(exist_ok=True)
    with ExitStack() as stack:
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(dir=ROOT / "instance")))
        databases = {
            "sqlite": f"sqlite:///{workdir / 'zgoda.sqlite3'}",
            "postgresql": stack.enter_context(postgres_database()),
        }
        wanted = set(args.only or SCENARIO_NAMES)
        peer_databases = {
            "sqlite": f"sqlite:///{workdir / 'django.sqlite3'}",
            "postgresql": databases["postgresql"],
        }
        peer_databases = {
            database: url
            for database, url in peer_databases.items()
            if f"django-{database}" in wanted
        }
        if peer_databases:
            ensure_peer_packages()
        gunicorn = ["--workers", str(args.workers), "--worker-class", args.worker_class]
        gunicorn += ["--threads", str(args.threads)]
        bare_env = bare_write_tables(workdir / "bare.sqlite3", databases["postgresql"])
        bare = stack.enter_context(server("bare", None, gunicorn, workdir, bare_env))
        zgoda = {
            database: stack.enter_context(server(f"zgoda-{database}", url, gunicorn, workdir))
            for database, url in databases.items()
        }
        hooked: dict[str, str] = {}  # database -> URL of a log whose site has a webhook
        if args.webhooks or any(name.startswith("consent-webhooks") for name in args.only or ()):
            hooked = {
                "sqlite": f"sqlite:///{workdir / 'zgoda-webhooks.sqlite3'}",
                # Named after the first, so its backends count as ours (Bench._ours_in_postgres).
                "postgresql": stack.enter_context(
                    postgres_database(databases["postgresql"].rsplit("/", 1)[1] + "_webhooks")
                ),
            }
        hooked_servers = {
            database: stack.enter_context(
                server(f"zgoda-webhooks-{database}", url, gunicorn, workdir, webhook=True)
            )
            for database, url in hooked.items()
        }
        body = json.dumps(
            {
                "action": "accept_all",
                "notice_version": notice_version(zgoda["sqlite"]),
                "locale": "pl",
            }
        )
        peer = {
            database: stack.enter_context(
                django_server(f"django-{database}", url, gunicorn, workdir)
            )
            for database, url in peer_databases.items()
        }
        consents = f"/api/v1/sites/{SITE}/consents"
        scenarios = {
            "bare": Scenario(bare, "/ping"),
            "bare-post": Scenario(bare, "/echo", body),
            "banner": Scenario(zgoda["sqlite"], f"/api/v1/sites/{SITE}/banner?lang=pl"),
            "consent-sqlite": Scenario(zgoda["sqlite"], consents, body),
            "consent-postgresql": Scenario(zgoda["postgresql"], consents, body),
            **{
                f"consent-webhooks-{database}": Scenario(server, consents, body)
                for database, server in hooked_servers.items()
            },
            "bare-write-sqlite": Scenario(bare, "/write/sqlite", body),
            "bare-write-postgresql": Scenario(bare, "/write/postgresql", body),
            **{
                f"django-{database}": Scenario(server, PEER_PATH, PEER_BODY, PEER_HEADERS)
                for database, server in peer.items()
            },
        }
        if args.only:
            keep = {"bare", *args.only}  # every figure is relative to bare
            scenarios = {name: scenario for name, scenario in scenarios.items() if name in keep}
        print(machine_report(wrk, databases["postgresql"]), file=sys.stderr)
        bench = Bench(wrk, args, databases["postgresql"].rsplit("/", 1)[1])
        attempts, runs = bench.measure(scenarios)
        logs = {f"consent-{database}": url for database, url in databases.items()}
        logs |= {f"consent-webhooks-{database}": url for database, url in hooked.items()}
        logs |= {f"django-{database}": url for database, url in peer_databases.items()}
        written = {
            name: count_rows(url, LOG_TABLES[name.split("-", 1)[0]])
            for name, url in logs.items()
            if name in scenarios
        }
    answered = {
        name: sum(run.requests for run in attempts if run.scenario == name) for name in written
    }
    print(report(runs, attempts, args, written, answered))
    if args.json:
        every_try = [asdict(run) | {"counted": run in runs} for run in attempts]
        args.json.write_text(json.dumps(every_try, indent=2) + "\n")
    failed = [run for run in attempts if any(run.errors.values())]
    # Warm-up writes are in the log but not in `answered`: the log may hold more, never less.
    lost = [name for name in written if written[name] < answered[name]]
    return 1 if failed or lost else 0


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    option = parser.add_argument
    option("--duration", type=int, default=12, help="seconds per measured wrk run")
    option("--warmup", type=int, default=3, help="seconds of unmeasured load first")
    option("--rounds", type=int, default=3, help="measured runs per scenario")
    option("--connections", type=int, default=32)
    option("--wrk-threads", type=int, default=2)
    option("--workers", type=int, default=4, help="gunicorn --workers")
    option("--worker-class", default="gthread", help="gunicorn --worker-class")
    option("--threads", type=int, default=8, help="gunicorn --threads (gthread)")
    option("--json", type=Path, help="also write every run to this file")
    option("--webhooks", action="store_true", help="also the writes with a webhook endpoint")
    option("--quiet-wait", type=float, default=60, help="seconds to wait for a calm machine")
    option("--retries", type=int, default=2, help="extra tries of a disturbed run")
    option(
        "--only",
        nargs="+",
        choices=SCENARIO_NAMES,
        help="run just these scenarios and bare (a quick look; a published run takes all)",
    )
    return parser.parse_args()


def ensure_wrk() -> str:
    """The path of wrk, installing Debian's package when we are root; else a clear exit."""
    found = shutil.which("wrk")
    if not found and os.geteuid() == 0 and shutil.which("apt-get"):
        print("Installing Debian's wrk package", file=sys.stderr)
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        for command in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "wrk"]):
            subprocess.run(command, env=env, check=False, stdout=subprocess.DEVNULL)
        found = shutil.which("wrk")
    if not found:
        sys.exit("wrk is missing: install it with `apt-get install wrk` (as root), then rerun.")
    return found


@contextmanager
def postgres_database(name: str | None = None) -> Iterator[str]:
    """A fresh PostgreSQL database for this run (`name`, or a new one), dropped at the end."""
    name = name or f"zgoda_bench_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as error:
        sys.exit(
            f"PostgreSQL at {POSTGRES_ADMIN_URL} is needed (ZGODA_BENCH_POSTGRES_URL): {error}"
        )
    try:
        yield POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@contextmanager
def server(
    name: str,
    database_url: str | None,
    gunicorn: list[str],
    workdir: Path,
    extra_env: dict[str, str] | None = None,
    webhook: bool = False,
) -> Iterator[Server]:
    """A gunicorn process group serving Zgoda on `database_url` (migrated first), or bare;
    `webhook`: with one webhook endpoint registered for the site first (nothing listens)."""
    env = dict(
        os.environ,
        ZGODA_SECRET_KEY="bench-secret-of-at-least-thirty-two-bytes",
        ZGODA_PUBLIC_URL="http://127.0.0.1",
        ZGODA_CONSENT_RATE_LIMIT="1000000000 per minute",  # the limit is not what we measure
        **(extra_env or {}),
    )
    if database_url:
        env["ZGODA_DATABASE_URL"] = database_url
        subprocess.run(
            [sys.executable, "-m", "flask", "--app", "app", "db", "upgrade"],
            cwd=ROOT, env=env, check=True, capture_output=True, timeout=120,
        )  # fmt: skip
    if database_url and webhook:
        subprocess.run(
            [sys.executable, "-m", "flask", "--app", "app", "webhooks", "add", SITE,
             "http://127.0.0.1:9/zgoda-bench"],
            cwd=ROOT, env=env, check=True, capture_output=True, timeout=120,
        )  # fmt: skip
    app = "app:create_app()" if database_url else "bare_app:create_app()"
    with gunicorn_server(name, [*gunicorn, "--pythonpath", str(BENCH), app], env, workdir) as bound:
        yield bound


def ensure_peer_packages() -> None:
    """Install bench/requirements.txt into this venv unless its pinned versions are there."""
    pins = [
        line.split("==", 1)
        for line in (BENCH / "requirements.txt").read_text().splitlines()
        if "==" in line and not line.startswith("#")
    ]
    try:
        if all(importlib.metadata.version(name) == version for name, version in pins):
            return
    except importlib.metadata.PackageNotFoundError:
        pass
    print("Installing the peer's packages: bench/requirements.txt", file=sys.stderr)
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "-r", str(BENCH / "requirements.txt")],
        check=True,
        timeout=600,
    )


@contextmanager
def django_server(
    name: str, database_url: str, gunicorn: list[str], workdir: Path
) -> Iterator[Server]:
    """A gunicorn process group serving the django-cookie-consent peer on `database_url`.

    `manage.py migrate` first: the package's tables and the peer's data step, the cookie group
    "statistics" its accept view records.
    """
    project = BENCH / "django_peer"
    env = dict(
        os.environ,
        DJANGO_SETTINGS_MODULE="peer_site.settings",
        DJANGO_PEER_DATABASE_URL=database_url,
    )
    subprocess.run(
        [sys.executable, str(project / "manage.py"), "migrate", "--verbosity", "0"],
        cwd=project, env=env, check=True, capture_output=True, timeout=120,
    )  # fmt: skip
    app = [*gunicorn, "--pythonpath", str(project), "peer_site.wsgi:application"]
    with gunicorn_server(name, app, env, workdir) as bound:
        yield bound


@contextmanager
def gunicorn_server(
    name: str, arguments: list[str], env: dict[str, str], workdir: Path
) -> Iterator[Server]:
    """gunicorn with `arguments` (settings, then the app), leading its own process group."""
    port = free_port()
    command = [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}", *arguments]
    with (workdir / f"{name}.log").open("ab") as log:
        process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=log, stderr=log, start_new_session=True
        )
    try:
        wait_for_port(port, process)
        yield Server(port, group=process.pid)  # a session leader's pid is its group id
    finally:
        with suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        with suppress(subprocess.TimeoutExpired):
            process.wait(timeout=15)
        with suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_for_port(port: int, process: subprocess.Popen[bytes], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}")
        with suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return
        time.sleep(0.05)
    raise TimeoutError(f"no server on port {port} after {timeout}s")


def notice_version(server: Server) -> str:
    # The first answer waits for a worker to boot: slow on a busy machine.
    url = f"http://127.0.0.1:{server.port}/api/v1/sites/{SITE}/banner?lang=pl"
    with urllib.request.urlopen(url, timeout=60) as response:
        return str(json.load(response)["notice_version"])


def wait_until_quiet(max_wait: float) -> None:
    """Wait until the machine was nearly idle for one second, or `max_wait` seconds passed."""
    deadline = time.monotonic() + max_wait
    while True:
        before = machine_busy()[0]
        time.sleep(1)
        if machine_busy()[0] - before <= DISTURBED_CORES or time.monotonic() > deadline:
            return


def process_cpu(selected: Callable[[str, int, str], bool]) -> dict[int, float]:
    """pid -> CPU seconds (user + system) so far, of the processes `selected` picks.

    `selected(name, process_group, title)` gets the command name, the process group and the
    command line (PostgreSQL puts the database a backend serves in it).
    """
    found = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with suppress(OSError, IndexError):
            head, tail = stat.read_text().rsplit(")", 1)
            fields = tail.split()
            title = (stat.parent / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            if selected(head.split("(", 1)[1], int(fields[2]), title):
                found[int(stat.parent.name)] = (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
    return found


def used(before: dict[int, float], after: dict[int, float]) -> float:
    """CPU seconds used between two snapshots (what a process used before it ended is lost)."""
    return sum(seconds - before.get(pid, 0.0) for pid, seconds in after.items())


def machine_busy() -> tuple[float, float]:
    """CPU seconds the whole machine has been busy (all cores), and stolen by the host."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields[:8]
    return (user + nice + system + irq + softirq) / CLOCK_TICKS, steal / CLOCK_TICKS


def bare_write_tables(sqlite_path: Path, postgres_url: str) -> dict[str, str]:
    """Make the write references' tables; the environment that points the bare app at them."""
    ddl = "CREATE TABLE bare_writes (id {}, body TEXT NOT NULL)"
    with sqlite3.connect(sqlite_path) as connection:
        connection.execute(ddl.format("INTEGER PRIMARY KEY"))
    engine = create_engine(postgres_url)
    with engine.begin() as connection:
        connection.execute(text(ddl.format("BIGSERIAL PRIMARY KEY")))
    engine.dispose()
    dsn = postgres_url.replace("postgresql+psycopg://", "postgresql://", 1)
    return {"BARE_SQLITE_PATH": str(sqlite_path), "BARE_POSTGRES_DSN": dsn}


def count_rows(url: str, table: str) -> int:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return int(connection.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())
    finally:
        engine.dispose()


def machine_report(wrk: str, postgres_url: str) -> str:
    """What the numbers were measured on."""
    cpuinfo = Path("/proc/cpuinfo").read_text()
    model = next(
        line.split(":", 1)[1].strip() for line in cpuinfo.splitlines() if "model name" in line
    )
    memory_kb = int(Path("/proc/meminfo").read_text().split()[1])
    engine = create_engine(postgres_url)
    with engine.connect() as connection:
        version = connection.execute(text("SHOW server_version")).scalar_one()
        synchronous_commit = connection.execute(text("SHOW synchronous_commit")).scalar_one()
    engine.dispose()
    wrk_version = subprocess.run([wrk, "-v"], capture_output=True, text=True).stdout.split("\n")[0]
    return "\n".join([
        f"date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        f"cpu: {os.cpu_count()} x {model}; memory: {memory_kb / 2**20:.1f} GiB",
        f"kernel: {platform.release()}; python {platform.python_version()}",
        f"load average before: {' '.join(Path('/proc/loadavg').read_text().split()[:3])}",
        f"wrk: {wrk_version.strip()}",
        f"postgresql {version}, synchronous_commit={synchronous_commit}",
    ])  # fmt: skip


def report(
    runs: list[Run],
    attempts: list[Run],
    args: argparse.Namespace,
    written: dict[str, int],
    answered: dict[str, int],
) -> str:
    """Markdown: the median round per scenario, every round, the targets and the checks."""
    measured = [run for run in runs if run.round > 0]
    scenarios = list(dict.fromkeys(run.scenario for run in measured))
    keys = (
        "rps",
        "p50_ms",
        "p99_ms",
        "server_cpu_ms_per_request",
        "postgres_cpu_ms_per_request",
        "other_cores",
    )
    median = {
        name: {
            key: statistics.median(getattr(run, key) for run in measured if run.scenario == name)
            for key in keys
        }
        for name in scenarios
    }
    bare = median["bare"]["rps"]
    lines = [
        f"wrk -t{args.wrk_threads} -c{args.connections} -d{args.duration}s; gunicorn --workers "
        f"{args.workers} --worker-class {args.worker_class} --threads {args.threads}; "
        f"median of {args.rounds} rounds",
        "",
        "| scenario | req/s | vs bare | p50 ms | p99 ms | gunicorn CPU ms/req "
        "| PostgreSQL CPU ms/req | other load (cores) |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name, m in median.items():
        lines.append(
            f"| {name} | {m['rps']:.0f} | {m['rps'] / bare:.0%} | {m['p50_ms']:.1f} | "
            f"{m['p99_ms']:.1f} | {m['server_cpu_ms_per_request']:.2f} | "
            f"{m['postgres_cpu_ms_per_request']:.2f} | {m['other_cores']:.2f} |"
        )
    lines += ["", "Every counted round (req/s / p99 ms / other load in cores):", ""]
    for name in scenarios:
        rounds = [
            f"{r.rps:.0f} / {r.p99_ms:.1f} / {r.other_cores:.2f}"
            for r in measured
            if r.scenario == name
        ]
        lines.append(f"- {name}: {'; '.join(rounds)}")
    disturbed = sum(1 for run in runs if run.other_cores > DISTURBED_CORES)
    lines += [
        "",
        f"Runs tried again because other work used > {DISTURBED_CORES} cores: "
        f"{len(attempts) - len(runs)}; counted runs still disturbed: {disturbed} of {len(runs)}",
        "",
        "Targets (banner against bare; a consent write against the bare write on its own "
        f"database, and p99 at {args.connections} connections):",
        "",
    ]
    if "banner" in median:
        ratio = median["banner"]["rps"] / bare
        met = ratio >= TARGET_BANNER_SHARE
        lines.append(
            f"- banner: {ratio:.0%} of bare (target >= {TARGET_BANNER_SHARE:.0%}): "
            f"{'MET' if met else 'MISSED'}"
        )
    for database in DATABASES:
        consent, floor = median.get(f"consent-{database}"), median.get(f"bare-write-{database}")
        if consent is None:
            continue
        p99 = consent["p99_ms"]
        if floor is None:
            lines.append(f"- consent-{database}: no bare-write-{database} in this run, no verdict")
            continue
        ratio = consent["rps"] / floor["rps"]
        met = ratio >= TARGET_WRITE_SHARE and p99 <= TARGET_P99_MS
        lines.append(
            f"- consent-{database}: {consent['rps']:.0f} req/s, {ratio:.0%} of "
            f"bare-write-{database} ({floor['rps']:.0f} req/s; target >= "
            f"{TARGET_WRITE_SHARE:.0%}), p99 {p99:.1f} ms (target <= {TARGET_P99_MS:.0f} ms): "
            f"{'MET' if met else 'MISSED'}"
        )
    lines += ["", "The webhook outbox's cost (one endpoint; the same write without one):", ""]
    for database in DATABASES:
        plain, hooked = (
            median.get(f"consent-{database}"),
            median.get(f"consent-webhooks-{database}"),
        )
        if plain is not None and hooked is not None:
            lines.append(
                f"- {database}: {hooked['rps']:.0f} req/s = {hooked['rps'] / plain['rps']:.0%} of "
                f"{plain['rps']:.0f}; p99 {hooked['p99_ms']:.1f} ms against {plain['p99_ms']:.1f}; "
                f"gunicorn CPU {hooked['server_cpu_ms_per_request']:.2f} ms/req against "
                f"{plain['server_cpu_ms_per_request']:.2f}"
            )
    lines += ["", "Zgoda against the peer, django-cookie-consent, on the same database:", ""]
    for database in DATABASES:
        consent, peer = median.get(f"consent-{database}"), median.get(f"django-{database}")
        if (consent is None) != (peer is None):
            lines.append(f"- {database}: needs consent-{database} and django-{database} in one run")
        elif consent is not None and peer is not None:
            lines.append(
                f"- {database}: Zgoda {consent['rps']:.0f} req/s (p99 {consent['p99_ms']:.1f} ms)"
                f" = {consent['rps'] / peer['rps']:.2f} x django-cookie-consent "
                f"{peer['rps']:.0f} req/s (p99 {peer['p99_ms']:.1f} ms)"
            )
    errors = [
        f"{r.scenario} round {r.round}: {r.errors}" for r in attempts if any(r.errors.values())
    ]
    lines += ["", f"wrk errors: {'; '.join(errors) or 'none'}"]
    for name, rows in written.items():
        lines.append(
            f"{name}: {rows} log rows written for {answered[name]} POSTs answered in the "
            f"measured runs (the warm-up wrote the rest): "
            f"{'ok' if rows >= answered[name] else 'ROWS MISSING'}"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())

"""Start real Zgoda server processes (flask or gunicorn) on loopback ports for tests."""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

from tests.conftest import ROOT


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


def wait_for_port(
    host: str, port: int, process: subprocess.Popen[bytes], timeout: float = 30
) -> None:
    """Block until `port` accepts connections; fail early if the process died."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}")
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"server on {host}:{port} did not start in {timeout}s")


def server_env(**settings: str) -> dict[str, str]:
    """The environment for a server process: ours, plus ZGODA_* settings."""
    env = dict(os.environ)
    env.setdefault("ZGODA_SECRET_KEY", "test-server-secret-of-at-least-32-bytes")
    # The host every test server answers on; a test that follows links passes its port.
    env.setdefault("ZGODA_PUBLIC_URL", "http://127.0.0.1")
    env.update({f"ZGODA_{key}": value for key, value in settings.items()})
    return env


def gunicorn_command(port: int, workers: int = 2, host: str = "127.0.0.1") -> list[str]:
    """gunicorn serving create_app() on host:port, threaded as the README runs it in production
    (so concurrent requests in one worker share transactions: group commit); no gunicorn
    access log, as in production: Zgoda's own logs each request without the raw address."""
    return [
        sys.executable, "-m", "gunicorn", "--bind", f"{host}:{port}",
        "--workers", str(workers), "--worker-class", "gthread", "--threads", "4",
        "app:create_app()",
    ]  # fmt: skip


def flask_command(port: int, host: str = "127.0.0.1") -> list[str]:
    """The development server serving the app on host:port (threaded)."""
    return [
        sys.executable, "-m", "flask", "--app", "app", "run",
        "--host", host, "--port", str(port),
    ]  # fmt: skip


@contextmanager
def running_server(
    command: list[str],
    port: int,
    env: dict[str, str],
    log: Path,
    host: str = "127.0.0.1",
    new_session: bool = False,
) -> Iterator[subprocess.Popen[bytes]]:
    """Run `command` until the block ends; its output goes to `log`.

    With `new_session` the server leads its own process group (its pid is the group id),
    so a test can kill it with all its workers at once; whatever of that group still
    runs when the block ends is killed.
    """
    with log.open("ab") as output:
        process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=output, stderr=output, start_new_session=new_session
        )
        try:
            wait_for_port(host, port, process)
            yield process
        finally:
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
            if new_session:
                with suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)


def upgrade_database(env: dict[str, str]) -> None:
    """Run `flask db upgrade` with `env`, as a deployment would before starting servers."""
    subprocess.run(
        [sys.executable, "-m", "flask", "--app", "app", "db", "upgrade"],
        cwd=ROOT, env=env, check=True, capture_output=True, timeout=120,
    )  # fmt: skip


def api(port: int, method: str, path: str, body: dict[str, Any] | None = None) -> tuple[int, Any]:
    """One request to the server on `port`: its status and decoded JSON body."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        headers = {"Content-Type": "application/json"} if body is not None else {}
        payload = json.dumps(body) if body is not None else None
        connection.request(method, path, body=payload, headers=headers)
        response = connection.getresponse()
        return response.status, json.loads(response.read())
    finally:
        connection.close()


@contextmanager
def local_zgoda(workdir: Path, **settings: str) -> Iterator[str]:
    """A Zgoda server process (the development server, debug off) on a free loopback port, its
    own SQLite database in `workdir`, `settings` as ZGODA_* variables; yields its URL."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = server_env(
        DATABASE_URL=f"sqlite:///{workdir / 'zgoda.sqlite3'}", PUBLIC_URL=url, **settings
    )
    env["FLASK_DEBUG"] = "0"
    upgrade_database(env)
    with running_server(flask_command(port), port, env, workdir / "server.log"):
        yield url

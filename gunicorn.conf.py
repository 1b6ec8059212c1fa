"""gunicorn settings for Zgoda in production: `gunicorn -c gunicorn.conf.py 'app:create_app()'`.

An example to copy and adjust (docs/operations.md explains each choice); flags on the command
line override it. What it settles:
- logs: Zgoda writes its own access log (JSON lines with request ids, never an address), so
  gunicorn writes none; gunicorn's own messages go to standard error beside it, as JSON too;
- metrics: prometheus_client's multiprocess mode, so a scrape of any worker counts them all;
  a worker that exits is marked dead (`child_exit`);
- notices: `kill -HUP <master>` (or `flask notices reload --pid FILE`) publishes edited
  notices: the app is loaded in the master (`preload_app`), which re-reads the notices,
  refuses a broken one with its error and keeps serving the previous version of that site,
  then replaces the workers gracefully with ones forked from the new snapshot.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from gunicorn.glogging import Logger

bind = "127.0.0.1:8000"
workers = 4
worker_class = "gthread"
threads = 8
accesslog = None  # the app's own access log (zgoda.access) replaces gunicorn's
errorlog = "-"
preload_app = True  # the notices live in the master; HUP reloads them there (on_reload)


class ZgodaLogger(Logger):
    """gunicorn's own lines (booting, workers exiting) in Zgoda's format: JSON unless
    ZGODA_LOG_FORMAT=text. Its access log stays off: the app writes one without addresses."""

    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        from zgoda.logs import formatter

        for handler in self.error_log.handlers:
            handler.setFormatter(formatter(os.environ.get("ZGODA_LOG_FORMAT") or "json"))


logger_class = ZgodaLogger

# Where the workers keep their numbers: set it to a directory of its own (systemd's
# RuntimeDirectory=zgoda gives /run/zgoda); else one is made for this server.
if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    _made_dir = tempfile.mkdtemp(prefix="zgoda-metrics-")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = _made_dir
    os.environ["GUNICORN_METRICS_DIR_MADE"] = _made_dir  # removed again by on_exit


def on_starting(server: Any) -> None:
    """Start the numbers afresh: files left by an earlier server would be counted again."""
    directory = Path(os.environ["PROMETHEUS_MULTIPROC_DIR"])
    directory.mkdir(parents=True, exist_ok=True)
    for stale in directory.glob("*.db"):
        stale.unlink()


def on_exit(server: Any) -> None:
    """Remove the numbers' directory if this configuration made it."""
    made = os.environ.get("GUNICORN_METRICS_DIR_MADE")
    if made and made == os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        shutil.rmtree(made, ignore_errors=True)


def child_exit(server: Any, worker: Any) -> None:
    """Forget the live gauges of a worker that exited."""
    from zgoda.metrics import mark_process_dead

    mark_process_dead(worker.pid)


def on_reload(server: Any) -> None:
    """On HUP, before the new workers fork: publish the edited notices in the master's app
    (a broken file is refused and logged; its site keeps its previous version)."""
    if server.cfg.preload_app:
        from zgoda.reload import reload_notices

        reload_notices(server.app.wsgi())

"""Settings of the peer project: the database from DJANGO_PEER_DATABASE_URL.

The database settings match Zgoda's and the bare write's: SQLite in WAL mode with
synchronous=FULL (each write takes the write lock at BEGIN IMMEDIATE and waits up to 30 s for
it), PostgreSQL with the server's synchronous_commit. Connections are kept open (one per
gunicorn thread, CONN_MAX_AGE=None), as a production deployment would set, rather than opened
per request.
"""

from __future__ import annotations

import os
from typing import Any
from urllib.parse import unquote, urlsplit


def database(url: str) -> dict[str, Any]:
    """Django's DATABASES entry for `sqlite:///PATH` or `postgresql[+psycopg]://...`."""
    parts = urlsplit(url)
    scheme = parts.scheme.split("+", 1)[0]
    if scheme == "sqlite":
        return {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": url.split(":///", 1)[1],
            "CONN_MAX_AGE": None,
            "OPTIONS": {
                "timeout": 30,
                "transaction_mode": "IMMEDIATE",
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL",
            },
        }
    if scheme in ("postgresql", "postgres"):
        return {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": parts.path.lstrip("/"),
            "USER": unquote(parts.username or ""),
            "PASSWORD": unquote(parts.password or ""),
            "HOST": parts.hostname or "",
            "PORT": str(parts.port or ""),
            "CONN_MAX_AGE": None,
        }
    raise ValueError(f"DJANGO_PEER_DATABASE_URL: unsupported scheme {parts.scheme!r}")


SECRET_KEY = os.environ.get("DJANGO_PEER_SECRET_KEY", "bench-only-secret-of-the-django-peer")
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",  # the package's views import django.contrib.auth.views
    "cookie_consent",
    "peer_site",  # the data migration creating the "statistics" cookie group
]
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]
ROOT_URLCONF = "peer_site.urls"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "APP_DIRS": True,
        "OPTIONS": {"context_processors": ["django.template.context_processors.request"]},
    }
]
DATABASES = {"default": database(os.environ["DJANGO_PEER_DATABASE_URL"])}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
USE_TZ = True
TIME_ZONE = "UTC"
# Every accept or decline writes a LogItem row: the durable write the benchmark compares.
COOKIE_CONSENT_LOG_ENABLED = True

"""Configuration: one declared schema of settings, read from ZGODA_* environment variables.

Each setting is parsed into its type when the app is made; a value that cannot be
parsed, or a ZGODA_* variable that names no setting, stops start-up with a message
naming the variable and what it accepts. The README's settings table is this schema
(`python -m zgoda.config` prints it; a test compares the two).
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from limits import parse_many
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from zgoda import settings_types as types
from zgoda.errors import ConfigError

if TYPE_CHECKING:
    from flask import Flask

ENV_PREFIX = "ZGODA_"
# Variables the test suite and benchmarks read for themselves, not settings of the app.
TOOL_PREFIXES = ("ZGODA_TEST_", "ZGODA_BENCH_")
PACKAGE = Path(__file__).resolve().parent
ROOT = PACKAGE.parent  # the repository, or site-packages when installed

MIN_SECRET_KEY_BYTES = 32
DEBUG_PUBLIC_URL = "http://127.0.0.1:5000"
TESTING_PUBLIC_URL = "http://localhost"  # the host Flask's test client sends
LOCAL_HOSTS = ("127.0.0.1", "localhost")
RATE_LIMIT_STORAGE_SCHEMES = ("memory", "redis", "rediss", "redis+unix", "redis+sentinel")
UNSET = object()  # no default: Flask's own value (DEBUG follows `flask --debug`)


def bundled_dir(name: str) -> Path:
    """The package's copy of `name` (templates, static, translations: a wheel puts them
    inside the package), else the repository's, beside it."""
    inside = PACKAGE / name
    return inside if inside.is_dir() else ROOT / name


def default_notices_dir() -> str:
    """The repository's notices; installed, `notices` in the directory Zgoda starts in."""
    repository = ROOT / "notices"
    return str(repository) if repository.is_dir() else "notices"


def _directory(text: str) -> str:
    # Absolute, so a relative value means the directory Zgoda starts in, not Flask's root path.
    return os.path.abspath(text.strip())


@dataclass(frozen=True)
class Setting:
    """One setting: its config key, how its text is parsed, its default and its meaning."""

    name: str
    parse: Callable[[str], Any]
    default: Any
    accepts: str
    meaning: str
    # A conventional name that deployment tools set without our prefix.
    unprefixed: bool = False

    @property
    def variable(self) -> str:
        """The environment variable that sets it."""
        return ENV_PREFIX + self.name


def _rate_limit(text: str) -> str:
    try:
        parse_many(text)
    except ValueError:
        raise ValueError("use limits like '600 per minute' or '20/second;600/minute'") from None
    return text.strip()


def _storage_uri(text: str) -> str:
    scheme = text.split("://", 1)[0].lower() if "://" in text else ""
    if scheme not in RATE_LIMIT_STORAGE_SCHEMES:
        raise ValueError("use memory:// or redis://host:port (rediss://, redis+sentinel://)")
    return text.strip()


def _database_url(text: str) -> str:
    try:
        make_url(text.strip())
    except ArgumentError:
        raise ValueError(
            "use a SQLAlchemy URL: sqlite:///path or postgresql+psycopg://..."
        ) from None
    return text.strip()


# Consent writes per visitor network (an IPv4 address, an IPv6 /64): the per-minute limit lets
# a shared office or carrier NAT record a few hundred choices a minute; the per-second one lets
# a crowd arriving together through, and holds a flood from one network to 10 writes a second.
# HSTS for a year, as preload lists ask, and subdomains too, so none of them can be reached over
# http to plant cookies for Zgoda's host; not `preload`: that is the domain owner's promise.
SETTINGS: tuple[Setting, ...] = (
    Setting("SECRET_KEY", str, None, f"text, at least {MIN_SECRET_KEY_BYTES} bytes",
            "Signs tokens, sessions and forms. Required outside debug and testing; "
            "`make run` keeps one in `instance/secret_key` (git-ignored)."),
    Setting("SECRET_KEY_FALLBACKS", types.parse_list, [], "comma-separated texts",
            "Old secrets: tokens they signed still verify; the newest key signs."),
    Setting("PUBLIC_URL", types.parse_origin, None, "origin, `https://host[:port]`",
            "Where visitors and websites reach Zgoda. Absolute links (banner configuration, "
            f"hreflang, receipts) come from it, never from a request's Host header. Required "
            f"outside debug and testing; debug uses {DEBUG_PUBLIC_URL}."),
    Setting("TRUSTED_HOSTS", types.parse_hosts, None, "comma-separated host names",
            "Host headers answered; any other gets 400. Default: the host of PUBLIC_URL "
            "(and localhost in debug). A leading dot admits subdomains."),
    Setting("PROXY_HOPS", partial(types.parse_int, minimum=0), 0, "whole number",
            "Reverse proxies in front of Zgoda whose X-Forwarded-For and -Proto are trusted "
            "(Werkzeug's ProxyFix). 0: forwarded headers are ignored."),
    Setting("DEBUG", types.parse_bool, UNSET, "true/false, yes/no, on/off, 1/0",
            "Flask's debug mode (as `flask run --debug`); never in production."),
    Setting("NOTICES_DIR", str, default_notices_dir(), "directory",
            "Where the policy data lives: one directory per site with its `notice.yaml`."),
    Setting("TRANSLATIONS_DIR", _directory, str(bundled_dir("translations")), "directory",
            "The compiled message catalogs (`make catalogs`; a wheel carries them)."),
    Setting("TEMPLATES_DIR", _directory, str(bundled_dir("templates")), "directory",
            "The page templates, to serve edited copies."),
    Setting("STATIC_DIR", _directory, str(bundled_dir("static")), "directory",
            "The stylesheets and icons served under /static/ (the embed is built from the package's)."),
    Setting("BABEL_DEFAULT_LOCALE", partial(types.parse_choice, choices=("pl", "en")), "pl",
            "pl, en", "Language when neither the request nor the notice decides."),
    Setting("DATABASE_URL", _database_url, None, "SQLAlchemy URL",
            "The consent log. Default: SQLite in `instance/zgoda.sqlite3` (WAL); "
            "`postgresql+psycopg://user@host/db` to share one log between app instances. "
            "Also read as plain `DATABASE_URL`.", unprefixed=True),
    Setting("IP_ADDRESS_MODE", partial(types.parse_choice, choices=("truncate", "drop")),
            "truncate", "truncate, drop (any case)",
            "`truncate` keeps the visitor's IPv4 /24 or IPv6 /48 network; `drop` keeps nothing."),
    Setting("CONSENT_RATE_LIMIT", _rate_limit, "20 per second; 600 per minute",
            "limits, `;`-separated", "Consent writes per visitor network (IPv4 address, "
            "IPv6 /64); see \"Rate limits\" below."),
    Setting("API_KEY_FAILURE_LIMIT", _rate_limit, "10 per 15 minutes", "limits, `;`-separated",
            "Refused API keys per network (dashboard sign-in and export API together); "
            "past it, 429 until the window ends, even for the right key."),
    Setting("RATELIMIT_STORAGE_URI", _storage_uri, "memory://", "memory:// or redis://...",
            "Where limits are counted: memory:// per process, `redis://127.0.0.1:6379` "
            "shared between instances."),
    Setting("RATELIMIT_KEY_PREFIX", str, "zgoda", "text",
            "Keeps the limits of several Zgoda deployments on one Redis apart."),
    Setting("ALLOWED_ORIGINS", types.parse_origins, [], "comma-separated origins",
            "Origins allowed to call the API for every site, beside each notice's "
            "`embed.allowed_origins`."),
    Setting("ADMIN_SESSION_LIFETIME", types.parse_duration, 8 * 3600, "duration: 8h, 30min, 3600",
            "A dashboard session ends this long after sign-in."),
    Setting("ADMIN_SESSION_IDLE_TIMEOUT", types.parse_duration, 3600, "duration",
            "A dashboard session ends when unused this long."),
    Setting("STRICT_TRANSPORT_SECURITY", str, "max-age=31536000; includeSubDomains", "header value",
            "HSTS sent on every https response (never over http); empty to leave it to the proxy."),
    Setting("MAX_CONTENT_LENGTH", partial(types.parse_int, minimum=1024), 16 * 1024,
            "whole number of bytes, at least 1024", "The largest request body accepted (413 above)."),
    Setting("LOG_FORMAT", partial(types.parse_choice, choices=("json", "text")), None,
            "json, text", "Log lines on standard error: one JSON object per line, or plain "
            "text. Default: text in debug, JSON otherwise."),
    Setting("METRICS_TOKEN", str, None, "text",
            "The bearer token `/metrics` asks for. Unset: only a scraper on the same machine "
            "(loopback, through no proxy) is answered."),
)  # fmt: skip
BY_NAME = {setting.name: setting for setting in SETTINGS}

# Fixed by the code, not by the environment (a test may still override them).
INTERNAL: dict[str, Any] = {
    "LANGUAGE_COOKIE": "zgoda_lang",
    "LANGUAGE_COOKIE_MAX_AGE": 365 * 24 * 3600,
    "CONSENT_COOKIE": "zgoda_consent",
    # Flask's session cookie carries the hosted forms' CSRF token and the admin session.
    "SESSION_COOKIE_SAMESITE": "Lax",
    "WTF_CSRF_TIME_LIMIT": None,
}


def build_config(
    overrides: Mapping[str, Any] | None = None, environ: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """Defaults, overlaid by ZGODA_* environment variables, overlaid by `overrides`.

    Raises ConfigError naming the variable when a value cannot be parsed.
    """
    environ = os.environ if environ is None else environ
    config: dict[str, Any] = dict(INTERNAL)
    config.update({s.name: s.default for s in SETTINGS if s.default is not UNSET})
    for setting in SETTINGS:
        text = environ.get(setting.variable)
        if text is None and setting.unprefixed:
            text = environ.get(setting.name) or None
        if text is not None:
            config[setting.name] = _parsed(setting, text, setting.variable)
    unknown = sorted(
        name
        for name in environ
        if name.startswith(ENV_PREFIX)
        and name.removeprefix(ENV_PREFIX) not in BY_NAME
        and not name.startswith(TOOL_PREFIXES)
    )
    if unknown:
        raise ConfigError(
            f"unknown setting {', '.join(unknown)}; the settings are: "
            + ", ".join(s.variable for s in SETTINGS)
        )
    for name, value in (overrides or {}).items():
        declared = BY_NAME.get(name)
        # Code may pass typed values; text is parsed as if it came from the environment.
        if declared is not None and isinstance(value, str) and declared.parse is not str:
            value = _parsed(declared, value, name)
        elif declared is not None and declared.parse is types.parse_duration:
            value = types.same_duration(value)
        config[name] = value
    # Flask-Babel's own key, kept beside ours so an override of either one is honoured.
    config.setdefault("BABEL_TRANSLATION_DIRECTORIES", str(config["TRANSLATIONS_DIR"]))
    return config


def _parsed(setting: Setting, text: str, where: str) -> Any:
    try:
        return setting.parse(text)
    except ValueError as error:
        raise ConfigError(f"{where}={text!r} is not valid: {error}") from None


def check_settings(app: Flask, deferred: bool = False) -> None:
    """Refuse to run outside debug or testing without a real secret key and a public URL;
    derive the trusted hosts from the public URL.

    In debug or testing a random key is made for this process only, so tokens
    signed by it stop verifying after a restart. `deferred`: the `flask` command is loading
    the app to look up one of its commands; the requirements then wait for that command, and
    only those that sign or link ask again (zgoda.cli), so `notices check` runs with neither.
    """
    notices = Path(app.config["NOTICES_DIR"])
    if not notices.is_dir():  # installed, the default is ./notices: say which setting moves it
        raise ConfigError(
            f"ZGODA_NOTICES_DIR: {notices.resolve()} is not a directory: set ZGODA_NOTICES_DIR "
            "to the directory holding each site's <site>/notice.yaml"
        )
    relaxed = app.debug or app.testing
    if deferred and not relaxed:
        return
    secret = app.config.get("SECRET_KEY")
    if not secret:
        if not relaxed:
            raise ConfigError(
                "ZGODA_SECRET_KEY is not set: set it in the environment to run in production "
                "(or run with --debug for local development)"
            )
        app.logger.warning("ZGODA_SECRET_KEY is not set: using a random key for this process")
        app.config["SECRET_KEY"] = secrets.token_urlsafe(32)
    elif not relaxed and len(str(secret).encode("utf-8")) < MIN_SECRET_KEY_BYTES:
        raise ConfigError(
            f"ZGODA_SECRET_KEY is too short to be a secret: use at least {MIN_SECRET_KEY_BYTES} "
            'random bytes, e.g. python3 -c "import secrets; print(secrets.token_urlsafe(48))"'
        )
    if not app.config.get("PUBLIC_URL"):
        if not relaxed:
            raise ConfigError(
                "ZGODA_PUBLIC_URL is not set: set it to the address visitors reach Zgoda at, "
                "e.g. https://consent.example.com"
            )
        app.config["PUBLIC_URL"] = TESTING_PUBLIC_URL if app.testing else DEBUG_PUBLIC_URL
    if app.config.get("TRUSTED_HOSTS") is None:
        host = urlsplit(app.config["PUBLIC_URL"]).hostname or ""
        app.config["TRUSTED_HOSTS"] = [host, *(LOCAL_HOSTS if relaxed else ())]


def settings_table() -> str:
    """The settings as the README's Markdown table."""
    lines = ["| variable | accepts | default | meaning |", "| --- | --- | --- | --- |"]
    for setting in SETTINGS:
        lines.append(
            f"| `{setting.variable}` | {setting.accepts} | {_default_text(setting)} "
            f"| {setting.meaning} |"
        )
    return "\n".join(lines)


def _default_text(setting: Setting) -> str:
    default = setting.default
    if default is UNSET:
        return "Flask's"
    if default is None or default == []:
        return "none"
    if setting.name == "NOTICES_DIR":
        return "`notices/` (installed: `./notices`)"
    if setting.parse is _directory:
        return f"`{Path(default).name}/` (the package's)"
    if setting.parse is types.parse_duration:
        return f"`{types.format_duration(default)}`"
    return f"`{default}`"


if __name__ == "__main__":
    print(settings_table())

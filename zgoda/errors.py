"""One exception hierarchy for Zgoda, free of HTTP and of click (as itsdangerous's BadData).

Each error carries what a caller needs to report it: a message, and for a refused request
the problem's code and the field it concerns. The web layer (zgoda.web.errors) maps them to
status codes; the command line (zgoda.cli) to exit codes.
"""

from __future__ import annotations

from pathlib import Path


class ZgodaError(Exception):
    """Base class of every error Zgoda raises on purpose."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class ConfigError(ZgodaError):
    """The app's configuration cannot be used (for example, no secret key in production)."""


class NoticeError(ZgodaError):
    """A notice file cannot be loaded; names the file, the line and the field."""

    def __init__(self, path: Path, message: str, field: str = "", line: int | None = None):
        self.path = path
        self.field = field
        self.line = line
        self.problem = message
        where = str(path) + (f":{line}" if line is not None else "")
        super().__init__(f"{where}:" + (f" field '{field}':" if field else "") + f" {message}")


class StorageError(ZgodaError):
    """The consent log could not be written; the transaction was rolled back."""


# --- requests Zgoda refuses --------------------------------------------------------------


class RequestError(ZgodaError):
    """A request Zgoda refuses: `code` names the problem, `field` the part of the request."""

    code = "bad_request"

    def __init__(self, message: str, field: str | None = None, **details: object):
        super().__init__(message)
        self.field = field
        self.details = details


class NotJsonBody(RequestError):
    """The body is not sent as JSON."""

    code = "unsupported_media_type"


class InvalidBody(RequestError):
    """The JSON body does not match the request's schema."""

    code = "validation_error"


class Unauthorized(RequestError):
    """No API key, or one that is unknown, malformed or revoked."""

    code = "unauthorized"


class Forbidden(RequestError):
    """A valid API key, but for another site."""

    code = "forbidden"


class InvalidConsent(RequestError):
    """The consent body does not fit the site's notice (unknown purpose, wrong action...)."""

    code = "invalid_consent"


class StaleNotice(RequestError):
    """The visitor saw an older notice version than the current one."""

    code = "stale_notice_version"


class UnprovenConsent(RequestError):
    """A write that would continue a consent id without a token the site issued for it."""

    code = "unproven_consent"


# --- consent tokens ------------------------------------------------------------------------


class TokenError(ZgodaError):
    """A consent token that cannot be trusted; `reason` says why."""

    reason = "invalid"


class MalformedToken(TokenError):
    """Not a consent token at all."""

    reason = "malformed"


class ForgedToken(TokenError):
    """The signature does not match any of the site's keys."""

    reason = "forged"


class ExpiredToken(TokenError):
    """Correctly signed, but older than the site's consent lifetime."""

    reason = "expired"


class OtherSiteToken(TokenError):
    """Correctly signed for another site."""

    reason = "other_site"

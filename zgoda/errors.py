"""One exception hierarchy for Zgoda; each error carries what a caller needs to report it."""

from __future__ import annotations

from pathlib import Path

import click


class ZgodaError(click.ClickException):
    """Base class of every error Zgoda raises on purpose.

    It is a ClickException so that a CLI command, or the app factory run by the
    `flask` command, ends with the message and exit code 1 instead of a traceback.
    """


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


class ApiError(ZgodaError):
    """A request the API refuses; rendered as JSON with `status`, `error` and `message`."""

    status = 400
    error = "bad_request"

    def __init__(self, message: str, field: str | None = None, **details: object):
        super().__init__(message)
        self.field = field
        self.details = details


class UnsupportedMediaType(ApiError):
    """The body is not sent as application/json."""

    status = 415
    error = "unsupported_media_type"


class Unprocessable(ApiError):
    """The JSON body does not match the endpoint's schema."""

    status = 422
    error = "validation_error"


class Unauthorized(ApiError):
    """No API key, or one that is unknown, malformed or revoked."""

    status = 401
    error = "unauthorized"


class Forbidden(ApiError):
    """A valid API key, but for another site."""

    status = 403
    error = "forbidden"


class InvalidConsent(ApiError):
    """The consent body does not fit the site's notice (unknown purpose, wrong action...)."""

    status = 422
    error = "invalid_consent"


class StaleNotice(ApiError):
    """The visitor saw an older notice version than the current one."""

    status = 409
    error = "stale_notice_version"


class UnprovenConsent(ApiError):
    """A write that would continue a consent id without a token the site issued for it."""

    status = 403
    error = "unproven_consent"


class StorageError(ZgodaError):
    """The consent log could not be written; the transaction was rolled back."""


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

"""The JSON API under /api/v1: banner configuration, recording consent, verifying tokens."""

from __future__ import annotations

import gzip
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TypeVar

from flask import Blueprint, Response, current_app, jsonify, request
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from werkzeug.http import parse_etags, quote_etag

from zgoda.banner import BannerConfig
from zgoda.consent import (
    ConsentRequest,
    ConsentState,
    build_event,
    proven_consent_id,
    read_consent,
    rules_for,
    token_payload,
)
from zgoda.consent.tokens import MAX_TOKEN_LENGTH
from zgoda.errors import InvalidBody, NotJsonBody, RequestError
from zgoda.notices.loader import LoadedNotice, content_hash
from zgoda.notices.model import LOCALES
from zgoda.notices.registry import notice_registry
from zgoda.store.db import engine
from zgoda.store.group_commit import group_commit
from zgoda.web import cors
from zgoda.web.blueprints import API_PREFIX
from zgoda.web.client import client_facts
from zgoda.web.limits import limited
from zgoda.web.request_log import note_network
from zgoda.web.tokens_ext import consent_tokens
from zgoda.web.urls import public_url_for

bp = Blueprint("api", __name__, url_prefix=API_PREFIX)
cors.init_blueprint(bp)
ModelT = TypeVar("ModelT", bound=BaseModel)

_json_text = json.JSONEncoder(separators=(",", ":"), sort_keys=True).encode

BANNER_MAX_AGE = 300
GZIP_ETAG_SUFFIX = "-gzip"


class VerifyRequest(BaseModel):
    """The body of POST /api/v1/sites/<site>/verify."""

    model_config = ConfigDict(extra="forbid")
    token: str = Field(min_length=1, max_length=MAX_TOKEN_LENGTH)


@bp.get("/sites/<site>/banner")
def banner(site: str) -> Response:
    """Texts, purposes, links and versions the embed needs to show the banner."""
    loaded = notice_registry().get_or_404(site)
    config = site_banner(loaded, request.args.get("lang") or loaded.notice.default_locale)
    document = banner_document(loaded, config)
    gzipped = request.accept_encodings["gzip"] > 0
    etag = document.etag + GZIP_ETAG_SUFFIX if gzipped else document.etag
    # If-None-Match compares weakly (RFC 9110, 13.1.2); a match needs no body.
    if_none_match = request.headers.get("If-None-Match")
    if if_none_match and parse_etags(if_none_match).contains_weak(etag):
        response = Response(status=304)
        del response.headers["Content-Type"]
    elif gzipped:  # compressed once, with the document, not per request
        response = Response(document.gzipped, mimetype="application/json")
        response.headers["Content-Encoding"] = "gzip"
    else:
        response = Response(document.body, mimetype="application/json")
    response.headers["ETag"] = quote_etag(etag)
    response.headers.extend(document.headers)
    return response


@dataclass(frozen=True)
class BannerDocument:
    """The banner configuration of one site, language and host, ready to send."""

    body: bytes
    gzipped: bytes
    etag: str  # of the plain body; the gzipped one's ends in GZIP_ETAG_SUFFIX
    headers: tuple[tuple[str, str], ...]


def banner_document(loaded: LoadedNotice, config: BannerConfig) -> BannerDocument:
    """The banner configuration as JSON with its ETag and caching headers, built once.

    The links are absolute (the embed runs on other origins) and come from PUBLIC_URL,
    never from the request's Host header: the answer is cached by browsers and proxies.
    """
    cache: dict[tuple[str, str], BannerDocument] = current_app.extensions.setdefault(
        "zgoda_banner_documents", {}
    )
    key = (loaded.site_id, config.body["locale"])
    document = cache.get(key)
    if document is None:
        site, locale = key
        body = config.body | {
            "content_hash": config.content_hash,
            "links": {
                "privacy": public_url_for("pages.privacy", site=site, lang=locale),
                "cookies": public_url_for("pages.cookies", site=site, lang=locale),
                "consents": public_url_for("api.record_consent", site=site),
            },
        }
        etag = content_hash([config.content_hash, current_app.config["PUBLIC_URL"]])
        headers = (
            ("Cache-Control", f"public, max-age={BANNER_MAX_AGE}"),
            ("Vary", "Accept-Encoding"),
        )
        text = current_app.json.dumps(body).encode("utf-8")
        document = BannerDocument(text, gzip.compress(text, mtime=0), etag, headers)
        cache[key] = document
    return document


@bp.post("/sites/<site>/consents")
@limited
def record_consent(site: str) -> Response:
    """Record a visitor's choice per purpose; answer with the consent id and signed token.

    With the visitor's previous `token` the choice continues its consent id; a token the
    site did not sign is a 403, so knowing a consent id is not enough to add to its history.
    """
    loaded = notice_registry().get_or_404(site)
    consent_request = parse_body(ConsentRequest)
    rules = rules_for(loaded)
    previous = consent_request.token
    continues = proven_consent_id(consent_tokens(), rules, previous) if previous else None
    shown = site_banner(loaded, consent_request.locale).content_hash
    client = client_facts(gpc=consent_request.gpc)
    note_network(client.ip_prefix)  # the access line's network: the one the record keeps
    event = build_event(rules, consent_request, client, shown, continues)
    group_commit(engine()).append(event)
    token = consent_tokens().issue(site, token_payload(event, rules))
    answer = {
        "choices": event.choices,
        "consent_id": event.consent_id,
        "expires_at": iso(event.expires_at),
        "notice_version": event.notice_version,
        "recorded_at": iso(event.recorded_at),
        "chosen_at": None if event.chosen_at is None else iso(event.chosen_at),
        "token": token,
    }
    # Plain JSON values only: the encoder alone, without jsonify's provider hooks.
    body = _json_text(answer) + "\n"
    return Response(body, 201, mimetype="application/json")


@bp.post("/sites/<site>/verify")
def verify(site: str) -> Response:
    """Whether a consent token is valid, expired, stale (older notice) or forged."""
    loaded = notice_registry().get_or_404(site)
    rules = rules_for(loaded)
    consent = read_consent(consent_tokens(), rules, parse_body(VerifyRequest).token)
    payload = consent.payload
    if payload is None or consent.state is ConsentState.EXPIRED:
        return jsonify(valid=False, status=consent.state, message=consent.problem)
    changed = sorted(p for p, h in rules.hashes.items() if payload.purpose_hashes.get(p) != h)
    return jsonify(
        valid=consent.state is ConsentState.VALID,
        status=consent.state,
        consent_id=payload.consent_id,
        notice_version=payload.notice_version,
        current_notice_version=loaded.version,
        changed_purposes=changed,
        choices=payload.granted,
        gpc=bool(payload.gpc),
        issued_at=iso(datetime.fromtimestamp(payload.issued_at, UTC)),
        expires_at=iso(datetime.fromtimestamp(payload.expires_at, UTC)),
    )


def site_banner(loaded: LoadedNotice, locale: str) -> BannerConfig:
    """The start-up-built banner of a site in `locale`; 400 for an unknown language."""
    if locale not in LOCALES:
        raise RequestError(f"unknown language {locale!r}; use one of: {', '.join(LOCALES)}", "lang")
    banners: dict[tuple[str, str], BannerConfig] = current_app.extensions["zgoda_banners"]
    return banners[(loaded.site_id, locale)]


def parse_body(model: type[ModelT]) -> ModelT:
    """The JSON body as `model`: NotJsonBody, RequestError if malformed, InvalidBody naming
    the field."""
    if not request.is_json:
        raise NotJsonBody("send the body as application/json")
    try:  # pydantic parses and validates in one pass; a body it refuses is explained below
        return model.model_validate_json(request.get_data())
    except ValidationError:
        pass
    try:
        body = request.get_json(silent=True)
    except RecursionError as error:  # silent covers ValueError only; no real body nests so
        raise RequestError("the body is nested too deeply", field="body") from error
    if body is None:
        raise RequestError("the body is not valid JSON", field="body")
    if not isinstance(body, dict):
        raise InvalidBody("the body must be a JSON object", field="body")
    try:
        return model.model_validate(body)
    except ValidationError as error:
        first = error.errors()[0]
        field = ".".join(str(part) for part in first["loc"]) or "body"
        message = f"{field}: {first['msg']}"
        if first["type"] == "extra_forbidden":
            replaced: dict[str, str] = getattr(model, "replaced_fields", {})
            hint = replaced.get(field) or f"the body takes {', '.join(model.model_fields)}"
            message = f"{message}; {hint}"
        raise InvalidBody(message, field=field) from error


def iso(moment: datetime) -> str:
    """UTC ISO 8601 with a Z."""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")

"""The OpenAPI 3.1 document of the consent API, built once at start-up, served as JSON."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from flask import Blueprint, Response, current_app, jsonify

from zgoda import __version__
from zgoda.consent import ConsentRequest, rules_for
from zgoda.export import FORMATS, MEDIA_TYPES
from zgoda.notices.loader import SITE_ID_PATTERN, LoadedNotice
from zgoda.notices.model import LOCALES
from zgoda.notices.registry import EXTENSION_KEY as NOTICES_KEY
from zgoda.web.api import BANNER_MAX_AGE, VerifyRequest
from zgoda.web.blueprints import API_PREFIX
from zgoda.web.openapi_components import (
    SECURITY_SCHEME,
    STRING,
    UNPROVEN_CONSENT,
    error_responses,
    errors,
    header,
    json_body,
    json_response,
    model_schemas,
    preflight,
    ref,
    response_schemas,
)

if TYPE_CHECKING:
    from flask.sansio.blueprints import BlueprintSetupState

    from zgoda.notices.registry import NoticeRegistry


PREFIX = API_PREFIX
bp = Blueprint("openapi", __name__, url_prefix=PREFIX)
EXTENSION_KEY = "zgoda_openapi"


def consent_examples(loaded: LoadedNotice) -> dict[str, Any]:
    """Bodies that one site accepts today: its current notice version and purposes."""
    optional = rules_for(loaded).optional
    shown = {"notice_version": loaded.version, "locale": loaded.notice.default_locale}
    custom = {"action": "custom", "choices": {p: i == 0 for i, p in enumerate(optional)}}
    return {
        "accept_all": {
            "summary": f"{loaded.site_id}: accept all",
            "value": shown | {"action": "accept_all"},
        },
        "custom": {"summary": f"{loaded.site_id}: choose per purpose", "value": shown | custom},
        "withdraw": {
            "summary": f"{loaded.site_id}: withdraw",
            "value": shown | {"action": "withdraw"},
        },
    }


def paths(example: LoadedNotice | None) -> dict[str, Any]:
    """Every route of the API and of this document."""
    cors = {"Access-Control-Allow-Origin": header("The Origin, when the site allows it.")}
    site = [{"$ref": "#/components/parameters/Site"}]
    banner_headers = cors | {
        "ETag": header("Changes whenever the banner's content does.", required=True),
        "Cache-Control": header(f"public, max-age={BANNER_MAX_AGE}", required=True),
    }
    lang = {
        "name": "lang",
        "in": "query",
        "description": "The language; the notice's default when absent or empty.",
        "allowEmptyValue": True,
        "schema": {"enum": list(LOCALES)},
    }
    if_none_match = {"name": "If-None-Match", "in": "header", "schema": STRING}
    verify_link = {
        "VerifyToken": {
            "operationId": "verifyToken",
            "description": "The token just issued verifies as valid.",
            "parameters": {"site": "$request.path.site"},
            "requestBody": {"token": "$response.body#/token"},
        }
    }
    return {
        f"{PREFIX}/sites/{{site}}/banner": {
            "parameters": site,
            "get": {
                "operationId": "getBanner",
                "summary": "Texts, purposes, links and versions the embed needs.",
                "parameters": [lang, if_none_match],
                "responses": {
                    "200": json_response("The banner.", ref("Banner"), headers=banner_headers),
                    "304": {
                        "description": "Unchanged since the ETag sent in If-None-Match.",
                        "headers": {"ETag": header("The banner's ETag.", required=True)},
                    },
                }
                | errors(400, 404),
            },
            "options": preflight("preflightBanner", "GET"),
        },
        f"{PREFIX}/sites/{{site}}/consents": {
            "parameters": site,
            "post": {
                "operationId": "recordConsent",
                "summary": "Record a choice; answer with the consent id and a signed token.",
                "description": "Without `token` the choice starts a new consent id. With the "
                "visitor's previous token (the embed's `zgoda_consent` cookie) it continues "
                "that token's consent id, also when the token has expired; a token the site "
                "did not issue is a 403 naming `token` and records nothing. A consent id "
                "cannot be sent on its own: knowing one (from a receipt URL) is no proof.",
                "requestBody": json_body(
                    "ConsentRequest", consent_examples(example) if example else None
                ),
                "responses": {
                    "201": json_response(
                        "Recorded.", ref("RecordedConsent"), headers=cors, links=verify_link
                    ),
                }
                | errors(400, 404, 409, 413, 415, 422, 429, 503, special={403: UNPROVEN_CONSENT}),
            },
            "options": preflight("preflightConsents", "POST"),
        },
        f"{PREFIX}/sites/{{site}}/verify": {
            "parameters": site,
            "post": {
                "operationId": "verifyToken",
                "summary": "Whether a consent token is valid, stale, expired or forged.",
                "requestBody": json_body("VerifyRequest"),
                "responses": {
                    "200": json_response("The token's status.", ref("TokenCheck"), headers=cors),
                }
                | errors(400, 404, 413, 415, 422),
            },
            "options": preflight("preflightVerify", "POST"),
        },
        **export_path(),
        f"{PREFIX}/openapi.json": {
            "get": {
                "operationId": "getOpenApi",
                "summary": "This document.",
                "responses": {"200": json_response("OpenAPI 3.1.", {"type": "object"})},
            }
        },
    }


def export_path() -> dict[str, Any]:
    """The consent-log export, for holders of the site's API key."""
    moments = {
        "from": "Records from this UTC time on (a date means its midnight).",
        "to": "Records before this UTC time (a date includes that whole day).",
    }
    parameters = [
        {"name": "format", "in": "query", "schema": {"enum": list(FORMATS), "default": "csv"}},
    ] + [
        {
            "name": name,
            "in": "query",
            "description": text,
            "schema": {"type": "string", "examples": ["2026-01-31", "2026-01-31T12:00:00Z"]},
        }
        for name, text in moments.items()
    ]
    body = {"schema": {"type": "string"}}
    headers = {
        "Content-Disposition": header("attachment; filename=...", required=True),
        "Content-Encoding": header("gzip, when the request's Accept-Encoding allows it."),
        "Vary": header("Accept-Encoding", required=True),
    }
    return {
        f"{PREFIX}/sites/{{site}}/consents/export": {
            "parameters": [{"$ref": "#/components/parameters/Site"}],
            "get": {
                "operationId": "exportConsents",
                "summary": "The site's consent log with its hash chain, streamed.",
                "description": "One row per recorded choice, oldest first, times in UTC ISO "
                "8601. The CSV has a `purpose:<id>` column per purpose of the current notice, "
                "each followed by a `purpose:<id>.<service>` column per service it lists "
                "(empty when the record does not mention it), and `other_choices` (JSON) for "
                "any other; `flask consents verify FILE` checks the chain offline.",
                "security": [{SECURITY_SCHEME: []}],
                "parameters": parameters,
                "responses": {
                    "200": {
                        "description": "The export.",
                        "headers": headers,
                        "content": {media_type: body for media_type in MEDIA_TYPES.values()},
                    }
                }
                | errors(400, 401, 403, 404, 429, 503),
            },
        }
    }


def build_document(notices: dict[str, LoadedNotice]) -> dict[str, Any]:
    """The whole OpenAPI document; `site` is limited to the sites loaded at start-up."""
    site_ids = sorted(notices)
    example = notices[site_ids[0]] if site_ids else None
    site_schema: dict[str, Any] = {"type": "string", "pattern": SITE_ID_PATTERN.pattern}
    if example is not None:
        site_schema |= {"enum": site_ids, "examples": [example.site_id]}
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Zgoda consent API",
            # The release's version (the paths keep their /v1: that is the API's, not this).
            "version": __version__,
            "description": "Banner configuration, consent recording, token checks and, with a "
            "site's API key, the consent-log export. "
            "Every error is JSON with the Error schema.",
        },
        "paths": paths(example),
        "components": {
            "parameters": {
                "Site": {
                    "name": "site",
                    "in": "path",
                    "required": True,
                    "description": "The site id (its folder under notices/).",
                    "schema": site_schema,
                }
            },
            "schemas": model_schemas(ConsentRequest, VerifyRequest) | response_schemas(),
            "responses": error_responses(),
            "securitySchemes": {
                SECURITY_SCHEME: {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "A key of that site: `flask --app app keys create <site>`.",
                }
            },
        },
    }


@bp.record_once
def _build_at_start_up(state: BlueprintSetupState) -> None:
    # create_app loads the notices before it registers blueprints.
    registry: NoticeRegistry = state.app.extensions[NOTICES_KEY]
    state.app.extensions[EXTENSION_KEY] = build_document(registry.notices)


@bp.get("/openapi.json")
def openapi_document() -> Response:
    """The OpenAPI 3.1 document of this API."""
    response = jsonify(current_app.extensions[EXTENSION_KEY])
    response.cache_control.public = True
    response.cache_control.max_age = BANNER_MAX_AGE
    return response

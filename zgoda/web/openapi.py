"""The OpenAPI 3.1 document of the consent API, built once at start-up, served as JSON."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, get_args

from flask import Blueprint, Response, current_app, jsonify
from pydantic import BaseModel

from zgoda.consent import ConsentRequest
from zgoda.export import FORMATS, MEDIA_TYPES
from zgoda.notices.base import SLUG_PATTERN
from zgoda.notices.loader import SITE_ID_PATTERN, LoadedNotice
from zgoda.notices.model import LOCALES, ConsentModeType
from zgoda.notices.registry import EXTENSION_KEY as NOTICES_KEY
from zgoda.web.api import BANNER_MAX_AGE, VerifyRequest

if TYPE_CHECKING:
    from flask.sansio.blueprints import BlueprintSetupState

    from zgoda.notices.registry import NoticeRegistry

PREFIX = "/api/v1"
bp = Blueprint("openapi", __name__, url_prefix=PREFIX)
EXTENSION_KEY = "zgoda_openapi"
REF_TEMPLATE = "#/components/schemas/{model}"

# The keys of the banner's `texts`, as zgoda/banner.py builds them.
BANNER_TEXTS = (
    "title body accept_all reject_all settings save close always_on reopen privacy_link "
    "cookies_link preferences_title cookies_heading provider duration"
).split()
ACCEPTED_TOKEN_STATUSES = ("valid", "stale")
REJECTED_TOKEN_STATUSES = ("expired", "forged", "malformed", "other_site")

ERRORS = {
    400: "BadRequest",
    401: "Unauthorized",
    403: "Forbidden",
    404: "NotFound",
    409: "StaleNotice",
    413: "PayloadTooLarge",
    415: "UnsupportedMediaType",
    422: "Unprocessable",
    429: "RateLimited",
}

STRING = {"type": "string"}
TIMESTAMP = {"type": "string", "format": "date-time"}
VERSION = {"type": "string", "pattern": "^[0-9a-f]{16}$"}
CHOICES = {"type": "object", "additionalProperties": {"type": "boolean"}}
URL = {"type": "string", "format": "uri"}
SECURITY_SCHEME = "siteApiKey"


def ref(name: str) -> dict[str, str]:
    """A reference to a component schema."""
    return {"$ref": REF_TEMPLATE.format(model=name)}


def closed(properties: dict[str, Any], optional: tuple[str, ...] = ()) -> dict[str, Any]:
    """An object schema: every property required unless `optional`, nothing else allowed."""
    return {
        "type": "object",
        "properties": properties,
        "required": [name for name in properties if name not in optional],
        "additionalProperties": False,
    }


def json_response(description: str, schema: dict[str, Any], **extra: Any) -> dict[str, Any]:
    """A response with a JSON body."""
    return {"description": description, "content": {"application/json": {"schema": schema}}} | extra


def header(description: str, required: bool = False) -> dict[str, Any]:
    """A response header whose value is a string."""
    return {"description": description, "required": required, "schema": STRING}


def model_schemas(*models: type[BaseModel]) -> dict[str, Any]:
    """The request models' own JSON Schemas (so they cannot drift), $defs hoisted."""
    schemas: dict[str, Any] = {}
    for model in models:
        schema = model.model_json_schema(ref_template=REF_TEMPLATE)
        schemas.update(schema.pop("$defs", {}))
        schemas[model.__name__] = schema
    return schemas


def response_schemas() -> dict[str, Any]:
    """What the API answers: the banner, a recorded consent, a token check, an error."""
    cookie = closed(
        {
            "name": STRING,
            "provider": STRING,
            "party": {"enum": ["first", "third"]},
            "duration": STRING,
            "description": {"type": ["string", "null"]},
        }
    )
    purpose = closed(
        {
            "id": {"type": "string", "pattern": SLUG_PATTERN},
            "name": STRING,
            "description": STRING,
            "required": {"type": "boolean"},
            "hash": {"type": "string", "pattern": "^[0-9a-f]{8}$"},
            "cookies": {"type": "array", "items": ref("BannerCookie")},
        }
    )
    consent_mode_types = {"enum": list(get_args(ConsentModeType))}
    banner = closed(
        {
            "site": STRING,
            "site_name": STRING,
            "locale": {"enum": list(LOCALES)},
            "notice_version": VERSION,
            "content_hash": VERSION,
            "consent_lifetime_days": {"type": "integer", "minimum": 1},
            "texts": closed(dict.fromkeys(BANNER_TEXTS, STRING)),
            "purposes": {"type": "array", "minItems": 1, "items": ref("BannerPurpose")},
            "consent_mode": {
                "type": "object",
                "description": "Google Consent Mode types each purpose grants.",
                "additionalProperties": {"type": "array", "items": consent_mode_types},
            },
            "links": closed({"privacy": URL, "cookies": URL, "consents": URL}),
        }
    )
    recorded = closed(
        {
            "consent_id": {"type": "string", "format": "uuid"},
            "token": {"type": "string", "description": "Signed; keep it in the consent cookie."},
            "expires_at": TIMESTAMP,
            "recorded_at": TIMESTAMP,
            "notice_version": VERSION,
            "choices": CHOICES,
        }
    )
    accepted = closed(
        {
            "valid": {"type": "boolean", "description": "False when the notice has changed."},
            "status": {"enum": list(ACCEPTED_TOKEN_STATUSES)},
            "consent_id": {"type": "string", "format": "uuid"},
            "notice_version": VERSION,
            "current_notice_version": VERSION,
            "changed_purposes": {"type": "array", "items": STRING},
            "choices": CHOICES,
            "gpc": {"type": "boolean"},
            "issued_at": TIMESTAMP,
            "expires_at": TIMESTAMP,
        }
    )
    rejected = closed(
        {
            "valid": {"const": False},
            "status": {"enum": list(REJECTED_TOKEN_STATUSES)},
            "message": STRING,
        }
    )
    error = closed(
        {
            "error": {"type": "string", "examples": ["validation_error", "not_found"]},
            "message": STRING,
            "status": {"type": "integer", "minimum": 400, "maximum": 599},
            "field": {"type": "string", "description": "The request field at fault."},
            "current_version": {**VERSION, "description": "Only on 409: the notice to show."},
        },
        optional=("field", "current_version"),
    )
    return {
        "BannerCookie": cookie,
        "BannerPurpose": purpose,
        "Banner": banner,
        "RecordedConsent": recorded,
        "AcceptedToken": accepted,
        "RejectedToken": rejected,
        "TokenCheck": {"oneOf": [ref("AcceptedToken"), ref("RejectedToken")]},
        "Error": error,
    }


def error_responses() -> dict[str, Any]:
    """Every 4xx the API gives, each with the shared Error body."""
    error = ref("Error")
    stale = {"allOf": [error, {"required": ["current_version"]}]}
    retry = {"Retry-After": header("Seconds until a write is accepted again.", required=True)}
    descriptions = {
        400: "Malformed JSON, an unknown `lang`, or an export `format`, `from` or `to` that cannot be read.",
        401: "No API key, or one that is malformed, unknown or revoked.",
        403: "The API key belongs to another site.",
        404: "No such site.",
        409: "The visitor saw an older notice: show the current one.",
        413: "The body is larger than the server accepts.",
        415: "The body is not application/json.",
        422: "The body does not fit the schema or the site's notice.",
        429: "Too many writes from this network.",
    }
    responses = {ERRORS[s]: json_response(text, error) for s, text in descriptions.items()}
    responses[ERRORS[409]] = json_response(descriptions[409], stale)
    responses[ERRORS[429]] |= {"headers": retry}
    return responses


def preflight(operation_id: str, methods: str) -> dict[str, Any]:
    """The CORS preflight of a path; headers only for the site's allowed origins."""
    return {
        "operationId": operation_id,
        "summary": "CORS preflight",
        "responses": {
            "204": {
                "description": f"Allowed origins may send {methods}.",
                "headers": {
                    "Access-Control-Allow-Origin": header("The Origin, when the site allows it."),
                    "Access-Control-Allow-Methods": header(methods),
                    "Access-Control-Allow-Headers": header("Content-Type, If-None-Match"),
                    "Access-Control-Max-Age": header("Seconds a browser may cache this."),
                },
            },
        }
        | errors(404),
    }


def errors(*statuses: int) -> dict[str, Any]:
    """Response entries pointing at the shared error responses."""
    return {
        str(status): {"$ref": f"#/components/responses/{ERRORS[status]}"} for status in statuses
    }


def json_body(schema: str, examples: dict[str, Any] | None = None) -> dict[str, Any]:
    """A required JSON request body."""
    media_type = {"schema": ref(schema)} | ({"examples": examples} if examples else {})
    return {"required": True, "content": {"application/json": media_type}}


def consent_examples(loaded: LoadedNotice) -> dict[str, Any]:
    """Bodies that one site accepts today: its current notice version and purposes."""
    optional = [purpose.id for purpose in loaded.notice.cookies.purposes if not purpose.required]
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
                "requestBody": json_body(
                    "ConsentRequest", consent_examples(example) if example else None
                ),
                "responses": {
                    "201": json_response(
                        "Recorded.", ref("RecordedConsent"), headers=cors, links=verify_link
                    ),
                }
                | errors(400, 404, 409, 413, 415, 422, 429),
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
                "8601. The CSV has a `purpose:<id>` column per purpose of the current notice "
                "(empty when the record does not mention it) and `other_choices` (JSON) for "
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
                | errors(400, 401, 403, 404),
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
            "version": "1",
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

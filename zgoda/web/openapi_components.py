"""Building blocks of the OpenAPI document: shared schemas, error responses, small helpers."""

from __future__ import annotations

from typing import Any, get_args

from pydantic import BaseModel

from zgoda.notices.base import SLUG_PATTERN
from zgoda.notices.model import LOCALES, ConsentModeType, ConsentSignal

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
    503: "StorageUnavailable",
}
# The consent write's 403: not an API key, but a `token` that proves no consent id.
UNPROVEN_CONSENT = "UnprovenConsent"

STRING = {"type": "string"}
TIMESTAMP = {"type": "string", "format": "date-time"}
VERSION = {"type": "string", "pattern": "^[0-9a-f]{16}$"}
CHOICES = {
    "type": "object",
    "description": "Allowed or not, per purpose id and, for a purpose that lists services, "
    "per service under the key `<purpose>.<service>` (e.g. `advertising.facebook_ads`). Such "
    "a purpose is true only when all its services are.",
    "additionalProperties": {"type": "boolean"},
}
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
    service = closed(
        {
            "id": {"type": "string", "pattern": SLUG_PATTERN},
            "name": STRING,
            "provider": STRING,
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
            "services": {
                "type": "array",
                "minItems": 1,
                "description": "Only for a purpose that lists services, in the notice's "
                "order: the visitor chooses each, under the choice key "
                "`<purpose>.<service>`.",
                "items": ref("BannerService"),
            },
        },
        optional=("services",),
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
            "consent_signals": {
                "type": "array",
                "description": "Consent signals sent besides Google Consent Mode, from the same "
                "types: Microsoft UET consent mode and Microsoft Clarity consent v2.",
                "items": {"enum": list(get_args(ConsentSignal))},
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
            "chosen_at": {
                **TIMESTAMP,
                "type": ["string", "null"],
                "description": "When the visitor chose, as the log keeps it; null if unknown.",
            },
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
            "error": {
                "type": "string",
                "examples": ["validation_error", "not_found", "unproven_consent"],
            },
            "message": STRING,
            "status": {"type": "integer", "minimum": 400, "maximum": 599},
            "field": {"type": "string", "description": "The request field at fault."},
            "current_version": {**VERSION, "description": "Only on 409: the notice to show."},
        },
        optional=("field", "current_version"),
    )
    return {
        "BannerCookie": cookie,
        "BannerService": service,
        "BannerPurpose": purpose,
        "Banner": banner,
        "RecordedConsent": recorded,
        "AcceptedToken": accepted,
        "RejectedToken": rejected,
        "TokenCheck": {"oneOf": [ref("AcceptedToken"), ref("RejectedToken")]},
        "Error": error,
    }


def error_responses() -> dict[str, Any]:
    """Every 4xx the API gives, and its 503, each with the shared Error body."""
    error = ref("Error")
    stale = {"allOf": [error, {"required": ["current_version"]}]}
    retry = {"Retry-After": header("Seconds until the network's window ends.", required=True)}
    descriptions = {
        400: "Malformed JSON (or nested too deeply), an unknown `lang`, or an export `format`, `from` or `to` that cannot be read.",
        401: "No API key, or one that is malformed, unknown or revoked.",
        403: "The API key belongs to another site.",
        404: "No such site.",
        409: "The visitor saw an older notice: show the current one.",
        413: "The body is larger than the server accepts.",
        415: "The body is not application/json.",
        422: "The body does not fit the schema or the site's notice; an unknown field (such as the retired `consent_id`) is named, with what to send instead.",
        429: "Too many consent writes from this network, or (export) too many refused API keys from it: wait for Retry-After.",
        503: "The consent log cannot be reached just now; nothing was recorded. Try again.",
    }
    responses = {ERRORS[s]: json_response(text, error) for s, text in descriptions.items()}
    responses[ERRORS[409]] = json_response(descriptions[409], stale)
    responses[ERRORS[429]] |= {"headers": retry}
    unavailable = {"Retry-After": header("Seconds to wait before trying again.", required=True)}
    responses[ERRORS[503]] |= {"headers": unavailable}
    responses[UNPROVEN_CONSENT] = json_response(
        "The `token` is not one the site issued (forged, another site's, or malformed), so "
        "it proves no consent id: nothing was recorded. A consent id is continued only with "
        "a genuine token for it, expired ones included; send none to start a new consent.",
        {"allOf": [error, {"required": ["field"]}]},
    )
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


def errors(*statuses: int, special: dict[int, str] | None = None) -> dict[str, Any]:
    """Response entries pointing at the shared error responses (`special`: by name instead)."""
    chosen = {status: ERRORS[status] for status in statuses} | (special or {})
    return {
        str(status): {"$ref": f"#/components/responses/{name}"}
        for status, name in sorted(chosen.items())
    }


def json_body(schema: str, examples: dict[str, Any] | None = None) -> dict[str, Any]:
    """A required JSON request body."""
    media_type = {"schema": ref(schema)} | ({"examples": examples} if examples else {})
    return {"required": True, "content": {"application/json": media_type}}

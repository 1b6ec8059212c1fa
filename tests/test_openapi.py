"""The OpenAPI document: valid 3.1, complete, and honoured by the app under schemathesis."""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance
from werkzeug.routing import Rule

from app import create_app
from tests.conftest import SITES
from zgoda.consent import ConsentRequest

API_PREFIX = "/api/v1/"


@pytest.fixture
def api_schema(fuzzed_app: Flask) -> Any:
    return schemathesis.openapi.from_wsgi("/api/v1/openapi.json", fuzzed_app)


def document(app: Flask) -> dict[str, Any]:
    response = app.test_client().get("/api/v1/openapi.json")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    body: dict[str, Any] = response.get_json()
    return body


def openapi_path(rule: Rule) -> str:
    return rule.rule.replace("<site>", "{site}")


def test_the_document_is_valid_openapi_3_1(api_schema: Any) -> None:
    assert api_schema.raw_schema["openapi"] == "3.1.0"
    api_schema.validate()  # raises on anything the OpenAPI 3.1 meta-schema refuses


def test_every_api_route_and_method_is_documented(fuzzed_app: Flask) -> None:
    paths = document(fuzzed_app)["paths"]
    routes = [rule for rule in fuzzed_app.url_map.iter_rules() if rule.rule.startswith(API_PREFIX)]
    assert {openapi_path(rule) for rule in routes} == set(paths)
    for rule in routes:
        # The consent API's blueprint answers CORS preflights (OPTIONS), so they are part of
        # its document; elsewhere Flask's automatic OPTIONS is not.
        implicit = {"head"} if rule.endpoint.startswith("api.") else {"head", "options"}
        methods = {method.lower() for method in rule.methods or ()} - implicit
        assert methods == set(paths[openapi_path(rule)]) - {"parameters"}, rule.rule


def test_site_is_an_enum_of_the_loaded_sites(fuzzed_app: Flask) -> None:
    site = document(fuzzed_app)["components"]["parameters"]["Site"]
    assert site["in"] == "path" and site["required"] is True
    assert site["schema"]["enum"] == SITES
    assert site["schema"]["pattern"] == "^[a-z0-9-]+$"


def test_the_consent_body_schema_is_the_request_model(fuzzed_app: Flask) -> None:
    schema = document(fuzzed_app)["components"]["schemas"]["ConsentRequest"]
    assert schema["additionalProperties"] is False
    assert set(schema["properties"]) == set(ConsentRequest.model_fields)
    assert set(schema["required"]) == {"action", "notice_version", "locale"}
    actions = document(fuzzed_app)["components"]["schemas"]["Action"]["enum"]
    assert actions == ["accept_all", "reject_all", "custom", "withdraw"]


def test_continuing_a_consent_is_documented_with_its_token_and_its_403(fuzzed_app: Flask) -> None:
    spec = document(fuzzed_app)
    body = spec["components"]["schemas"]["ConsentRequest"]
    assert "consent_id" not in body["properties"]
    assert "previous token" in body["properties"]["token"]["description"]
    operation = spec["paths"]["/api/v1/sites/{site}/consents"]["post"]
    assert "`token`" in operation["description"]
    assert operation["responses"]["403"] == {"$ref": "#/components/responses/UnprovenConsent"}
    unproven = spec["components"]["responses"]["UnprovenConsent"]
    schema = unproven["content"]["application/json"]["schema"]
    assert {"required": ["field"]} in schema["allOf"]
    assert "forged" in unproven["description"]
    # The API key's 403 stays what it was for the export.
    export = spec["paths"]["/api/v1/sites/{site}/consents/export"]["get"]
    assert export["responses"]["403"] == {"$ref": "#/components/responses/Forbidden"}


def test_every_error_response_uses_the_shared_error_schema(fuzzed_app: Flask) -> None:
    spec = document(fuzzed_app)
    responses = spec["components"]["responses"]
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            if method == "parameters":
                continue
            for status, response in operation["responses"].items():
                if int(status) < 400:
                    continue
                name = response["$ref"].rsplit("/", 1)[1]
                schema = responses[name]["content"]["application/json"]["schema"]
                refs = [schema] + schema.get("allOf", [])
                assert {"$ref": "#/components/schemas/Error"} in refs, (path, method, status)
    assert spec["paths"]["/api/v1/sites/{site}/consents"]["post"]["responses"].keys() >= {
        "400",
        "403",
        "404",
        "409",
        "413",
        "415",
        "422",
        "429",
    }


def test_the_document_is_built_once_at_start_up(fuzzed_app: Flask) -> None:
    built = fuzzed_app.extensions["zgoda_openapi"]
    assert document(fuzzed_app) == built
    assert fuzzed_app.extensions["zgoda_openapi"] is built


# schemathesis's lazy `from_fixture` needs a pytest internal that pytest 9 removed, so the
# document is loaded here from an app that never touches its database; the cases then run
# against `fuzzed_app`, which has one.
schema = schemathesis.openapi.from_wsgi(
    "/api/v1/openapi.json", create_app({"TESTING": True, "SECRET_KEY": "test-secret"})
)


def recorded_only_invalid_consent(ctx: Any, response: Any, case: Any) -> bool | None:
    """Schema-valid consents may still break the notice's rules; then 422 names that.

    A generated `token` is a string, never one the site issued: 403 names that field.
    """
    positive = case.meta is not None and case.meta.generation.mode.is_positive
    if positive and response.status_code == 422:
        assert response.json()["error"] == "invalid_consent", response.json()
        return True
    if positive and response.status_code == 403:
        assert isinstance(case.body, dict) and "token" in case.body, response.json()
        assert response.json()["error"] == "unproven_consent", response.json()
        assert response.json()["field"] == "token", response.json()
        return True
    return positive_data_acceptance(ctx, response, case)


# schemathesis asks for gzip but reads a WSGI answer undecoded: ask for the plain body.
PLAIN = {"Accept-Encoding": "identity"}


@schema.parametrize()
@settings(
    max_examples=30,
    deadline=None,
    # The same cases on every run, and no example database left in the working tree.
    derandomize=True,
    database=None,
    # One app for every generated request: the log only grows, and no case depends on it.
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
        HealthCheck.function_scoped_fixture,
    ],
)
def test_the_app_honours_its_document(case: Any, fuzzed_app: Flask) -> None:
    if case.operation.path.endswith("/consents") and case.method == "POST":
        # The body schema is the same for every site; which purposes a custom choice must
        # name depends on the site's notice, so such a 422 is the right answer to valid JSON.
        case.call_and_validate(
            app=fuzzed_app,
            headers=PLAIN,
            excluded_checks=[positive_data_acceptance],
            additional_checks=[recorded_only_invalid_consent],
        )
    else:
        case.call_and_validate(app=fuzzed_app, headers=PLAIN)


def test_a_recorded_token_verifies_along_the_documented_link(fuzzed_app: Flask) -> None:
    api = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", fuzzed_app)
    record = api["/api/v1/sites/{site}/consents"]["POST"]
    content = record.definition.raw["requestBody"]["content"]["application/json"]
    link = record.definition.raw["responses"]["201"]["links"]["VerifyToken"]
    assert link["operationId"] == "verifyToken"
    assert link["requestBody"] == {"token": "$response.body#/token"}
    assert link["parameters"] == {"site": "$request.path.site"}

    site = SITES[0]
    recorded = record.Case(
        path_parameters={"site": site},
        body=content["examples"]["accept_all"]["value"],
        media_type="application/json",
    ).call_and_validate()
    assert recorded.status_code == 201

    verify = api.find_operation_by_id(link["operationId"])
    checked = verify.Case(
        path_parameters={"site": site},  # $request.path.site
        body={"token": recorded.json()["token"]},  # $response.body#/token
        media_type="application/json",
    ).call_and_validate()
    assert checked.json()["status"] == "valid"

"""A longer schemathesis run than tests/test_openapi.py's: schema-valid and deliberately invalid
requests (wrong types, missing fields, odd strings) to every documented operation.

Bounded by count, not time: 300 examples per operation, the same cases on every run.
No answer may be a 500, and every answer must be one the document describes.
"""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from app import create_app
from tests.test_openapi import PLAIN, recorded_only_invalid_consent

EXAMPLES_PER_OPERATION = 300

schema = schemathesis.openapi.from_wsgi(
    "/api/v1/openapi.json", create_app({"TESTING": True, "SECRET_KEY": "test-secret"})
)
# A body over MAX_CONTENT_LENGTH is refused with 413, which schemathesis does not count among
# the ways to refuse invalid data.
schema.config.checks.negative_data_rejection.expected_statuses.append("413")


@pytest.mark.slow
@schema.parametrize()
@settings(
    max_examples=EXAMPLES_PER_OPERATION,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
        HealthCheck.function_scoped_fixture,
    ],
)
def test_no_generated_request_gets_a_server_error(case: Any, fuzzed_app: Flask) -> None:
    response = case.call(app=fuzzed_app, headers=PLAIN)
    assert response.status_code < 500, (case.method, case.path, response.text[:300])
    if case.operation.path.endswith("/consents") and case.method == "POST":
        case.validate_response(
            response,
            excluded_checks=[positive_data_acceptance],
            additional_checks=[recorded_only_invalid_consent],
        )
    else:
        case.validate_response(response)

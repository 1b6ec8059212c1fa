"""Which requests are API requests: decided by the blueprint that answers them.

API answers are JSON (errors too), cacheable and cookie-free; pages are localized HTML.
"""

from __future__ import annotations

from flask import request

API_PREFIX = "/api/v1"
API_BLUEPRINTS = frozenset({"api", "export_api", "openapi"})


def is_api_request() -> bool:
    """Whether an API blueprint answers this request.

    A URL that matches no route has no blueprint; under the API's prefix it still gets
    the API's JSON 404 or 405.
    """
    if request.url_rule is not None:
        return request.blueprint in API_BLUEPRINTS
    return request.path.startswith(API_PREFIX + "/")

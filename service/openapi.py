"""The OpenAPI document, generated from the routes, and the problem responses they declare.

The document is served as JSON at /schema/openapi.json (and at /schema). No HTML page:
Litestar's pages (Redoc, Swagger UI, Scalar...) load their scripts and fonts from CDNs,
which a cluster without internet access, or a strict Content-Security-Policy, cannot
reach. Any OpenAPI viewer can open the JSON instead.
"""

from __future__ import annotations

from litestar.openapi import OpenAPIConfig, ResponseSpec
from litestar.openapi.plugins import JsonRenderPlugin

from service import __version__
from service.problems import PROBLEM_JSON, Problem

# What each problem status means in this API, as the document says it.
PROBLEMS = {
    400: "The request is malformed: a query or path parameter, the cursor, or the body's "
    "JSON syntax, encoding or nesting. `errors` names each bad field and its rule.",
    404: "No greeting has this id.",
    408: "The body did not arrive within the server's deadline (BODY_READ_TIMEOUT_SECONDS); "
    "the connection is closed.",
    413: "The body is larger than the server's limit (MAX_BODY_BYTES); `detail` gives it in bytes.",
    415: "The body is not JSON in UTF-8: send Content-Type application/json, "
    "with no charset or charset=utf-8.",
    422: "The JSON body breaks the schema (`errors` names each field, its rule and limit), "
    "or the Idempotency-Key was already used with another body.",
    503: "The database is unavailable; retry after Retry-After seconds.",
}


def problem_responses(*statuses: int) -> dict[int, ResponseSpec]:
    """The problem documents a route can answer, all with the one shared Problem schema."""
    return {
        status: ResponseSpec(
            data_container=Problem,
            media_type=PROBLEM_JSON,
            description=PROBLEMS[status],
            generate_examples=False,
        )
        for status in statuses
    }


def openapi_config() -> OpenAPIConfig:
    """The document served at /schema/openapi.json (and /schema): JSON only, no CDN page."""
    return OpenAPIConfig(
        title="Hello-World API",
        version=__version__,
        path="/schema",
        render_plugins=[JsonRenderPlugin()],
    )

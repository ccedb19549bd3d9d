"""Every error as RFC 9457 problem details (application/problem+json), no stack traces.

The messages are for people: a validation error names the field, the rule in words
and the limit (msgspec's own wording, which quotes regexes, is translated here).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from http import HTTPStatus
from typing import Any

import msgspec
import structlog
from asyncpg.exceptions import OperatorInterventionError, PostgresConnectionError
from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.types import ExceptionHandlersMap
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

PROBLEM_JSON = "application/problem+json"
# repr() of a regex a schema uses -> its rule in words (registered next to the regex);
# msgspec quotes the regex that way in its message.
PATTERN_RULES: dict[str, str] = {}
# msgspec's wording of JSON types -> ours.
TYPE_WORDS = {
    "str": "text",
    "int": "a whole number",
    "float": "a number",
    "bool": "true or false",
    "null": "null",
    "object": "a JSON object",
    "array": "a JSON array",
}
# The words for a comparison in "Expected `int` >= 1".
BOUND_WORDS = {">=": "at least", "<=": "at most", ">": "more than", "<": "less than"}


class FieldError(msgspec.Struct, frozen=True):
    """One thing wrong with the request, in words."""

    field: str
    source: str
    message: str


class Problem(msgspec.Struct, frozen=True, kw_only=True):
    """An RFC 9457 problem document; `type` is always the default, about:blank."""

    title: str
    status: int
    detail: str
    instance: str
    errors: list[FieldError] | msgspec.UnsetType = msgspec.UNSET
    checks: dict[str, str] | msgspec.UnsetType = msgspec.UNSET


def problem(
    request: Request[Any, Any, Any], status: int, detail: str, **extensions: Any
) -> Response[dict[str, Any]]:
    """A problem document for this request; `type` is left as the default about:blank."""
    body = {"title": HTTPStatus(status).phrase, "status": status, "detail": detail}
    body["instance"] = request.url.path
    body.update(extensions)
    return Response(body, status_code=status, media_type=PROBLEM_JSON)


def explain_pattern(pattern: str, rule: str) -> None:
    """Say in words what a regex used by a schema or parameter allows."""
    PATTERN_RULES[repr(pattern)] = rule


def in_words(message: str) -> str:
    """msgspec's or Litestar's validation message as a rule in words, with its limit."""
    for wording, words in MESSAGES:
        if match := wording.fullmatch(message):
            return words(match)
    return message


def _length(match: re.Match[str]) -> str:
    count = int(match[2])
    return f"must be {BOUND_WORDS[match[1]]} {count} character{'s' * (count != 1)} long"


def _types(match: re.Match[str]) -> str:
    expected, got = (TYPE_WORDS.get(word, word) for word in match.groups())
    return f"must be {expected}, not {got}"


# msgspec's wording -> ours (a limit stays in; a regex becomes its rule).
MESSAGES: list[tuple[re.Pattern[str], Callable[[re.Match[str]], str]]] = [
    (re.compile(r"Expected `str` of length ([<>]=?) (\d+)"), _length),
    (
        re.compile(r"Expected `str` matching regex (.*)"),
        lambda m: f"may contain only {PATTERN_RULES.get(m[1], 'the characters documented')}",
    ),
    (
        re.compile(r"Expected `(?:int|float)` ([<>]=?) (-?[\d.e+]+)"),
        lambda m: f"must be {BOUND_WORDS[m[1]]} {m[2]}",
    ),
    (re.compile(r"Expected `(\w+)`, got `(\w+)`"), _types),
    (re.compile(r"Object missing required field `(.+)`"), lambda m: f"needs the field {m[1]!r}"),
    (re.compile(r"Object contains unknown field `(.+)`"), lambda m: f"has no field {m[1]!r}"),
]


def validation_status(exc: ValidationException, body_present: bool) -> int:
    """422 when a well-formed JSON body breaks the schema, 400 for everything else."""
    errors = exc.extra if isinstance(exc.extra, list) else []
    in_body = bool(errors) and all(_source(error) == "body" for error in errors)
    return 422 if in_body and body_present else 400


def validation_errors(exc: HTTPException) -> list[dict[str, str]]:
    """The field errors Litestar found, each as `field`, `source` and a message in words."""
    errors = exc.extra if isinstance(exc.extra, list) else []
    return [_field_error(error) for error in errors if isinstance(error, dict)]


def _field_error(error: dict[str, Any]) -> dict[str, str]:
    field = str(error.get("key", "")) or "body"
    source = _source(error)
    if field == "data":  # Litestar's name for the whole body
        field = "body"
    message = in_words(str(error.get("message", "")))
    return {"field": field, "source": source, "message": f"{field} {message}"}


def _source(error: dict[str, Any]) -> str:
    source = error.get("source", "")
    return str(getattr(source, "value", source))  # Litestar uses an enum for parameters


def on_validation_error(
    request: Request[Any, Any, Any], exc: ValidationException
) -> Response[dict[str, Any]]:
    headers = request.headers
    body_present = headers.get("content-length", "0") != "0" or "transfer-encoding" in headers
    status = validation_status(exc, body_present)
    detail = "the request body is invalid" if status == 422 else "the request is invalid"
    return problem(request, status, detail, errors=validation_errors(exc))


def on_http_error(request: Request[Any, Any, Any], exc: HTTPException) -> Response[dict[str, Any]]:
    extensions = {"errors": validation_errors(exc)} if isinstance(exc.extra, list) else {}
    response = problem(request, exc.status_code, _detail(request, exc), **extensions)
    for name, value in (exc.headers or {}).items():
        is_allow = name.lower() == "allow"
        response.headers["Allow" if is_allow else name] = (
            ordered_methods(value) if is_allow else value
        )
    return response


def ordered_methods(allow: str) -> str:
    """An Allow header in a stable order (Litestar builds it from a set)."""
    order = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
    methods = {method.strip().upper() for method in allow.split(",") if method.strip()}
    known = [method for method in order if method in methods]
    return ", ".join(known + sorted(methods - set(order)))


def allowed_methods(request: Request[Any, Any, Any]) -> str:
    """The Allow header for the path this request was routed to: every method it has."""
    template = request.scope["path_template"]
    methods = next((r.methods for r in request.app.routes if r.path_format == template), ())
    return ordered_methods(", ".join(methods))


def on_database_error(request: Request[Any, Any, Any], exc: Exception) -> Response[dict[str, Any]]:
    if not is_outage(exc):
        return on_unexpected_error(request, exc)  # a bug in a query, not an outage
    _log().warning("database unavailable", error=type(exc).__name__)
    response = problem(request, 503, "the database is unavailable; retry shortly")
    response.headers["Retry-After"] = "1"
    return response


def is_outage(exc: Exception) -> bool:
    """Connection-level failures mean the database is away; other DBAPI errors are bugs."""
    if isinstance(exc, DBAPIError) and not isinstance(exc, OperationalError):
        return exc.connection_invalidated
    return True


def on_unexpected_error(
    request: Request[Any, Any, Any], exc: Exception
) -> Response[dict[str, Any]]:
    _log().error("unhandled error", exc_info=exc)
    return problem(request, 500, "an unexpected error occurred; the request id identifies it")


def _log() -> Any:
    """The errors' logger, as structlog is configured now.

    Not kept at import: structlog caches a logger with the output of its first use, and
    an app built later (each test builds its own) may write elsewhere; these lines are
    rare, so looking the logger up each time costs nothing that matters.
    """
    return structlog.get_logger("service.errors")


def _detail(request: Request[Any, Any, Any], exc: HTTPException) -> str:
    # Litestar's own detail defaults to the status phrase; keep messages short and safe.
    if exc.status_code >= 500:
        return "an unexpected error occurred; the request id identifies it"
    if exc.status_code == 413:
        limit = request.app.request_max_body_size
        return f"the request body is larger than the limit of {limit} bytes"
    if exc.status_code == 405 and str(exc.detail) == HTTPStatus(405).phrase:
        return f"{request.method} is not allowed here; the Allow header lists what is"
    return str(exc.detail)


EXCEPTION_HANDLERS: ExceptionHandlersMap = {
    ValidationException: on_validation_error,
    HTTPException: on_http_error,
    OperationalError: on_database_error,
    DBAPIError: on_database_error,
    PoolTimeoutError: on_database_error,
    # From the driver-level INSERT (greetings/repository.py): the server went away.
    PostgresConnectionError: on_database_error,
    OperatorInterventionError: on_database_error,
    # A statement past DB_QUERY_TIMEOUT_SECONDS, or a connection attempt past its timeout.
    TimeoutError: on_database_error,
    OSError: on_database_error,
    Exception: on_unexpected_error,
}

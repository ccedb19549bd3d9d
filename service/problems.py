"""Every error as RFC 9457 problem details (application/problem+json), no stack traces."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

import structlog
from asyncpg.exceptions import OperatorInterventionError, PostgresConnectionError
from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.types import ExceptionHandlersMap
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

PROBLEM_JSON = "application/problem+json"
log = structlog.get_logger("service.errors")


def problem(
    request: Request[Any, Any, Any], status: int, detail: str, **extensions: Any
) -> Response[dict[str, Any]]:
    """A problem document for this request; `type` is left as the default about:blank."""
    body = {"title": HTTPStatus(status).phrase, "status": status, "detail": detail}
    body["instance"] = request.url.path
    body.update(extensions)
    return Response(body, status_code=status, media_type=PROBLEM_JSON)


def validation_status(exc: ValidationException, body_present: bool) -> int:
    """422 when a well-formed JSON body breaks the schema, 400 for everything else."""
    errors = exc.extra if isinstance(exc.extra, list) else []
    in_body = bool(errors) and all(_source(error) == "body" for error in errors)
    return 422 if in_body and body_present else 400


def validation_errors(exc: ValidationException) -> list[dict[str, str]]:
    """The field errors Litestar found, without anything it does not mean to show."""
    errors = exc.extra if isinstance(exc.extra, list) else []
    return [
        {"field": str(e.get("key", "")), "source": _source(e), "message": str(e.get("message", ""))}
        for e in errors
        if isinstance(e, dict)
    ]


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
    if not body_present and request.method in {"POST", "PUT", "PATCH"}:
        detail = "a JSON request body is required"
    return problem(request, status, detail, errors=validation_errors(exc))


def on_http_error(request: Request[Any, Any, Any], exc: HTTPException) -> Response[dict[str, Any]]:
    response = problem(request, exc.status_code, _detail(exc))
    response.headers.update(exc.headers or {})
    return response


def on_database_error(request: Request[Any, Any, Any], exc: Exception) -> Response[dict[str, Any]]:
    if not is_outage(exc):
        return on_unexpected_error(request, exc)  # a bug in a query, not an outage
    log.warning("database unavailable", error=type(exc).__name__)
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
    log.error("unhandled error", exc_info=exc)
    return problem(request, 500, "an unexpected error occurred; the request id identifies it")


async def require_json(request: Request[Any, Any, Any]) -> None:
    """before_request hook: a body that is not JSON gets 415 before it is parsed."""
    if request.content_type[0] not in (MediaType.JSON, "application/merge-patch+json"):
        raise HTTPException(status_code=415, detail="send the body as application/json")


def _detail(exc: HTTPException) -> str:
    # Litestar's own detail defaults to the status phrase; keep messages short and safe.
    if exc.status_code >= 500:
        return "an unexpected error occurred; the request id identifies it"
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

"""The ids of the request being served, for every log line written while it runs."""

from __future__ import annotations

from collections.abc import MutableMapping
from contextvars import ContextVar, Token
from typing import Any

from opentelemetry import context as otel
from opentelemetry.context import _SUPPRESS_INSTRUMENTATION_KEY

# (request_id, trace_id, span_id); one ContextVar set once per request is much cheaper
# than binding each id through structlog.contextvars.
REQUEST_IDS: ContextVar[tuple[str, str | None, str | None] | None] = ContextVar(
    "request_ids", default=None
)


def add_request_ids(_: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """structlog processor: put the current request's ids on an app log line."""
    ids = REQUEST_IDS.get()
    if ids is not None:
        event.setdefault("request_id", ids[0])
        if ids[1] is not None:
            event.setdefault("trace_id", ids[1])
            event.setdefault("span_id", ids[2])
    return event


def in_untraced_request() -> bool:
    """Whether a request is being served that nobody records (no trace id in its ids)."""
    ids = REQUEST_IDS.get()
    return ids is not None and ids[1] is None


# The context of database work in a request nobody records: instrumentations off.
UNTRACED = otel.set_value(_SUPPRESS_INSTRUMENTATION_KEY, True, otel.Context())


class UntracedStatements:
    """`with UntracedStatements():` around database work: in a request nobody records
    (no trace id among REQUEST_IDS), the database instrumentation is switched off.

    With no request span to join, each statement's span would start a trace of its
    own, and asyncpg's instrumentation would build its span and attributes before the
    sampler drops most of them. Used around SQLAlchemy's work (reads, readiness); the
    hot INSERT goes past the instrumentation altogether (db.Lease.fetchrow). Done where
    statements run, rather than by the middleware for every request: most requests (a
    greeting, a probe's liveness) run none, and the attach costs ~1.5 us each. The key
    is the one the API's own exporters use. Outside a request (start-up) nothing changes.
    """

    __slots__ = ("_token",)

    def __init__(self) -> None:
        self._token: Token[otel.Context] | None = None

    def __enter__(self) -> None:
        if in_untraced_request():
            self._token = otel.attach(UNTRACED)

    def __exit__(self, *_: object) -> None:
        if self._token is not None:
            otel.detach(self._token)
            self._token = None

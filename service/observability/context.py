"""The ids of the request being served, for every log line written while it runs."""

from __future__ import annotations

from collections.abc import MutableMapping
from contextvars import ContextVar
from typing import Any

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

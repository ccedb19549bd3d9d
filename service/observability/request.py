"""The request side of the middleware: its headers read in one pass, a deadline for
the body, and a client that left.

A body shorter than its Content-Length would hold a worker task until the client gives
up; past BODY_READ_TIMEOUT_SECONDS the request gets a 408 problem and the task is freed.
A client that disconnects mid-body is not a server fault: Litestar answers it with a
500, which nobody receives; the exchange is recorded as 499 (nginx's "client closed
request") in the log and the metrics instead, and kept out of the 5xx rate.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from typing import NamedTuple

from litestar.exceptions import HTTPException
from litestar.types import HTTPScope, Receive, ReceiveMessage

from service.deadlines import Deadline
from service.observability.response import accepts_gzip

REQUEST_ID_HEADER = b"x-request-id"
_SAFE_REQUEST_ID = re.compile(rb"^[A-Za-z0-9._:-]{1,128}$")
_BODY_HEADERS = (b"content-length", b"transfer-encoding")


# Clients send a handful of distinct Accept-Encoding values; parsing one costs ~1 us.
_gzip_answers: dict[bytes, bool] = {}
GZIP_ANSWERS_KEPT = 256  # bounded: a client inventing values only refills it


def _remember_gzip(accept_encoding: bytes) -> bool:
    """accepts_gzip, remembered for the next request sending the same value."""
    if len(_gzip_answers) >= GZIP_ANSWERS_KEPT:
        _gzip_answers.clear()
    answer = _gzip_answers[accept_encoding] = accepts_gzip(accept_encoding)
    return answer


class RequestHeaders(NamedTuple):
    """What the middleware needs from the request headers, found in one pass."""

    request_id: bytes
    traced: bool
    gzip_ok: bool
    origin: bytes | None
    preflight: bool
    body: bool
    """A body is announced (Content-Length above 0, or Transfer-Encoding)."""


def read_headers(scope: HTTPScope) -> RequestHeaders:
    """The caller's X-Request-ID when short and plain (else a new one), and the rest."""
    request_id, traced, gzip_ok, origin, preflight = b"", False, False, None, False
    body = False
    for name, value in scope["headers"]:
        if name == REQUEST_ID_HEADER and _SAFE_REQUEST_ID.match(value):
            request_id = bytes(value)
        elif name == b"traceparent":
            traced = True
        elif name == b"accept-encoding":
            known = _gzip_answers.get(value)
            gzip_ok = _remember_gzip(bytes(value)) if known is None else known
        elif name == b"origin":
            origin = bytes(value)
        elif name == b"access-control-request-method":
            preflight = scope["method"] == "OPTIONS"
        elif name in _BODY_HEADERS:
            body = body or value not in (b"0", b"")
    # Not a secret, only unique: a PRNG draw avoids a getrandom syscall per request.
    request_id = request_id or f"{random.getrandbits(128):032x}".encode()
    preflight = preflight and origin is not None
    return RequestHeaders(request_id, traced, gzip_ok, origin, preflight, body)


class BodyReader:
    """Wraps `receive`: the whole body must arrive within `timeout` seconds of the first
    read (None: no limit; checked every deadlines.TICK_SECONDS); a disconnect calls
    `on_disconnect`."""

    def __init__(
        self, receive: Receive, timeout: float | None, on_disconnect: Callable[[], None]
    ) -> None:
        self._receive = receive
        self._timeout = timeout
        self._on_disconnect = on_disconnect
        self._deadline = None if timeout is None else Deadline(timeout)

    async def receive(self) -> ReceiveMessage:
        """The next ASGI message, or HTTPException(408) once the body is late."""
        if self._deadline is None:
            message = await self._receive()
        else:
            message = await self._receive_before_deadline(self._deadline)
        if message["type"] == "http.disconnect":
            self._on_disconnect()
        elif not message.get("more_body", False):
            self._deadline = None  # the body is complete: later reads are not timed
        return message

    async def _receive_before_deadline(self, deadline: Deadline) -> ReceiveMessage:
        try:
            with deadline:
                return await self._receive()
        except TimeoutError:
            detail = f"the request body did not arrive within {self._timeout:g} s"
            # The rest of the body may still come: this connection cannot carry another request.
            raise HTTPException(
                status_code=408, detail=detail, headers={"connection": "close"}
            ) from None

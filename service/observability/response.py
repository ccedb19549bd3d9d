"""The response side of the middleware: extra headers, the status, gzip for large bodies.

Content negotiation follows RFC 9110 12.5.3: gzip only when Accept-Encoding gives gzip
(or `*`, when gzip is not named) a weight above 0, so `gzip;q=0` gets identity; every
response that *could* be compressed says `Vary: Accept-Encoding`, compressed or not, so
a cache keeps the two versions apart.
"""

from __future__ import annotations

import gzip
from collections.abc import Iterable
from typing import Any

from litestar.types import Message, Send

CLIENT_CLOSED_REQUEST = 499  # nginx's "client closed request": the client left first
COMPRESSION_MIN_BYTES = 1024
VARY = (b"vary", b"accept-encoding")
GZIP_LEVEL = 6  # level 9 costs far more time for ~1% smaller bodies


class ResponseWriter:
    """Wraps `send`: records the status, adds headers, gzips bodies of 1 KiB or more."""

    def __init__(self, send: Send, headers: list[tuple[bytes, bytes]], gzip_ok: bool) -> None:
        self._send = send
        self._headers = headers
        self._gzip_ok = gzip_ok
        self._start: Any = None
        self._body: list[bytes] = []
        self.status = 500
        self.head = False  # a HEAD answered as GET: headers as GET's, no body
        self.started = False
        self.client_gone = False

    def client_left(self) -> None:
        """The client disconnected before its answer: record 499, send it nothing more."""
        if not self.started:
            self.client_gone = True
            self.status = CLIENT_CLOSED_REQUEST

    async def send(self, event: Message) -> None:
        if self.client_gone:
            return  # whatever the app answers (Litestar: 500), nobody receives it
        message: Any = event  # ASGI messages are plain dicts; this adds to their headers
        if self.head and message["type"] == "http.response.body":
            message = {**message, "body": b""}
        if message["type"] == "http.response.start":
            self.started = True
            self.status = message["status"]
            own = message.get("headers", ())
            compressible = not self.head and _compressible(own)
            message["headers"] = [*own, *self._headers, *((VARY,) if compressible else ())]
            if self._gzip_ok and compressible:
                self._start = message  # held until the whole body is here
                return
        elif message["type"] == "http.response.body" and self._start is not None:
            self._body.append(message.get("body", b""))
            if message.get("more_body", False):
                return
            await self._send_compressed()
            return
        await self._send(message)

    async def preflight(self, cors_headers: list[tuple[bytes, bytes]]) -> None:
        """Answer a CORS preflight (204) without going through the app."""
        start = {"type": "http.response.start", "status": 204, "headers": cors_headers}
        await self.send(start)  # type: ignore[arg-type]
        await self.send({"type": "http.response.body", "body": b"", "more_body": False})

    async def _send_compressed(self) -> None:
        assert self._start is not None  # noqa: S101  (only called once start was held)
        body = gzip.compress(b"".join(self._body), compresslevel=GZIP_LEVEL)
        kept = [(n, v) for n, v in self._start["headers"] if n != b"content-length"]
        self._start["headers"] = [
            *kept,
            (b"content-encoding", b"gzip"),
            (b"content-length", str(len(body)).encode()),
        ]
        await self._send(self._start)
        await self._send({"type": "http.response.body", "body": body, "more_body": False})


def accepts_gzip(accept_encoding: bytes) -> bool:
    """Whether an Accept-Encoding value gives gzip (x-gzip, or `*`) a weight above 0."""
    star = False
    for item in accept_encoding.split(b","):
        coding, _, parameters = item.partition(b";")
        coding = coding.strip().lower()
        if coding in (b"gzip", b"x-gzip"):
            return _weight(parameters) > 0
        if coding == b"*":
            star = _weight(parameters) > 0
    return star


def _weight(parameters: bytes) -> float:
    """The q parameter (RFC 9110 12.4.2): 1 when absent, 0 when unreadable."""
    if not parameters:
        return 1.0
    for parameter in parameters.split(b";"):
        name, _, value = parameter.partition(b"=")
        if name.strip().lower() == b"q":
            try:
                return float(value.strip())
            except ValueError:
                return 0.0
    return 1.0


def _compressible(headers: Iterable[tuple[bytes, bytes]]) -> bool:
    """A body of known length, 1 KiB or more, not already encoded."""
    length = 0
    for name, value in headers:
        if name == b"content-encoding":
            return False
        if name == b"content-length":
            length = int(value)
    return length >= COMPRESSION_MIN_BYTES

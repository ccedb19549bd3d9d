"""The response side of the middleware: extra headers, the status, gzip for large bodies."""

from __future__ import annotations

import gzip
from collections.abc import Iterable
from typing import Any

from litestar.types import Message, Send

from service.observability.request import CLIENT_CLOSED_REQUEST

COMPRESSION_MIN_BYTES = 1024
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
            message["headers"] = [*own, *self._headers]
            if self._gzip_ok and not self.head and _compressible(own):
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
            (b"vary", b"accept-encoding"),
        ]
        await self._send(self._start)
        await self._send({"type": "http.response.body", "body": body, "more_body": False})


def _compressible(headers: Iterable[tuple[bytes, bytes]]) -> bool:
    """A body of known length, 1 KiB or more, not already encoded."""
    length = 0
    for name, value in headers:
        if name == b"content-encoding":
            return False
        if name == b"content-length":
            length = int(value)
    return length >= COMPRESSION_MIN_BYTES

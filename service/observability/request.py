"""The request side of the middleware: a deadline for the body, and a client that left.

A body shorter than its Content-Length would hold a worker task until the client gives
up; past BODY_READ_TIMEOUT_SECONDS the request gets a 408 problem and the task is freed.
A client that disconnects mid-body is not a server fault: Litestar answers it with a
500, which nobody receives; the exchange is recorded as 499 (nginx's "client closed
request") in the log and the metrics instead, and kept out of the 5xx rate.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from litestar.exceptions import HTTPException
from litestar.types import Receive, ReceiveMessage

CLIENT_CLOSED_REQUEST = 499


class BodyReader:
    """Wraps `receive`: the whole body must arrive within `timeout` seconds of the first
    read (None: no limit); a disconnect calls `on_disconnect` once."""

    def __init__(
        self, receive: Receive, timeout: float | None, on_disconnect: Callable[[], None]
    ) -> None:
        self._receive = receive
        self._timeout = timeout
        self._on_disconnect = on_disconnect
        self._deadline: float | None = None
        self._body_done = False

    async def receive(self) -> ReceiveMessage:
        """The next ASGI message, or HTTPException(408) once the body is late."""
        if self._body_done or self._timeout is None:
            message = await self._receive()
        else:
            message = await self._receive_before_deadline()
        if message["type"] == "http.disconnect":
            self._on_disconnect()
        elif not message.get("more_body", False):
            self._body_done = True
        return message

    async def _receive_before_deadline(self) -> ReceiveMessage:
        loop = asyncio.get_running_loop()
        if self._deadline is None:
            self._deadline = loop.time() + (self._timeout or 0)
        try:
            async with asyncio.timeout_at(self._deadline):
                return await self._receive()
        except TimeoutError:
            detail = f"the request body did not arrive within {self._timeout:g} s"
            # The rest of the body may still come: this connection cannot carry another request.
            raise HTTPException(
                status_code=408, detail=detail, headers={"connection": "close"}
            ) from None

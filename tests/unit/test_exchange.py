"""The request and response sides of the middleware, driven with plain ASGI callables:
the body deadline, a client that leaves, and HEAD."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from litestar.exceptions import HTTPException

from service.observability.request import BodyReader
from service.observability.response import ResponseWriter

pytestmark = pytest.mark.anyio


def messages(*items: dict[str, Any]) -> Any:
    """An ASGI `receive` handing out `items`, then waiting forever (a silent client)."""
    queue = list(items)

    async def receive() -> dict[str, Any]:
        if queue:
            return queue.pop(0)
        await asyncio.Event().wait()
        raise AssertionError("unreachable")

    return receive


class Sent:
    """An ASGI `send` that records what reached the client."""

    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []

    async def __call__(self, message: dict[str, Any]) -> None:
        self.messages.append(message)


async def test_a_body_that_stops_coming_is_408_after_the_deadline() -> None:
    """The first chunk arrives, the rest never does: HTTPException 408 closing the
    connection, whose detail names the limit."""
    reader = BodyReader(
        messages({"type": "http.request", "body": b"{", "more_body": True}), 0.05, lambda: None
    )
    assert (await reader.receive())["body"] == b"{"
    with pytest.raises(HTTPException) as late:
        await reader.receive()
    assert late.value.status_code == 408
    assert late.value.headers == {"connection": "close"}
    assert "within 0.05 s" in late.value.detail


async def test_once_the_body_is_complete_no_deadline_applies() -> None:
    """After the last chunk, a later receive (waiting for a disconnect) is not timed."""
    reader = BodyReader(messages({"type": "http.request", "body": b"{}"}), 0.01, lambda: None)
    await reader.receive()
    with pytest.raises(TimeoutError):  # the test's own bound: the reader did not raise 408
        async with asyncio.timeout(0.1):
            await reader.receive()


async def test_a_disconnect_is_reported_once_seen() -> None:
    """http.disconnect calls on_disconnect and is passed on (Litestar raises on it)."""
    seen: list[bool] = []
    reader = BodyReader(messages({"type": "http.disconnect"}), None, lambda: seen.append(True))
    assert (await reader.receive())["type"] == "http.disconnect"
    assert seen == [True]


async def test_a_client_gone_before_its_answer_is_499_and_sent_nothing() -> None:
    """Whatever the app then answers (Litestar: 500) reaches nobody; the status is 499."""
    sent = Sent()
    writer = ResponseWriter(sent, [], gzip_ok=False)
    writer.client_left()
    await writer.send({"type": "http.response.start", "status": 500, "headers": []})
    assert (writer.status, sent.messages) == (499, [])


async def test_a_client_gone_after_its_answer_keeps_the_answer_s_status() -> None:
    """The answer had started: the exchange keeps its real status."""
    writer = ResponseWriter(Sent(), [], gzip_ok=False)
    await writer.send({"type": "http.response.start", "status": 201, "headers": []})
    writer.client_left()
    assert writer.status == 201


async def test_head_sends_the_headers_and_no_body() -> None:
    """A HEAD answered as GET: the start as GET's (Content-Length kept), an empty body."""
    sent = Sent()
    writer = ResponseWriter(sent, [], gzip_ok=True)
    writer.head = True
    start = {
        "type": "http.response.start",
        "status": 200,
        "headers": [(b"content-length", b"2000")],
    }
    await writer.send(start)
    await writer.send({"type": "http.response.body", "body": b"x" * 2000})
    assert [m.get("body") for m in sent.messages] == [None, b""]
    assert (b"content-length", b"2000") in sent.messages[0]["headers"]

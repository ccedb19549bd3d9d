"""Make an app see requests from a given TCP peer (test clients have no address).

Shared by the unit and integration tracing tests; a candidate for tests/support.
"""

from __future__ import annotations

from typing import Any

from litestar import Litestar


def from_peer(app: Litestar, address: str) -> Litestar:
    """`app`, with every request's ASGI `client` set to (`address`, 40000)."""
    inner = app.asgi_handler

    async def handler(scope: Any, receive: Any, send: Any) -> None:
        await inner({**scope, "client": (address, 40000)}, receive, send)

    app.asgi_handler = handler
    return app

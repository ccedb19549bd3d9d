"""Bare Litestar hello JSON: the ceiling for the service on the same server.

No middleware, no validation beyond the query parameter, nothing
cross-cutting. ``python benchmarks/peers/bare_litestar.py --server granian``
serves it the way ``hello-api serve`` serves the service (granian embedded in
one asyncio process); ``--server granian-mp`` is granian's own process
manager (one worker, uvloop when installed) and ``--server uvicorn`` the
reference the issue quotes.

With ``PEER_DATABASE_URL`` (and ``PEER_POOL_SIZE``) set, the POST stores its
row with asyncpg directly (a fixed pool; the INSERT the service runs): the
floor of any Litestar service on PostgreSQL, with no ORM, no middleware and
no idempotency check. Its pool returns connections as the service's does, without
asyncpg's reset query (a round trip per request for session state neither sets);
``PEER_POOL_RESET=default`` keeps asyncpg's default, as this peer had until the
service's own pool (service/db.py) dropped it.
"""

from __future__ import annotations

import argparse
import os
from datetime import UTC, datetime
from typing import Any

import msgspec
from litestar import Litestar, get, post
from litestar.datastructures import State

# The service's INSERT (service/greetings/repository.py PG_INSERT, writers' lock included;
# tests/unit/test_benchmark_peers.py keeps them equal), spelled out: importing the service
# would load SQLAlchemy and the rest into the peer, a heavier process than the floor is.
INSERT = (
    "INSERT INTO greetings (name, message, idempotency_key, created_at) "
    "SELECT $1::varchar, $2::varchar, $3::varchar, $4::timestamptz "
    "FROM (SELECT pg_advisory_xact_lock_shared(7454131819670761063) OFFSET 0) AS writer "
    "ON CONFLICT (idempotency_key) DO NOTHING "
    "RETURNING id, name, message, created_at"
)


@get("/api/v1/greeting", sync_to_thread=False)
def greeting(name: str = "World") -> dict[str, str]:
    """Greet ``name``."""
    return {"message": f"Hello, {name}!"}


class GreetingCreate(msgspec.Struct):
    """The body of a create: the floor of the service's POST, with no database."""

    name: str


@post("/api/v1/greetings", sync_to_thread=False)
def create(data: GreetingCreate) -> dict[str, object]:
    """Answer like the service's create would, without storing anything."""
    return {"id": 1, "name": data.name, "message": f"Hello, {data.name}!"}


@get("/health/ready", sync_to_thread=False)
def ready() -> dict[str, str]:
    """Answer at once: the benchmark times start-up against this."""
    return {"status": "ok"}


@post("/api/v1/greetings")
async def create_stored(data: GreetingCreate, state: State) -> dict[str, object]:
    """Store the row with asyncpg, as the service's create does, and answer it."""
    values = (data.name, f"Hello, {data.name}!", None, datetime.now(UTC))
    return dict(await state.pool.fetchrow(INSERT, *values))


async def _open_pool(app: Litestar) -> None:
    import asyncpg  # imported here: the runs without a database need no driver

    size = int(os.environ["PEER_POOL_SIZE"])
    reset = None if os.environ.get("PEER_POOL_RESET") == "default" else _keep_session
    app.state.pool = await asyncpg.create_pool(
        os.environ["PEER_DATABASE_URL"], min_size=size, max_size=size, reset=reset
    )


async def _keep_session(_connection: object) -> None:
    """Nothing to reset beyond asyncpg's own rollback: the service's pool policy."""


async def _close_pool(app: Litestar) -> None:
    await app.state.pool.close()


def _app() -> Litestar:
    if "PEER_DATABASE_URL" not in os.environ:
        return Litestar([greeting, create, ready], openapi_config=None)
    return Litestar(
        [greeting, create_stored, ready],
        on_startup=[_open_pool],
        on_shutdown=[_close_pool],
        openapi_config=None,
    )


app = _app()


def with_headers(inner: Any) -> Any:
    """`inner` answering with the service's response headers (security, Vary, a request
    id): what the server spends on the service's headers alone (costs.py --http)."""
    from service.security import VARY, security_headers

    extra = [*security_headers(), VARY, (b"x-request-id", b"0" * 32)]

    async def app_with_headers(scope: Any, receive: Any, send: Any) -> None:
        async def send_with_headers(message: Any) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", ()), *extra]
            await send(message)

        await inner(scope, receive, send_with_headers)

    return app_with_headers


async def _embedded(port: int) -> None:
    # The same call as service/server.py: granian embedded in this event loop.
    from granian.constants import Interfaces  # imported here: uvicorn runs need no granian
    from granian.server.embed import Server

    served = with_headers(app) if os.environ.get("PEER_HEADERS") else app
    server = Server(
        served,
        address="127.0.0.1",
        port=port,
        interface=Interfaces.ASGI,
        log_enabled=False,
        backlog=2048,
    )
    await server.serve()


def main() -> None:
    """Serve ``app`` on one worker of the chosen server."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--server", choices=["granian", "granian-mp", "uvicorn"], default="granian")
    parser.add_argument(
        "--loop",
        choices=["asyncio", "uvloop"],
        default="asyncio",
        help="event loop of the embedded granian server",
    )
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args()
    if args.server == "granian":
        runner = "uvloop" if args.loop == "uvloop" else "asyncio"
        __import__(runner).run(_embedded(args.port))
    elif args.server == "uvicorn":
        import uvicorn  # imported here: only the reference run needs it

        uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning", access_log=False)
    else:
        from granian import Granian

        # Run as a script, this file's folder is on sys.path, so workers import it by name.
        Granian(
            "bare_litestar:app", address="127.0.0.1", port=args.port, interface="asgi", workers=1
        ).serve()


if __name__ == "__main__":
    main()

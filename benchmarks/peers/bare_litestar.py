"""Bare Litestar hello JSON: the ceiling for the service on the same server.

No middleware, no validation beyond the query parameter, nothing
cross-cutting. ``python benchmarks/peers/bare_litestar.py --server granian``
serves it the way ``hello-api serve`` serves the service (granian embedded in
one asyncio process); ``--server granian-mp`` is granian's own process
manager (one worker, uvloop when installed) and ``--server uvicorn`` the
reference the issue quotes.
"""

from __future__ import annotations

import argparse

import msgspec
from litestar import Litestar, get, post


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


app = Litestar([greeting, create, ready], openapi_config=None)


async def _embedded(port: int) -> None:
    # The same call as service/server.py: granian embedded in this event loop.
    from granian.constants import Interfaces  # imported here: uvicorn runs need no granian
    from granian.server.embed import Server

    server = Server(
        app,
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

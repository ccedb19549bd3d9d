"""`hello-api serve`: granian in this process, with a graceful, observable shutdown.

On SIGTERM (or SIGINT): readiness turns 503 at once and the server keeps serving for
SHUTDOWN_DRAIN_SECONDS, so Kubernetes can take the pod out of its endpoints; then it
stops accepting, lets in-flight requests finish for up to SHUTDOWN_TIMEOUT_SECONDS
(those whose clients already left too: the app's shutdown waits for them, as granian
does not), closes the pool and the process exits 0.

granian's embedded server is used (one worker, in this event loop) because it lets
the app see the signal before the listener closes; the multi-process server closes
it first. Scale with replicas, not workers.
"""

from __future__ import annotations

import asyncio
import math
import signal
import socket
import time

import structlog
from granian.constants import Interfaces
from granian.server.embed import Server
from litestar import Litestar
from prometheus_client import start_http_server

from service.settings import Settings

log = structlog.get_logger("service.server")


class ServeError(RuntimeError):
    """The server cannot start; the message says why in one line."""


def serve(app: Litestar, settings: Settings, host: str = "0.0.0.0") -> None:
    """Serve `app` until a signal, then drain and stop; ServeError if a port is unusable.

    With METRICS_PORT, /metrics is served there by prometheus_client's own HTTP server,
    in a thread of its own (never the event loop), until the app has stopped.
    """
    check_port(host, settings.port)
    if settings.metrics_port is None:
        asyncio.run(_serve(app, settings, host))
        return
    check_port(host, settings.metrics_port, "METRICS_PORT")
    exposition, thread = start_http_server(
        settings.metrics_port, addr=host, registry=app.state.metrics.registry
    )
    try:
        asyncio.run(_serve(app, settings, host))
    finally:
        exposition.shutdown()
        thread.join()


def check_port(host: str, port: int, variable: str = "PORT") -> None:
    """Raise ServeError naming `variable` when `port` cannot be bound (taken, privileged).

    granian reports a taken port as a Rust error with a 100-line backtrace; asking the
    operating system first gives one line naming PORT instead.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            reason = exc.strerror or str(exc)
            message = f"cannot listen on {host}:{port} ({variable}={port}): {reason}"
            raise ServeError(message) from None


async def _serve(app: Litestar, settings: Settings, host: str) -> None:
    server = Server(
        app,
        address=host,
        port=settings.port,
        interface=Interfaces.ASGI,
        log_enabled=False,  # our own JSON request line replaces granian's logs
        backlog=2048,
    )
    server.workers_kill_timeout = math.ceil(settings.shutdown_timeout_seconds)
    stopping: list[asyncio.Task[None]] = []

    def on_signal(signum: int) -> None:
        if not stopping:
            stopping.append(asyncio.create_task(_drain_then_stop(app, server, settings, signum)))

    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, on_signal, signum)
    log.info(
        "listening",
        host=host,
        port=settings.port,
        metrics_port=settings.metrics_port or settings.port,
        env=settings.app_env,
    )
    await server.serve()
    log.info("stopped")


async def _drain_then_stop(app: Litestar, server: Server, settings: Settings, signum: int) -> None:
    app.state.lifecycle.draining = True
    log.info(
        "draining", signal=signal.Signals(signum).name, seconds=settings.shutdown_drain_seconds
    )
    await asyncio.sleep(settings.shutdown_drain_seconds)
    app.state.lifecycle.stop_by = time.monotonic() + settings.shutdown_timeout_seconds
    server.stop()  # type: ignore[no-untyped-call]

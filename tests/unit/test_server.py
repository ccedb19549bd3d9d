"""The drain step of `hello-api serve`; the real signal path is in tests/integration."""

from __future__ import annotations

import signal

import anyio
import pytest
from litestar import Litestar

from service.app import create_app
from service.server import _drain_then_stop
from service.settings import Settings

pytestmark = pytest.mark.anyio


class RecordingServer:
    """Stands in for granian's server object: records when stop() is called."""

    def __init__(self) -> None:
        self.stopped_at: float | None = None

    def stop(self) -> None:
        self.stopped_at = anyio.current_time()


async def test_sigterm_turns_readiness_off_then_stops_after_the_drain() -> None:
    """Draining is set at once; stop() comes SHUTDOWN_DRAIN_SECONDS later."""
    app: Litestar = create_app(Settings.from_env({"SHUTDOWN_DRAIN_SECONDS": "0.2"}))
    server = RecordingServer()
    started = anyio.current_time()
    async with anyio.create_task_group() as group:
        group.start_soon(_drain_then_stop, app, server, app.state.settings, signal.SIGTERM)
        await anyio.sleep(0.05)
        assert app.state.lifecycle.draining
        assert server.stopped_at is None
    assert server.stopped_at is not None
    assert server.stopped_at - started >= 0.2


def test_a_taken_port_is_refused_before_granian_starts() -> None:
    """check_port names the address and PORT; a free port passes."""
    import socket

    from service.server import ServeError, check_port

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(ServeError, match=rf"127.0.0.1:{port} \(PORT={port}\)"):
            check_port("127.0.0.1", port)
    check_port("127.0.0.1", port)  # released: free again

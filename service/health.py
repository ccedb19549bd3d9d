"""Liveness and readiness: is the process up, and can this pod serve traffic right now.

Readiness policy (what the database means to it): the pod is ready when it is not
draining and its database answered `SELECT 1` within READY_TIMEOUT_SECONDS on the
readiness probe's *own* connection (db.Database.ping), never through the request pool.
So slow requests holding the pool (a lock, a heavy query) do not take the pod, or all
replicas at once, out of the Service: those requests fail on their own (503 after the
pool timeout) while the rest of the API, the greeting included, keeps serving. A
database that refuses connections or does not answer a trivial query is an outage, and
readiness says so. One check runs at a time, and probes that arrive while it runs
share its answer, so many probes at once (kubelet, load balancers) cost one query.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from litestar import Controller, Request, Response, get
from litestar.di import NamedDependency

from service.db import Database
from service.problems import problem

READY_TIMEOUT_SECONDS = 1.0
IDLE_POLL_SECONDS = 0.01  # at shutdown only


@dataclass
class Lifecycle:
    """Shared with the server: `draining` turns readiness off after SIGTERM; the requests
    in flight (counted by the middleware) are waited for before the pool closes."""

    draining: bool = False
    in_flight: Callable[[], int] = lambda: 0
    """How many HTTP requests the app is serving now."""
    stop_by: float | None = None
    """time.monotonic() by which the stopping server must be done (SHUTDOWN_TIMEOUT_SECONDS)."""

    async def requests_finished(self, seconds: float) -> int:
        """Wait until no request is in flight, until `stop_by` (else for `seconds`) at most;
        returns how many are left.

        granian waits for the requests of open connections only: one whose client has
        left still runs, and closing the pool under it made 500s and error lines.
        """
        deadline = self.stop_by if self.stop_by is not None else time.monotonic() + seconds
        while self.in_flight() and time.monotonic() < deadline:  # noqa: ASYNC110 (a counter
            # the hot path keeps without events; polled at shutdown only)
            await asyncio.sleep(IDLE_POLL_SECONDS)
        return self.in_flight()


@dataclass
class Readiness:
    """The database check behind /health/ready: one at a time, shared by concurrent probes."""

    database: Database
    failure: str | None = None
    checked_at: float = -math.inf
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def database_failure(self) -> str | None:
        """None when the database answered a check finished after this call, else why not."""
        asked = time.monotonic()
        async with self.lock:
            if self.checked_at < asked:
                self.failure = await database_failure(self.database)
                self.checked_at = time.monotonic()
            return self.failure


class HealthController(Controller):
    """Probes for Kubernetes and load balancers (HEAD too: the middleware)."""

    path = "/health"
    tags = ["health"]  # noqa: RUF012  (Litestar reads a plain class attribute)

    @get("/live", sync_to_thread=False)
    def live(self) -> dict[str, str]:
        """200 while the process runs; no I/O, so a slow database never restarts pods."""
        return {"status": "ok"}

    @get("/ready")
    async def ready(
        self,
        request: Request[Any, Any, Any],
        readiness: NamedDependency[Readiness],
        lifecycle: NamedDependency[Lifecycle],
    ) -> Response[dict[str, Any]]:
        """200 when the database answers within 1 s on the probe's own connection; 503
        naming the failed check, and while draining."""
        if lifecycle.draining:
            return problem(request, 503, "shutting down", checks={"shutdown": "draining"})
        failure = await readiness.database_failure()
        if failure:
            return problem(request, 503, f"database: {failure}", checks={"database": failure})
        return Response({"status": "ok", "checks": {"database": "ok"}})


async def database_failure(database: Database) -> str | None:
    """None when `SELECT 1` succeeds in time, else a short reason."""
    try:
        await asyncio.wait_for(database.ping(), READY_TIMEOUT_SECONDS)
    except TimeoutError:
        return f"no answer within {READY_TIMEOUT_SECONDS:g} s"
    except Exception as exc:
        return f"unreachable ({type(exc).__name__})"
    return None

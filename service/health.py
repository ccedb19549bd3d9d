"""Liveness and readiness: is the process up, and can it serve traffic right now."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from litestar import Controller, Request, Response, get
from litestar.di import NamedDependency

from service.db import Database
from service.problems import problem

READY_TIMEOUT_SECONDS = 1.0


@dataclass
class Lifecycle:
    """Shared with the server: `draining` turns readiness off after SIGTERM."""

    draining: bool = False


class HealthController(Controller):
    """Probes for Kubernetes and load balancers."""

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
        database: NamedDependency[Database],
        lifecycle: NamedDependency[Lifecycle],
    ) -> Response[dict[str, Any]]:
        """200 when the database answers within 1 s; 503 naming the failed check."""
        if lifecycle.draining:
            return problem(request, 503, "shutting down", checks={"shutdown": "draining"})
        failure = await database_failure(database)
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

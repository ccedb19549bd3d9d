"""structlog: one JSON object per line on stdout, or readable lines on a terminal."""

from __future__ import annotations

import asyncio
import logging
import sys
import time
from typing import IO, Any

import msgspec
import structlog

from service.observability.context import add_request_ids

_encode = msgspec.json.Encoder().encode
FLUSH_SECONDS = 0.05
MAX_HELD_LINES = 256  # ~64 KiB of request lines


def _json_bytes(event: Any, **_: Any) -> bytes:
    return _encode(event)


def _json_text(event: Any, **_: Any) -> str:
    return _encode(event).decode()


def shared_processors() -> list[structlog.types.Processor]:
    """What every log line gets: level, time, request/trace ids bound in contextvars."""
    return [
        structlog.contextvars.merge_contextvars,
        add_request_ids,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.format_exc_info,
    ]


def configure(level: str, *, human: bool | None = None) -> None:
    """Send structlog and the standard library's loggers to stdout at `level`."""
    human = sys.stdout.isatty() if human is None else human
    numeric = logging.getLevelNamesMapping()[level.upper()]
    renderer: structlog.types.Processor = (
        structlog.dev.ConsoleRenderer() if human else structlog.processors.JSONRenderer(_json_bytes)
    )
    structlog.configure(
        processors=[*shared_processors(), renderer],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        logger_factory=structlog.PrintLoggerFactory() if human else structlog.BytesLoggerFactory(),
        cache_logger_on_first_use=True,
    )
    _route_stdlib(numeric, human)


def _route_stdlib(level: int, human: bool) -> None:
    """Library logs (granian, SQLAlchemy, Alembic) in the same format as ours."""
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(stdlib_formatter(human))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)


def stdlib_formatter(human: bool) -> structlog.stdlib.ProcessorFormatter:
    """A logging.Formatter that renders standard-library records like structlog's."""
    renderer = (
        structlog.dev.ConsoleRenderer() if human else structlog.processors.JSONRenderer(_json_text)
    )
    return structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[structlog.stdlib.add_logger_name, *shared_processors()],
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
    )


class UtcClock:
    """ISO 8601 UTC timestamps with microseconds, as structlog's TimeStamper(fmt="iso",
    utc=True) writes them; the date and time are formatted once a second (datetime's
    now().isoformat() cost ~1.2 us a request)."""

    def __init__(self) -> None:
        self._second = -1
        self._prefix = ""

    def now(self) -> str:
        """The current time, e.g. 2026-11-29T12:00:00.123456Z."""
        now = time.time()
        second = int(now)
        if second != self._second:
            self._second = second
            self._prefix = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
        return f"{self._prefix}.{int((now - second) * 1e6):06d}Z"


class AccessLog:
    """The one-line-per-request log, on the hot path.

    Off a terminal it encodes the line itself (the same JSON shape as structlog's lines,
    without the processor chain, which cost ~40 us a request); on a terminal it goes
    through structlog for readable output.

    Lines are gathered here and written together: with PYTHONUNBUFFERED=1 (the image
    sets it) `sys.stdout.buffer` is the raw file, and a write per line was a system call
    per request (benchmarks/README.md).
    """

    def __init__(self, level: str, *, human: bool | None = None, out: IO[bytes] | None = None):
        self.enabled = logging.getLevelNamesMapping()[level.upper()] <= logging.INFO
        self.human = sys.stdout.isatty() if human is None else human
        self.out = out  # None: whatever sys.stdout is at the time of writing
        self.fallback = structlog.get_logger("service.access")
        self.flushed = 0.0
        self.clock = UtcClock()
        self._lines: list[bytes] = []
        self._timer: asyncio.TimerHandle | None = None

    def request(self, fields: dict[str, Any]) -> None:
        """Log one request line (fields: method, route, path, status, duration_ms, ids).

        A line is written at once when the last write is FLUSH_SECONDS old; otherwise it
        is held and written with the others at most FLUSH_SECONDS later (or once
        MAX_HELD_LINES are held). A quiet service logs each request as it ends; under
        load one write carries many lines. ("No other request in flight" is no sign of
        quiet: a greeting runs start to end in one step of the event loop.)
        """
        if not self.enabled:
            return
        if self.human:
            self.fallback.info("request", **fields)
            return
        fields["event"] = "request"
        fields["level"] = "info"
        fields["timestamp"] = self.clock.now()
        self._lines.append(_encode(fields))
        if len(self._lines) >= MAX_HELD_LINES or time.monotonic() - self.flushed >= FLUSH_SECONDS:
            self.flush()
        elif self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(FLUSH_SECONDS, self.flush)

    def flush(self) -> None:
        """Write the lines held so far, in one call (also at the app's shutdown)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self.flushed = time.monotonic()
        if not self._lines:
            return
        data = b"\n".join(self._lines) + b"\n"
        self._lines.clear()
        out = self.out or sys.stdout.buffer
        while data:  # a raw file may take part of it (a signal during a write to a pipe)
            written = out.write(data)
            data = data[written:] if written else b""
        out.flush()

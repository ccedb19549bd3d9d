"""structlog: one JSON object per line on stdout, or readable lines on a terminal."""

from __future__ import annotations

import logging
import sys
from typing import Any

import msgspec
import structlog

_encode = msgspec.json.Encoder().encode


def _json_bytes(event: Any, **_: Any) -> bytes:
    return _encode(event)


def _json_text(event: Any, **_: Any) -> str:
    return _encode(event).decode()


def shared_processors() -> list[structlog.types.Processor]:
    """What every log line gets: level, time, request/trace ids bound in contextvars."""
    return [
        structlog.contextvars.merge_contextvars,
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

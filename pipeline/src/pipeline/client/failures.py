"""Turning an error into what a person reads: one message and an exit code.

The pipeline's own errors and the engine's answers are found through what
dagger.connection() wraps them in (__cause__, __context__, exception groups); a bug
has no message here, so it keeps its traceback.
"""

from collections.abc import Iterator

import dagger
from dagger.provisioning import SessionError

from pipeline.client.grammar import PROG
from pipeline.errors import PipelineError
from pipeline.summary import failure_detail

FAILED = 1  # the function failed: a gate, a tool, the engine
USAGE = 2  # the command line cannot run, or no engine can start here
INTERRUPTED = 130  # Ctrl-C, as a shell reports SIGINT


def failure(exc: BaseException, *, started: bool) -> str | None:
    """The message a failure ends as, or None for a bug (which keeps its traceback).

    `started`: the connection was open, so a SessionError around anything else is a
    bug, not an engine that could not start.
    """
    for error in _causes(exc):
        if isinstance(error, PipelineError | dagger.QueryError):
            return failure_detail(error)  # a failed exec: the tool's own last lines
    if started and isinstance(exc, SessionError) and exc.__cause__ is not None:
        return None
    cause = exc.__cause__
    relabelled = isinstance(exc, SessionError) and not isinstance(cause, dagger.DaggerError | None)
    return str(exc) if isinstance(exc, dagger.DaggerError) and not relabelled else None


def failed(function: str, message: str) -> str:
    """The one report of a failure; a multi-line message (a summary) starts on its own line."""
    sep = "\n" if "\n" in message.strip() else " "
    return f"{PROG} {function} failed:{sep}{message.strip()}"


def _causes(exc: BaseException) -> Iterator[BaseException]:
    """The error and everything it wraps, each once, nearest first."""
    seen: set[int] = set()
    todo = [exc]
    while todo:
        error = todo.pop(0)
        if id(error) in seen:
            continue
        seen.add(id(error))
        yield error
        todo += [e for e in (error.__cause__, error.__context__) if e is not None]
        todo += list(getattr(error, "exceptions", ()))

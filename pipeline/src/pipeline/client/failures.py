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

FAILED = 1  # the function failed: a gate, a tool, the engine
USAGE = 2  # the command line cannot run, or no engine can start here
INTERRUPTED = 130  # Ctrl-C, as a shell reports SIGINT


def failure(exc: BaseException, *, started: bool) -> str | None:
    """The message a failure ends as, or None for a bug (which keeps its traceback).

    `started`: the connection was open, so a ValueError is a function's own argument
    check, and a SessionError around anything else is a bug, not an engine that could
    not start.
    """
    chain = list(_causes(exc))
    for error in chain:
        if isinstance(error, dagger.ExecError):
            return _exec_message(error)
        if isinstance(error, PipelineError | dagger.QueryError):
            return str(error)
    if started and (checks := [e for e in chain if isinstance(e, ValueError)]):
        return str(checks[0])
    cause = exc.__cause__
    relabelled = isinstance(exc, SessionError) and not isinstance(cause, dagger.DaggerError | None)
    return str(exc) if isinstance(exc, dagger.DaggerError) and not relabelled else None


def failed(function: str, message: str) -> str:
    """The one report of a failure; a multi-line message (a summary) starts on its own line."""
    sep = "\n" if "\n" in message.strip() else " "
    return f"{PROG} {function} failed:{sep}{message.strip()}"


def _exec_message(error: dagger.ExecError) -> str:
    """The tool's own last lines (stderr, else stdout), not `exit code: 1 [traceparent:...]`."""
    program = error.command[0] if error.command else "a command"
    tail = (error.stderr.strip() or error.stdout.strip()).splitlines()[-10:]
    return "\n".join([f"{program} exited with code {error.exit_code}", *tail])


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

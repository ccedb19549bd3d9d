"""Client mode: `python -m pipeline [OPTIONS] FUNCTION [ARGUMENTS]`, as `dagger call` takes them.

The command line is read from the Pipeline's own signatures and checked before any
connection opens; then this joins the session of `dagger run` (or lets
`dagger.connection()` start an engine where a container runtime is), builds the
object, calls the function and shows what it returns.

    grammar.py     options, functions, their kinds, the error naming an option
    signatures.py  reading them from the type hints (describe)
    parser.py      argv to a checked Call, or the help asked for (parse)
    values.py      text to values: numbers, enums, secret URIs, host paths
    help.py        the --help texts
    engine.py      whether an engine can start; descriptions to Dagger objects
    results.py     showing a result: print, export, sync, up
    failures.py    an error as one message and an exit code
"""

import inspect
import os
import sys
from pathlib import Path
from typing import Any

import anyio
import dagger

from pipeline import Pipeline
from pipeline.client import engine, failures
from pipeline.client.grammar import UsageError
from pipeline.client.parser import Call, parse
from pipeline.client.results import show
from pipeline.client.signatures import describe


def main(argv: list[str] | None = None) -> int:
    """Run one pipeline function in client mode; exit 2 on a bad command line, 1 on failure."""
    args = sys.argv[1:] if argv is None else argv
    try:
        call = parse(describe(Pipeline), args, cwd=Path.cwd(), env=os.environ)
    except UsageError as exc:
        print(exc, file=sys.stderr)
        return failures.USAGE
    if isinstance(call, str):
        return _print_help(call)
    if not engine.reachable():
        print(engine.NO_ENGINE, file=sys.stderr)
        return failures.USAGE
    try:
        return anyio.run(_run, call)
    except KeyboardInterrupt:
        return failures.INTERRUPTED


def _print_help(text: str) -> int:
    try:
        print(text, flush=True)
    except BrokenPipeError:  # `--help | head`: the reader has gone, which is fine
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return 0


async def _run(call: Call) -> int:
    """Connect, call, show; a failure the user can act on ends as one message, exit 1."""
    started = False
    try:
        async with dagger.connection(dagger.Config(log_output=sys.stderr)):
            started = True
            await show(call.command.name, await _call(call))
    except Exception as exc:
        message = failures.failure(exc, started=started)
        if message is None:
            raise
        print(failures.failed(call.command.name, message), file=sys.stderr)
        return failures.FAILED
    return 0


async def _call(call: Call) -> Any:
    """The function's result, on the object built from the constructor's options."""
    pipeline = Pipeline(**engine.load(call.constructor))
    result = getattr(pipeline, call.command.method)(**engine.load(call.arguments))
    return await result if inspect.isawaitable(result) else result

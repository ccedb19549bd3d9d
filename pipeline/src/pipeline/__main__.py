"""Client mode: `python -m pipeline <function> [--name=value ...]`, no Dagger CLI needed.

`dagger.connection()` provisions the Dagger CLI and engine by itself (on a
machine with a container runtime), or joins the session of `dagger run`.
The current directory is the source. Secrets are URIs (env://NAME, file://,
cmd://"..."), files and directories are host paths, lists are comma-separated.
"""

import inspect
import os
import shutil
import sys
import typing
from pathlib import Path
from typing import Any

import anyio
import dagger
from dagger import dag

from pipeline.main import Pipeline
from pipeline.run import CiReport

RUNTIMES = ("docker", "podman", "nerdctl", "finch")
NO_ENGINE = (
    "No Dagger engine can start here: there is no DAGGER_SESSION_PORT session and no "
    "container runtime ({}) on PATH; install Docker, or run under `dagger run`."
)


def main(argv: list[str] | None = None) -> int:
    """Run one pipeline function in client mode and print or export its result."""
    args = sys.argv[1:] if argv is None else argv
    if not args or args[0].startswith("-") or not _is_function(args[0]):
        print(f"usage: python -m pipeline <{'|'.join(_functions())}> [--name=value ...]")
        return 2
    if not os.environ.get("DAGGER_SESSION_PORT") and not any(map(shutil.which, RUNTIMES)):
        print(NO_ENGINE.format(", ".join(RUNTIMES)), file=sys.stderr)
        return 2
    try:
        return anyio.run(_call, args[0], _options(args[1:]))
    except (dagger.DaggerError, OSError) as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        print(f"pipeline {args[0]} failed: {reason}", file=sys.stderr)
        return 1


def _functions() -> list[str]:
    members = inspect.getmembers(Pipeline, lambda f: hasattr(f, "__dagger_function__"))
    return sorted(name.replace("_", "-") for name, _ in members)


def _is_function(name: str) -> bool:
    return name.replace("_", "-") in _functions()


def _options(pairs: list[str]) -> dict[str, str]:
    options = {}
    for pair in pairs:
        name, sep, value = pair.removeprefix("--").partition("=")
        if not pair.startswith("--") or not sep:
            raise SystemExit(f"arguments are --name=value, got {pair!r}")
        options[name.replace("-", "_")] = value
    return options


async def _call(name: str, options: dict[str, str]) -> int:
    async with dagger.connection(dagger.Config(log_output=sys.stderr)):
        pipeline = Pipeline(source=dag.host().directory(str(Path.cwd())))
        function = getattr(pipeline, name.replace("-", "_"))
        hints = typing.get_type_hints(function)
        result = function(**{k: _convert(v, hints.get(k, str)) for k, v in options.items()})
        await _show(name, await result if inspect.isawaitable(result) else result)
    return 0


def _convert(value: str, hint: Any) -> Any:
    kinds = set(typing.get_args(hint)) | {typing.get_origin(hint) or hint}
    if dagger.Secret in kinds:
        return dag.secret(value)
    if dagger.File in kinds:
        return dag.host().file(value)
    if bool in kinds:
        return value.lower() in ("1", "true", "yes")
    return [v for v in value.split(",") if v] if list in kinds else value


async def _show(name: str, result: Any) -> None:
    if isinstance(result, CiReport):
        await result.evidence.export("evidence")
        result = result.summary
    if isinstance(result, dagger.Directory | dagger.File):
        result = f"exported to {await result.export(name)}"
    elif isinstance(result, dagger.Service):
        await result.up(ports=[dagger.PortForward(backend=8000, frontend=8000)])
    elif isinstance(result, dagger.Container | list):
        result = f"{name}: built"
    print(result)


if __name__ == "__main__":
    raise SystemExit(main())

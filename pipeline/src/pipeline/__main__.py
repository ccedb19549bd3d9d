"""Client mode: `python -m pipeline [OPTIONS] FUNCTION [ARGUMENTS]`, as `dagger call` takes them.

The command line is read and checked by pipeline.cli before any connection is
opened; this module only wires: it joins the session of `dagger run` (or lets
`dagger.connection()` start an engine on a machine with a container runtime),
builds the object, calls the function and prints or exports what it returns.
"""

import enum
import inspect
import os
import shutil
import sys
from pathlib import Path
from typing import Any

import anyio
import dagger
from dagger import dag

from pipeline import cli
from pipeline.main import Pipeline

RUNTIMES = ("docker", "podman", "nerdctl", "finch")
NO_ENGINE = (
    "No Dagger engine can start here: no DAGGER_SESSION_PORT session and no container runtime "
    f"({', '.join(RUNTIMES)}) on PATH. Install Docker, or the Dagger CLI and run under "
    "`dagger run`: https://docs.dagger.io/install"
)


def main(argv: list[str] | None = None) -> int:
    """Run one pipeline function in client mode; exit 2 on a bad command line, 1 on failure."""
    args = sys.argv[1:] if argv is None else argv
    try:
        call = cli.parse(cli.describe(Pipeline), args, cwd=Path.cwd(), env=os.environ)
    except cli.UsageError as exc:
        print(exc, file=sys.stderr)
        return 2
    if isinstance(call, str):
        return _print_help(call)
    if not _engine_reachable():
        print(NO_ENGINE, file=sys.stderr)
        return 2
    try:
        return anyio.run(_run, call)
    except KeyboardInterrupt:
        return 130


def _print_help(text: str) -> int:
    try:
        print(text, flush=True)
    except BrokenPipeError:  # `--help | head`: the reader has gone, which is fine
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return 0


def _engine_reachable() -> bool:
    named = ("DAGGER_SESSION_PORT", "_EXPERIMENTAL_DAGGER_RUNNER_HOST")
    return any(map(os.environ.get, named)) or any(map(shutil.which, RUNTIMES))


async def _run(call: cli.Call) -> int:
    started = False
    try:
        async with dagger.connection(dagger.Config(log_output=sys.stderr)):
            started = True
            pipeline = Pipeline(**_load(call.constructor))
            result = getattr(pipeline, call.command.method)(**_load(call.arguments))
            await _show(call.command.name, await result if inspect.isawaitable(result) else result)
    except Exception as exc:
        message = cli.failure(exc, started=started)
        if message is None:
            raise
        print(cli.failed(call.command.name, message), file=sys.stderr)
        return 1
    return 0


def _load(values: dict[str, Any]) -> dict[str, Any]:
    return {name: _object(value) for name, value in values.items()}


def _object(value: Any) -> Any:
    """A checked command-line value as the Dagger object it describes."""
    if isinstance(value, list):
        return [_object(v) for v in value]
    if isinstance(value, cli.SecretUri):
        return dag.secret(value.uri)
    if not isinstance(value, cli.HostPath):
        return value
    if value.kind is dagger.File:
        return dag.host().file(value.path)
    if value.kind is dagger.GitRef:
        return dag.host().directory(value.path, include=[".git/"]).as_git().head()
    return dag.host().directory(value.path, exclude=list(value.exclude))


async def _show(name: str, result: Any) -> None:
    """Print a value; export files and directories; build containers; run services."""
    if isinstance(result, dagger.Container) or (
        isinstance(result, list) and result and isinstance(result[0], dagger.Container)
    ):
        for container in result if isinstance(result, list) else [result]:
            await container.sync()
        print(f"{name}: built")
    elif isinstance(result, dagger.File | dagger.Directory):
        print(await _export(name, result))
    elif isinstance(result, dagger.Service):
        await _up(name, result)
    elif fields := cli.fields(result):
        if isinstance(fields.get("summary"), str):
            print(fields["summary"])
        for field, value in fields.items():
            if isinstance(value, dagger.File | dagger.Directory):
                print(f"{field}: {await _export(field, value)}")
    elif isinstance(result, list):
        print("\n".join(map(str, result)))
    elif result is not None:
        text = str(result.value if isinstance(result, enum.Enum) else result)
        print(text, end="" if text.endswith("\n") else "\n")


async def _export(name: str, result: dagger.File | dagger.Directory) -> str:
    """Export to ./NAME (a file keeps its suffixes: ./sbom.spdx.json); return the path."""
    name = cli.export_path(name, await result.name()) if isinstance(result, dagger.File) else name
    await result.export(str(Path.cwd() / name))
    return str(Path.cwd() / name)


async def _up(name: str, service: dagger.Service) -> None:
    """Forward the service's ports to the same ports on the host until Ctrl-C."""
    ports = [await port.port() for port in await service.ports()]
    shown = ", ".join(map(str, ports)) or "every exposed port"
    print(f"{name}: forwarding {shown} to the same port(s) here (Ctrl-C stops)", file=sys.stderr)
    await service.up(ports=[dagger.PortForward(backend=p, frontend=p) for p in ports] or None)


if __name__ == "__main__":
    raise SystemExit(main())

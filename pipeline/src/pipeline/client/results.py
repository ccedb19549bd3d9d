"""Showing what a function returns: print a value, export files and directories, sync
containers, bring services up, and of a returned object its summary and its files."""

import dataclasses
import enum
import sys
from pathlib import Path
from typing import Any

import dagger

from pipeline.errors import kebab

FIELD_KEY = "__dagger_field__"  # what dagger.field puts in a dataclass field's metadata


async def show(name: str, result: Any) -> None:
    """Print a value; export files and directories; build containers; run services."""
    if containers := _containers(result):
        await _build(name, containers)
    elif isinstance(result, dagger.File | dagger.Directory):
        print(await _export(name, result))
    elif isinstance(result, dagger.Service):
        await _up(name, result)
    elif found := fields(result):
        await _report(found)
    elif isinstance(result, list):
        print("\n".join(map(str, result)))
    elif result is not None:
        text = str(result.value if isinstance(result, enum.Enum) else result)
        print(text, end="" if text.endswith("\n") else "\n")


def export_path(function: str, file_name: str) -> str:
    """Where a returned file goes: ./FUNCTION plus the file's own suffixes (sbom.spdx.json)."""
    return function + "".join(Path(file_name).suffixes)


def fields(result: object) -> dict[str, Any]:
    """The Dagger fields of a returned object (e.g. a report), by kebab-case name."""
    if not dataclasses.is_dataclass(result) or isinstance(result, type):
        return {}
    return {
        kebab(f.name): getattr(result, f.name)
        for f in dataclasses.fields(result)
        if FIELD_KEY in f.metadata
    }


def _containers(result: Any) -> list[dagger.Container]:
    """The containers a result is: one, or a list of them (one per platform); else none."""
    if isinstance(result, dagger.Container):
        return [result]
    several = isinstance(result, list) and result and isinstance(result[0], dagger.Container)
    return result if several else []


async def _build(name: str, containers: list[dagger.Container]) -> None:
    for container in containers:
        await container.sync()
    print(f"{name}: built")


async def _report(found: dict[str, Any]) -> None:
    """A returned object: its summary printed, its files and directories exported."""
    if isinstance(found.get("summary"), str):
        print(found["summary"])
    for field, value in found.items():
        if isinstance(value, dagger.File | dagger.Directory):
            print(f"{field}: {await _export(field, value)}")


async def _export(name: str, result: dagger.File | dagger.Directory) -> str:
    """Export to ./NAME (a file keeps its suffixes: ./sbom.spdx.json); return the path."""
    name = export_path(name, await result.name()) if isinstance(result, dagger.File) else name
    await result.export(str(Path.cwd() / name))
    return str(Path.cwd() / name)


# Dagger's tunnels listen on every interface and have no bind-address option
# (github.com/dagger/dagger/issues/6017), so the warning is the most this can do.
EXPOSED = (
    "warning: Dagger forwards on all interfaces, not only loopback (dagger/dagger#6017):"
    " other machines on this network can reach the port; firewall it on a shared network."
)


async def _up(name: str, service: dagger.Service) -> None:
    """Forward the service's ports to the same ports on the host until Ctrl-C."""
    ports = [await port.port() for port in await service.ports()]
    shown = ", ".join(map(str, ports)) or "every exposed port"
    print(f"{name}: forwarding {shown} to the same port(s) here (Ctrl-C stops)", file=sys.stderr)
    print(EXPOSED, file=sys.stderr)
    await service.up(ports=[dagger.PortForward(backend=p, frontend=p) for p in ports] or None)

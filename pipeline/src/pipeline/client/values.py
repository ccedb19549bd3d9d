"""Command-line text to values, converted from each option's kind and checked.

Bool options `--wait` or `--wait=false`; lists comma-separated (or the option
repeated); enums by name or value; secrets as URIs (env://NAME, file://PATH,
cmd://COMMAND, ...); files, directories and Git checkouts as host paths, which must
exist. What needs the engine comes out as a description (`SecretUri`, `HostPath`)
that engine.py turns into a Dagger object once the connection is open.
"""

import csv
import enum
from collections.abc import Mapping, Sequence
from dataclasses import MISSING, dataclass
from pathlib import Path
from typing import Any

import dagger

from pipeline.client.grammar import HOST_KINDS, Option, UsageError, choices, is_enum, type_name

# Providers `dag.secret` resolves (docs.dagger.io, "Secrets"); anything else is refused,
# so a secret pasted as the value itself never travels (nor is echoed in an error).
SECRET_SCHEMES = ("env", "file", "cmd", "op", "vault", "libsecret", "aws+sm", "aws+ps")
URI_FORMS = "a secret URI (env://NAME, file://PATH, cmd://COMMAND, op://..., vault://...)"

Given = dict[str, list[str | bool]]  # the raw values per option (Python name), as typed


@dataclass(frozen=True)
class SecretUri:
    """A secret for `dag.secret(uri)`; its plaintext is never read here."""

    uri: str


@dataclass(frozen=True)
class HostPath:
    """A host file, directory or Git checkout (kind), checked to exist."""

    kind: type
    path: str
    exclude: tuple[str, ...] = ()


def convert_all(
    options: Sequence[Option], given: Given, cwd: Path, env: Mapping[str, str]
) -> dict[str, Any]:
    """The values given, converted, then the DefaultPaths; UsageError if one is required."""
    values = {o.name: _convert(o, given[o.name], cwd, env) for o in options if o.name in given}
    values |= _default_paths(options, values, cwd)
    for option in options:
        if option.required and option.name not in values:
            raise UsageError("required", option.flag)
    return values


def _default_paths(
    options: Sequence[Option], values: dict[str, Any], cwd: Path
) -> dict[str, HostPath]:
    """DefaultPath("/") is the source; the others (e.g. its .git) follow --source when given."""
    roots = [values[o.name].path for o in options if o.default_path == "/" and o.name in values]
    context = roots[0] if roots else str(cwd)
    found = {}
    for option in options:
        if option.default_path is not None and option.name not in values:
            path = Path(context, option.default_path.lstrip("/"))
            if host := _default_host(option, path):
                found[option.name] = host
    return found


def _default_host(option: Option, path: Path) -> HostPath | None:
    """A DefaultPath read from the host: the source itself, or e.g. its .git when present."""
    try:
        return _host(option, str(path), path.parent)
    except UsageError:
        if option.default is MISSING and not option.nullable:
            raise
        return None


def _convert(option: Option, raw: list[str | bool], cwd: Path, env: Mapping[str, str]) -> Any:
    """The last value given, or for a list every comma-separated item of every one."""
    if not option.is_list:
        return _value(option, raw[-1], cwd, env)
    items = [item for text in raw for item in (next(csv.reader([str(text)])) if text else [])]
    return [_value(option, item, cwd, env) for item in items]


def _value(option: Option, text: str | bool, cwd: Path, env: Mapping[str, str]) -> Any:
    """One value as the option's kind (a bool flag given without `=` is True already)."""
    kind = option.kind
    if isinstance(text, bool):
        return text
    if kind is bool:
        return _bool(option, text)
    if is_enum(kind):
        return _enum(option, kind, text)
    if kind in (int, float):
        return _number(option, kind, text)
    if kind is dagger.Secret:
        return _secret(option, text, cwd, env)
    if kind in HOST_KINDS:
        return _host(option, text, cwd)
    if isinstance(kind, type) and issubclass(kind, str):
        return kind(text)
    raise UsageError(f"a {type_name(option)} cannot be given on the command line", option.flag)


def _bool(option: Option, text: str) -> bool:
    if text.lower() in ("true", "t", "1"):
        return True
    if text.lower() in ("false", "f", "0"):
        return False
    raise UsageError(f"expected true or false, got {text!r}", option.flag)


def _enum(option: Option, kind: type[enum.Enum], text: str) -> enum.Enum:
    for member in kind:
        if text.lower() in (member.name.lower(), str(member.value).lower()):
            return member
    raise UsageError(f"expected one of {', '.join(choices(kind))}; got {text!r}", option.flag)


def _number(option: Option, kind: type[int] | type[float], text: str) -> int | float:
    try:
        return kind(text)
    except ValueError:
        article = "an integer" if kind is int else "a number"
        raise UsageError(f"expected {article}, got {text!r}", option.flag) from None


def _secret(option: Option, text: str, cwd: Path, env: Mapping[str, str]) -> SecretUri:
    scheme, colon, rest = text.partition(":")
    if not colon or scheme not in SECRET_SCHEMES:
        raise UsageError(f"expected {URI_FORMS}, not the secret itself", option.flag)
    target = rest.removeprefix("//")
    if scheme == "env" and target not in env:
        raise UsageError(f"the environment variable {target} is not set", option.flag)
    if scheme == "file" and not (cwd / Path(target).expanduser()).is_file():
        raise UsageError(f"no such file: {target}", option.flag)
    return SecretUri(text)


def _host(option: Option, text: str, cwd: Path) -> HostPath:
    path = (cwd / Path(text).expanduser()).resolve()
    if option.kind is dagger.GitRef:
        path = path.parent if path.name == ".git" else path
        if not (path / ".git").is_dir():
            raise UsageError(f"not a Git checkout (no .git directory): {text}", option.flag)
    elif not (path.is_file() if option.kind is dagger.File else path.is_dir()):
        raise UsageError(f"no such {HOST_KINDS[option.kind].lower()}: {text}", option.flag)
    return HostPath(option.kind, str(path), option.ignore)

"""Client mode's command line, pure: `dagger call`'s grammar, read from the object's signatures.

    python -m pipeline [CONSTRUCTOR OPTIONS] FUNCTION [OPTIONS]

Constructor options come before the function's name, the function's own after it;
`--name=value` or `--name value`; bool options `--wait` or `--wait=false`; lists
comma-separated (or the option repeated); enums by name or value; secrets as URIs
(env://NAME, file://PATH, cmd://COMMAND, ...); files, directories and Git checkouts
as host paths. Every value is converted from the function's own type hints, so a new
argument or a new function needs no change here.

Nothing here talks to Dagger, and every check (types, paths, required arguments)
happens here, before `__main__` opens the connection: dagger-io re-labels a
ValueError, TypeError or OSError raised inside `dagger.connection()` as "Failed to
start Dagger engine session". What needs the engine comes out as a description
(`SecretUri`, `HostPath`) that `__main__` turns into a Dagger object.
"""

import csv
import dataclasses
import difflib
import enum
import inspect
import json
import textwrap
import types
import typing
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import MISSING, dataclass
from pathlib import Path
from typing import Any

import dagger
from dagger.provisioning import SessionError

from pipeline.errors import PipelineError

PROG = "python -m pipeline"
FUNCTION_KEY = "__dagger_function__"  # what dagger.function puts on a method
FIELD_KEY = "__dagger_field__"  # what dagger.field puts in a dataclass field's metadata
# Providers `dag.secret` resolves (docs.dagger.io, "Secrets"); anything else is refused,
# so a secret pasted as the value itself never travels (nor is echoed in an error).
SECRET_SCHEMES = ("env", "file", "cmd", "op", "vault", "libsecret", "aws+sm", "aws+ps")
URI_FORMS = "a secret URI (env://NAME, file://PATH, cmd://COMMAND, op://..., vault://...)"
HOST_KINDS = {dagger.File: "File", dagger.Directory: "Directory", dagger.GitRef: "Git checkout"}
TYPE_NAMES = {str: "string", int: "int", float: "float", bool: "bool"}


class UsageError(Exception):
    """A command line that cannot run: `python -m pipeline FUNCTION: --option: problem`."""

    def __init__(self, problem: str, option: str = "", function: str = "") -> None:
        super().__init__(problem)
        self.problem, self.option, self.function = problem, option, function

    def __str__(self) -> str:
        where = f" {self.function}" if self.function else ""
        return f"{PROG}{where}: {self.option + ': ' if self.option else ''}{self.problem}"


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


@dataclass(frozen=True)
class Option:
    """One argument as the command line sees it."""

    name: str  # the Python parameter
    flag: str  # --kebab-case, as typed
    kind: Any  # the type without Annotated, None and list
    is_list: bool
    nullable: bool
    default: Any  # MISSING: none
    doc: str
    default_path: str | None = None  # DefaultPath: read from the host when not given
    ignore: tuple[str, ...] = ()

    @property
    def required(self) -> bool:
        """Required when it has no default, no DefaultPath and cannot be None."""
        return self.default is MISSING and not self.nullable and self.default_path is None


@dataclass(frozen=True)
class Command:
    """One function: its name as typed, its method and its options."""

    name: str
    method: str
    doc: str
    options: tuple[Option, ...]


@dataclass(frozen=True)
class Spec:
    """The main object as the command line sees it."""

    doc: str
    constructor: tuple[Option, ...]
    functions: dict[str, Command]


@dataclass(frozen=True)
class Call:
    """A checked command line: the function, and the values given (Python names)."""

    command: Command
    constructor: dict[str, Any]
    arguments: dict[str, Any]


def describe(cls: type) -> Spec:
    """The constructor and the functions of a Dagger object type, from its type hints."""
    hints = typing.get_type_hints(cls, include_extras=True)
    constructor = tuple(
        _option(f.name, hints[f.name], _field_default(f)) for f in dataclasses.fields(cls) if f.init
    )
    functions = {}
    for attr, method in inspect.getmembers(cls, lambda m: hasattr(m, FUNCTION_KEY)):
        meta = getattr(method, FUNCTION_KEY)
        name = _kebab(getattr(meta, "name", None) or attr)
        doc = getattr(meta, "doc", None) or inspect.getdoc(method) or ""
        hints = typing.get_type_hints(method, include_extras=True)
        parameters = list(inspect.signature(method).parameters.values())[1:]
        options = tuple(_option(p.name, hints[p.name], _param_default(p)) for p in parameters)
        functions[name] = Command(name, attr, doc, options)
    return Spec(inspect.getdoc(cls) or "", constructor, dict(sorted(functions.items())))


def parse(spec: Spec, argv: Sequence[str], *, cwd: Path, env: Mapping[str, str]) -> Call | str:
    """The checked call, or the help text asked for with --help; UsageError otherwise."""
    named = next((t for t in argv if t in spec.functions), "")
    if "--help" in argv or "-h" in argv:
        return function_help(spec.functions[named]) if named else main_help(spec)
    try:
        return _parse(spec, list(argv), cwd, env)
    except UsageError as exc:
        exc.function = exc.function or named
        raise


def _parse(spec: Spec, argv: list[str], cwd: Path, env: Mapping[str, str]) -> Call:
    given, at = _scan(argv, spec.constructor, stop=True)
    if at == len(argv):
        raise UsageError(f"a function is required; `{PROG} --help` lists them")
    command = spec.functions.get(argv[at])
    if command is None:
        raise UsageError(f"unknown function {argv[at]!r}{_suggest(argv[at], spec.functions)}")
    arguments, _ = _scan(argv[at + 1 :], command.options, stop=False, elsewhere=spec.constructor)
    constructor = _convert_all(spec.constructor, given, cwd, env)
    return Call(command, constructor, _convert_all(command.options, arguments, cwd, env))


def _scan(
    tokens: list[str], options: Sequence[Option], *, stop: bool, elsewhere: Sequence[Option] = ()
) -> tuple[dict[str, list[str | bool]], int]:
    """Raw values per option until the first bare word (the function's name when stop)."""
    by_flag, given, at, after_bool = {o.flag: o for o in options}, {}, 0, ""
    while at < len(tokens):
        word = tokens[at]
        if not word.startswith("-") or word == "-":
            if stop:
                break
            hint = f"; write {after_bool}=false" if word in ("true", "false") else ""
            raise UsageError(f"unexpected argument {word!r}{hint}", after_bool)
        flag, has_value, value = word.partition("=")
        option = by_flag.get(flag)
        if option is None:
            where = "a constructor option: put it before the function's name"
            known = any(o.flag == flag for o in elsewhere)
            raise UsageError(where if known else f"unknown option{_suggest(flag, by_flag)}", flag)
        after_bool = flag if option.kind is bool and not has_value else ""
        values: list[str | bool] = given.setdefault(option.name, [])
        if has_value or after_bool:
            values.append(value if has_value else True)
        elif at + 1 < len(tokens) and not tokens[at + 1].startswith("--"):
            at += 1
            values.append(tokens[at])
        else:
            raise UsageError("needs a value", flag)
        at += 1
    return given, at


def _convert_all(
    options: Sequence[Option], given: dict[str, list[str | bool]], cwd: Path, env: Mapping[str, str]
) -> dict[str, Any]:
    values = {o.name: _convert(o, given[o.name], cwd, env) for o in options if o.name in given}
    # DefaultPath("/") is the source; the others (e.g. its .git) follow --source when given.
    roots = [values[o.name].path for o in options if o.default_path == "/" and o.name in values]
    context = roots[0] if roots else str(cwd)
    for option in options:
        if option.default_path is not None and option.name not in values:
            path = Path(context, option.default_path.lstrip("/"))
            if found := _default_host(option, path):
                values[option.name] = found
    for option in options:
        if option.required and option.name not in values:
            raise UsageError("required", option.flag)
    return values


def _default_host(option: Option, path: Path) -> HostPath | None:
    """A DefaultPath read from the host: the source itself, or e.g. its .git when present."""
    try:
        return _host(option, str(path), path.parent)
    except UsageError:
        if option.default is MISSING and not option.nullable:
            raise
        return None


def _convert(option: Option, raw: list[str | bool], cwd: Path, env: Mapping[str, str]) -> Any:
    if not option.is_list:
        return _value(option, raw[-1], cwd, env)
    items = [item for text in raw for item in (next(csv.reader([str(text)])) if text else [])]
    return [_value(option, item, cwd, env) for item in items]


def _value(option: Option, text: str | bool, cwd: Path, env: Mapping[str, str]) -> Any:
    kind = option.kind
    if isinstance(text, bool):
        return text
    if kind is bool:
        return _bool(option, text)
    if isinstance(kind, type) and issubclass(kind, enum.Enum):
        return _enum(option, kind, text)
    if kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            article = "an integer" if kind is int else "a number"
            raise UsageError(f"expected {article}, got {text!r}", option.flag) from None
    if kind is dagger.Secret:
        return _secret(option, text, cwd, env)
    if kind in HOST_KINDS:
        return _host(option, text, cwd)
    if isinstance(kind, type) and issubclass(kind, str):
        return kind(text)
    raise UsageError(f"a {_type_name(option)} cannot be given on the command line", option.flag)


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
    raise UsageError(f"expected one of {', '.join(_choices(kind))}; got {text!r}", option.flag)


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


def main_help(spec: Spec) -> str:
    """`python -m pipeline --help`: the functions with their one-line docs, the options."""
    width = max(map(len, spec.functions), default=0)
    functions = [f"  {n:<{width}}  {_first_line(c.doc)}" for n, c in spec.functions.items()]
    return "\n".join(
        [
            f"usage: {PROG} [OPTIONS] FUNCTION [ARGUMENTS]",
            "",
            spec.doc,
            "",
            "Functions:",
            *functions,
            "",
            "Options (the constructor's; before FUNCTION):",
            *map(_option_help, spec.constructor),
            "",
            f"`{PROG} FUNCTION --help` lists a function's arguments. Options are --name=value or",
            "--name value; bool options --name or --name=false; lists comma-separated; enums",
            "by name; secrets as URIs (env://NAME, file://PATH, cmd://COMMAND); files and",
            "directories as host paths.",
        ]
    )


def function_help(command: Command) -> str:
    """`python -m pipeline FUNCTION --help`: its doc and its arguments (doc, type, default)."""
    arguments = [_option_help(o) for o in command.options] or ["  none"]
    usage = f"usage: {PROG} [OPTIONS] {command.name} [ARGUMENTS]"
    return "\n".join([usage, "", command.doc, "", "Arguments:", *arguments])


def _option_help(option: Option) -> str:
    """Flag and type, then the Doc text; a default or "Required." only if Doc lacks it."""
    doc = option.doc
    if option.required and "required" not in doc.lower():
        doc += " Required."
    elif not option.required and "default" not in doc.lower():
        doc += f" Default: {_show_default(option)}."
    text = textwrap.fill(doc.strip(), 100, initial_indent=" " * 6, subsequent_indent=" " * 6)
    return f"  {option.flag} {_type_name(option)}\n{text}"


def _show_default(option: Option) -> str:
    value = option.default
    if option.default_path == "/":
        return "the current directory"
    if option.default_path is not None:
        return f"{option.default_path} in the source directory, when present"
    if value is MISSING or value is None:
        return "none"
    if isinstance(value, enum.Enum):
        return str(value.value)
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, list):
        return ",".join(map(str, value)) or "empty"
    return json.dumps(value) if isinstance(value, str) else str(value)


def _type_name(option: Option) -> str:
    kind = option.kind
    if isinstance(kind, type) and issubclass(kind, enum.Enum):
        name = "|".join(_choices(kind))
    elif kind is dagger.Secret:
        name = "Secret (URI)"
    elif kind in HOST_KINDS:
        name = f"{HOST_KINDS[kind]} (host path)"
    else:
        name = TYPE_NAMES.get(kind) or getattr(kind, "__name__", str(kind))
    return f"{name},... (comma-separated)" if option.is_list else name


def _choices(kind: type[enum.Enum]) -> list[str]:
    return [str(m.value) if isinstance(m.value, str) else m.name for m in kind]


def failure(exc: BaseException, *, started: bool) -> str | None:
    """The message a failure ends as, or None for a bug (which keeps its traceback).

    The pipeline's own errors and the engine's answers are found through what
    dagger.connection() wraps them in (__cause__, __context__, exception groups).
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


def export_path(function: str, file_name: str) -> str:
    """Where a returned file goes: ./FUNCTION plus the file's own suffixes (sbom.spdx.json)."""
    return function + "".join(Path(file_name).suffixes)


def fields(result: object) -> dict[str, Any]:
    """The Dagger fields of a returned object (e.g. a report), by kebab-case name."""
    if not dataclasses.is_dataclass(result) or isinstance(result, type):
        return {}
    return {
        _kebab(f.name): getattr(result, f.name)
        for f in dataclasses.fields(result)
        if FIELD_KEY in f.metadata
    }


def _exec_message(error: dagger.ExecError) -> str:
    """The tool's own last lines (stderr, else stdout), not `exit code: 1 [traceparent:...]`."""
    program = error.command[0] if error.command else "a command"
    tail = (error.stderr.strip() or error.stdout.strip()).splitlines()[-10:]
    return "\n".join([f"{program} exited with code {error.exit_code}", *tail])


def _causes(exc: BaseException) -> Iterator[BaseException]:
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


def _option(name: str, hint: Any, default: Any) -> Option:
    meta: list[Any] = []
    nullable = False
    while True:
        if typing.get_origin(hint) is typing.Annotated:
            hint, *more = typing.get_args(hint)
            meta = [*more, *meta]
            continue
        members = [a for a in typing.get_args(hint) if a is not type(None)]
        if not _is_union(hint) or len(members) != 1:
            break
        nullable, hint = True, members[0]
    is_list = typing.get_origin(hint) is list
    kind = typing.get_args(hint)[0] if is_list else hint
    alias = _last(meta, dagger.Name, "name")
    path = _last(meta, dagger.DefaultPath, "from_context")
    ignore = tuple(_last(meta, dagger.Ignore, "patterns") or ())
    flag = "--" + _kebab(alias or name)
    doc = _last(meta, dagger.Doc, "documentation") or ""
    return Option(name, flag, kind, is_list, nullable, default, doc, path, ignore)


def _last(meta: list[Any], marker: type, attribute: str) -> Any:
    """An attribute of the last Annotated marker of a type (the one Dagger honours)."""
    return next((getattr(m, attribute) for m in reversed(meta) if isinstance(m, marker)), None)


def _is_union(hint: Any) -> bool:
    return typing.get_origin(hint) in (typing.Union, types.UnionType)


def _field_default(field: dataclasses.Field[Any]) -> Any:
    if field.default is not MISSING:
        return field.default
    return field.default_factory() if field.default_factory is not MISSING else MISSING


def _param_default(parameter: inspect.Parameter) -> Any:
    return MISSING if parameter.default is inspect.Parameter.empty else parameter.default


def _kebab(name: str) -> str:
    """The typed spelling of a Python name: argocd_server -> argocd-server, from_ -> from."""
    return name.removesuffix("_").replace("_", "-")


def _first_line(doc: str) -> str:
    return doc.strip().splitlines()[0] if doc.strip() else ""


def _suggest(word: str, known: Mapping[str, Any]) -> str:
    close = difflib.get_close_matches(word.replace("_", "-"), list(known), n=1)
    return f"; did you mean {close[0]}?" if close else ""

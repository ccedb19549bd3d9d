"""Client mode's command line, pure: `dagger call`'s grammar, read from the object's signatures.

    python -m pipeline [CONSTRUCTOR OPTIONS] FUNCTION [OPTIONS]

`--name=value` or `--name value`; bool options `--wait` or `--wait=false`. Every check
(types, paths, required arguments) happens here, before the connection opens: dagger-io
re-labels a ValueError, TypeError or OSError raised inside `dagger.connection()` as
"Failed to start Dagger engine session".
"""

import difflib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline.client.grammar import PROG, Command, Option, Spec, UsageError
from pipeline.client.help import function_help, main_help
from pipeline.client.values import Given, convert_all


@dataclass(frozen=True)
class Call:
    """A checked command line: the function, and the values given (Python names)."""

    command: Command
    constructor: dict[str, Any]
    arguments: dict[str, Any]


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
    command = _function(spec, argv[at:])
    arguments, _ = _scan(argv[at + 1 :], command.options, stop=False, elsewhere=spec.constructor)
    constructor = convert_all(spec.constructor, given, cwd, env)
    return Call(command, constructor, convert_all(command.options, arguments, cwd, env))


def _function(spec: Spec, rest: list[str]) -> Command:
    """The function named by the first word after the constructor's options."""
    if not rest:
        raise UsageError(f"a function is required; `{PROG} --help` lists them")
    command = spec.functions.get(rest[0])
    if command is None:
        raise UsageError(f"unknown function {rest[0]!r}{_suggest(rest[0], spec.functions)}")
    return command


def _scan(
    tokens: list[str], options: Sequence[Option], *, stop: bool, elsewhere: Sequence[Option] = ()
) -> tuple[Given, int]:
    """Raw values per option until the first bare word (the function's name when stop)."""
    by_flag = {o.flag: o for o in options}
    given: Given = {}
    at, after_bool = 0, ""
    while at < len(tokens):
        word = tokens[at]
        if not word.startswith("-") or word == "-":
            if stop:
                break
            raise _unexpected(word, after_bool)
        option = _option(word.partition("=")[0], by_flag, elsewhere)
        value, at = _take(option, tokens, at)
        given.setdefault(option.name, []).append(value)
        after_bool = option.flag if value is True else ""
    return given, at


def _option(flag: str, by_flag: Mapping[str, Option], elsewhere: Sequence[Option]) -> Option:
    """The option a flag names; a constructor option after the function says where it goes."""
    option = by_flag.get(flag)
    if option is not None:
        return option
    if any(o.flag == flag for o in elsewhere):
        raise UsageError("a constructor option: put it before the function's name", flag)
    raise UsageError(f"unknown option{_suggest(flag, by_flag)}", flag)


def _take(option: Option, tokens: list[str], at: int) -> tuple[str | bool, int]:
    """The option's value (`=value`, a bool flag's True, the next word) and the next index."""
    flag, has_value, value = tokens[at].partition("=")
    if has_value:
        return value, at + 1
    if option.kind is bool:
        return True, at + 1
    if at + 1 < len(tokens) and not tokens[at + 1].startswith("--"):
        return tokens[at + 1], at + 2
    raise UsageError("needs a value", flag)


def _unexpected(word: str, after_bool: str) -> UsageError:
    """A bare word among options; after a bool flag, `true`/`false` say how to write it."""
    hint = f"; write {after_bool}=false" if word in ("true", "false") else ""
    return UsageError(f"unexpected argument {word!r}{hint}", after_bool)


def _suggest(word: str, known: Mapping[str, Any]) -> str:
    close = difflib.get_close_matches(word.replace("_", "-"), list(known), n=1)
    return f"; did you mean {close[0]}?" if close else ""

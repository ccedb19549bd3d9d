"""Reading a Dagger object's signatures: its constructor and functions as a `Spec`.

The constructor's fields are the options before the function's name, each function's
parameters the options after it; every option's kind, flag, doc and default come from
the type hints and their Annotated markers (Doc, Name, DefaultPath, Ignore).
"""

import dataclasses
import inspect
import types
import typing
from dataclasses import MISSING
from typing import Any

import dagger

from pipeline import errors
from pipeline.client.grammar import Command, Option, Spec
from pipeline.errors import kebab

FUNCTION_KEY = "__dagger_function__"  # what dagger.function puts on a method


def describe(cls: type) -> Spec:
    """The constructor and the functions of a Dagger object type, from its type hints."""
    hints = typing.get_type_hints(cls, include_extras=True)
    constructor = tuple(
        _option(f.name, hints[f.name], _field_default(f)) for f in dataclasses.fields(cls) if f.init
    )
    methods = inspect.getmembers(cls, lambda m: hasattr(m, FUNCTION_KEY))
    functions = {c.name: c for c in (_command(attr, method) for attr, method in methods)}
    return Spec(inspect.getdoc(cls) or "", constructor, dict(sorted(functions.items())))


def _command(attr: str, method: Any) -> Command:
    """A `@dagger.function` method: its typed name (or `name=`), its doc and its options."""
    meta = getattr(method, FUNCTION_KEY)
    doc = getattr(meta, "doc", None) or inspect.getdoc(method) or ""
    hints = typing.get_type_hints(method, include_extras=True)
    parameters = list(inspect.signature(method).parameters.values())[1:]
    options = tuple(_option(p.name, hints[p.name], _param_default(p)) for p in parameters)
    return Command(kebab(getattr(meta, "name", None) or attr), attr, doc, options)


def _option(name: str, hint: Any, default: Any) -> Option:
    """A parameter or field: its kind and flags read through Annotated, Optional and list."""
    meta, nullable, hint = _unwrap(hint)
    is_list = typing.get_origin(hint) is list
    kind = typing.get_args(hint)[0] if is_list else hint
    alias = _last(meta, dagger.Name, "name")
    path = _last(meta, dagger.DefaultPath, "from_context")
    ignore = tuple(_last(meta, dagger.Ignore, "patterns") or ())
    doc = _last(meta, dagger.Doc, "documentation") or ""
    flag = errors.flag(alias or name)
    return Option(name, flag, kind, is_list, nullable, default, doc, path, ignore)


def _unwrap(hint: Any) -> tuple[list[Any], bool, Any]:
    """The Annotated markers (outermost last), whether None is allowed, and the bare type."""
    meta: list[Any] = []
    nullable = False
    while True:
        if typing.get_origin(hint) is typing.Annotated:
            hint, *more = typing.get_args(hint)
            meta = [*more, *meta]
            continue
        members = [a for a in typing.get_args(hint) if a is not type(None)]
        if not _is_union(hint) or len(members) != 1:
            return meta, nullable, hint
        nullable, hint = True, members[0]


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

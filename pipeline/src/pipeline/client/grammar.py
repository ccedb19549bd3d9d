"""What a command line can say: options, functions, their kinds, and the error naming one.

    python -m pipeline [CONSTRUCTOR OPTIONS] FUNCTION [OPTIONS]

Constructor options come before the function's name, the function's own after it.
An option's kind is its type without Annotated, None and list (signatures.py reads it).
"""

import enum
from dataclasses import MISSING, dataclass
from typing import Any

import dagger

PROG = "python -m pipeline"
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


def is_enum(kind: Any) -> bool:
    """Whether an option's kind is an enum (given by a member's name or value)."""
    return isinstance(kind, type) and issubclass(kind, enum.Enum)


def choices(kind: type[enum.Enum]) -> list[str]:
    """An enum's members as typed: a string value, else the member's name."""
    return [str(m.value) if isinstance(m.value, str) else m.name for m in kind]


def type_name(option: Option) -> str:
    """An option's type as help and errors show it: `int`, `staging|production`, ..."""
    kind = option.kind
    if is_enum(kind):
        name = "|".join(choices(kind))
    elif kind is dagger.Secret:
        name = "Secret (URI)"
    elif kind in HOST_KINDS:
        name = f"{HOST_KINDS[kind]} (host path)"
    else:
        name = TYPE_NAMES.get(kind) or str(getattr(kind, "__name__", kind))
    return f"{name},... (comma-separated)" if option.is_list else name

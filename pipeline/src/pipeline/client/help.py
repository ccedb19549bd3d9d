"""The --help texts: the functions with their one-line docs, a function's arguments.

Each option shows its flag and type, then its Doc text; a default, or "Required.", is
added only where the Doc does not already state it.
"""

import enum
import json
import textwrap
from dataclasses import MISSING

from pipeline.client.grammar import PROG, Command, Option, Spec, type_name


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
    return f"  {option.flag} {type_name(option)}\n{text}"


def _show_default(option: Option) -> str:
    """The default as typed: a DefaultPath said in words, an enum by value, a list joined."""
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


def _first_line(doc: str) -> str:
    return doc.strip().splitlines()[0] if doc.strip() else ""

"""What the greeting endpoints accept and return, with the rules on names and ids."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any

import msgspec

from service.problems import explain_pattern

NAME_MAX = 64
NAME_RULE = "letters of any script, digits, spaces, '-' or \"'\", with at least one letter or digit"
# The server's check, in Python's `re`: `[^\W_]` is exactly Unicode categories L and N
# (tests/unit/test_schemas.py compares every code point with the published pattern).
# `\Z`, not `$`: `$` would also accept a name ending in a newline.
NAME_PATTERN = r"^[ '\-]*[^\W_](?:[^\W_]|[ '\-])*\Z"
# The same rule as ECMA-262 (JSON Schema's dialect, read with the `u` flag), published in
# the OpenAPI document: there `\w` is ASCII-only, so letters are spelled `\p{L}`.
NAME_PATTERN_ECMA = r"^[ '\-]*[\p{L}\p{N}][\p{L}\p{N} '\-]*$"
NAME_SCHEMA: dict[str, Any] = {"pattern": NAME_PATTERN_ECMA}
NAME_DESCRIPTION = f"1-{NAME_MAX} {NAME_RULE}."
NAME_EXAMPLES = ["World", "Zoë", "O'Brien"]
# The id column is a signed 64-bit integer on PostgreSQL (BIGINT) and SQLite (INTEGER).
ID_MAX = 2**63 - 1
explain_pattern(NAME_PATTERN, NAME_RULE)
Name = Annotated[
    str,
    msgspec.Meta(
        min_length=1,
        max_length=NAME_MAX,
        pattern=NAME_PATTERN,
        description=NAME_DESCRIPTION,
        examples=NAME_EXAMPLES,
        # Litestar copies extra_json_schema["extra"] over the generated OpenAPI schema.
        extra_json_schema={"extra": NAME_SCHEMA},
    ),
]


def greet(name: str) -> str:
    """The greeting for a name."""
    return f"Hello, {name}!"


class Message(msgspec.Struct, frozen=True):
    """A greeting message."""

    message: str


class GreetingCreate(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """The body of POST /api/v1/greetings."""

    name: Name


class GreetingRead(msgspec.Struct, frozen=True):
    """A stored greeting."""

    id: int
    name: str
    message: str
    created_at: datetime


class GreetingPage(msgspec.Struct, frozen=True):
    """One page of greetings in list order; pass next_cursor to get the next page."""

    items: list[GreetingRead]
    next_cursor: str | None


class InvalidCursorError(ValueError):
    """The cursor was not one this service handed out."""


def digits_up_to(limit: int) -> str:
    """A regex for the decimal numbers 0..`limit` (no leading zeros), the same in Python
    and ECMA-262: a cursor's range can be published, so no valid-looking cursor is refused."""
    text = str(limit)
    options = ["0", f"[1-9][0-9]{{0,{len(text) - 2}}}", text]  # shorter, then as long
    for index, digit in enumerate(text):
        lowest = 1 if index == 0 else 0
        if int(digit) > lowest:
            rest = len(text) - index - 1
            options.append(f"{text[:index]}[{lowest}-{int(digit) - 1}][0-9]{{{rest}}}")
    return f"(?:{'|'.join(options)})"


CURSOR_PATTERN = f"^{digits_up_to(ID_MAX)}$"
CURSOR_SCHEMA: dict[str, Any] = {"pattern": CURSOR_PATTERN}


def encode_cursor(last_id: int) -> str:
    """The cursor that resumes after `last_id`: its decimal digits."""
    return str(last_id)


def decode_cursor(cursor: str) -> int:
    """The id a cursor resumes after; InvalidCursorError for anything else.

    Only ids the id column can hold (0 to ID_MAX) match, so a crafted cursor never
    reaches the database as a number it cannot compare.
    """
    if re.fullmatch(CURSOR_PATTERN, cursor) is None:
        raise InvalidCursorError(
            f"cursor must be the next_cursor of a previous page: a whole number from 0 to {ID_MAX}"
        )
    return int(cursor)

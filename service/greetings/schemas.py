"""What the greeting endpoints accept and return, with the rules on names."""

from __future__ import annotations

import base64
import binascii
from datetime import datetime
from typing import Annotated

import msgspec

# 1-64 characters: letters of any script, digits, spaces, '-' and "'" (`[^\W_]` is a
# Unicode letter or digit). Python's `re` syntax, so msgspec and OpenAPI share it.
NAME_PATTERN = r"^(?:[^\W_]|[ '\-])+$"
NAME_MAX = 64
Name = Annotated[
    str,
    msgspec.Meta(
        min_length=1,
        max_length=NAME_MAX,
        pattern=NAME_PATTERN,
        description="1-64 letters (any script), digits, spaces, '-' or \"'\".",
        examples=["World", "Zoë", "O'Brien"],
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
    """One page of greetings, oldest first; pass next_cursor to get the next page."""

    items: list[GreetingRead]
    next_cursor: str | None


class InvalidCursorError(ValueError):
    """The cursor was not one this service handed out."""


def encode_cursor(last_id: int) -> str:
    """An opaque cursor that resumes after `last_id`."""
    return base64.urlsafe_b64encode(f"v1:{last_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    """The id a cursor resumes after; InvalidCursorError for anything else."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        version, _, last_id = raw.partition(":")
        if version == "v1" and last_id.isascii() and last_id.isdigit():
            return int(last_id)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        pass
    raise InvalidCursorError("cursor is not valid; use next_cursor from a previous page")

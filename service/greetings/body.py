"""The JSON body rules for greeting writes, checked before Litestar parses the body.

Litestar decodes a body into Python objects with msgspec before it validates it, and two
inputs crash that decode instead of failing it: bytes that are not UTF-8
(UnicodeDecodeError) and arrays or objects nested deeper than Python's recursion limit
(RecursionError). Both would be 500s; here they are 400 problem documents. JSON is
UTF-8 (RFC 8259 section 8.1), so a body declared in another charset is 415.
"""

from __future__ import annotations

import re
from typing import Any

from litestar import Request
from litestar.exceptions import ClientException, HTTPException

JSON = "application/json"
UTF8_NAMES = frozenset({"utf-8", "utf8"})
# Deeper than any body this API reads (it reads one flat object), far below the ~1,000
# levels that exhaust Python's stack.
MAX_DEPTH = 32
EXAMPLE = '{"name": "Ann"}'
_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_NOT_A_BRACKET = re.compile(rb"[^\[\]{}]")


async def check_json_body(request: Request[Any, Any, Any]) -> None:
    """before_request hook: 415 for a body that is not UTF-8 JSON, 400 for one that cannot parse."""
    media_type, options = request.content_type
    if media_type != JSON:
        raise HTTPException(status_code=415, detail=f"send the body as {JSON}")
    if (charset := options.get("charset", "utf-8").lower()) not in UTF8_NAMES:
        raise HTTPException(
            status_code=415,
            detail=f"send the body as UTF-8 JSON; charset={charset} is not accepted",
        )
    body = await request.body()  # kept by Litestar for the parse that follows
    if not body.strip():
        raise ClientException(
            detail=f"the request body is missing; send a JSON object such as {EXAMPLE}",
            extra=[{"key": "body", "source": "body", "message": "is missing"}],
        )
    try:
        body.decode()
    except UnicodeDecodeError as exc:
        raise ClientException(
            detail=f"the request body is not valid UTF-8 (at byte {exc.start})"
        ) from None
    if too_deep(body):
        raise ClientException(
            detail=f"the JSON body nests arrays and objects deeper than {MAX_DEPTH} levels"
        )


def too_deep(body: bytes, limit: int = MAX_DEPTH) -> bool:
    """True when arrays and objects nest deeper than `limit` in `body`.

    Counting brackets costs next to nothing; the exact walk runs only for a body with more
    brackets than the limit, which no request this API needs ever has.
    """
    return body.count(b"[") + body.count(b"{") > limit and nesting_depth(body) > limit


def nesting_depth(body: bytes) -> int:
    """How deep arrays and objects nest in `body`; brackets inside strings do not count."""
    depth = deepest = 0
    for bracket in _NOT_A_BRACKET.sub(b"", _STRING.sub(b"", body)):
        depth += 1 if bracket in b"[{" else -1
        deepest = max(deepest, depth)
    return deepest

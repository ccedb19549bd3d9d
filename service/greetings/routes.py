"""HTTP endpoints for greetings."""

from __future__ import annotations

from datetime import UTC
from typing import Annotated, Any

from litestar import Controller, HttpMethod, Request, Response, get, post, route
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.enums import RequestEncodingType
from litestar.exceptions import HTTPException, NotFoundException
from litestar.openapi.spec import Example
from litestar.params import BodyKwarg, HeaderParameter, Parameter
from litestar.status_codes import HTTP_201_CREATED
from sqlalchemy.ext.asyncio import AsyncConnection

from service.db import Database
from service.greetings import repository
from service.greetings.body import check_json_body
from service.greetings.schemas import (
    CURSOR_SCHEMA,
    ID_MAX,
    NAME_DESCRIPTION,
    NAME_EXAMPLES,
    NAME_MAX,
    NAME_PATTERN,
    NAME_SCHEMA,
    GreetingCreate,
    GreetingPage,
    GreetingRead,
    InvalidCursorError,
    Message,
    decode_cursor,
    encode_cursor,
    greet,
)
from service.openapi import problem_responses
from service.problems import allowed_methods

IDEMPOTENCY_KEY_MAX = 255
# GreetingCreate forbids unknown fields; Litestar does not say so in the document itself.
CLOSED = {"additionalProperties": False}
CURSOR_MAX = len(str(ID_MAX))


class GreetingController(Controller):
    """Say hello, and remember greetings in the database."""

    path = "/api/v1"
    tags = ["greetings"]  # noqa: RUF012  (Litestar reads a plain class attribute)

    @route(
        ["/greeting", "/greetings", "/greetings/{greeting_id:int}"],
        http_method=HttpMethod.OPTIONS,
        include_in_schema=False,
        sync_to_thread=False,
    )
    def allow(self, request: Request[Any, Any, Any]) -> Response[None]:
        """204 with every method the path allows.

        Litestar's own OPTIONS answer for a path with two handlers (GET and POST
        /greetings) lists only the first one registered. A controller registers its
        handlers in the order of their names, so this one, named to sort first, is in
        place before any other and Litestar makes none of its own. CORS preflights never
        get here (the middleware answers them).
        """
        return Response(None, status_code=204, headers={"Allow": allowed_methods(request)})

    @get("/greeting", sync_to_thread=False, responses=problem_responses(400))
    def hello(
        self,
        name: Annotated[
            str,
            Parameter(
                min_length=1,
                max_length=NAME_MAX,
                pattern=NAME_PATTERN,
                description=NAME_DESCRIPTION,
                examples=[Example(value=example) for example in NAME_EXAMPLES],
                schema_extra=NAME_SCHEMA,
            ),
        ] = "World",
    ) -> Message:
        """Greet `name` (default World) without touching the database."""
        return Message(message=greet(name))

    @post(
        "/greetings",
        before_request=check_json_body,
        status_code=HTTP_201_CREATED,
        responses=problem_responses(400, 408, 413, 415, 422, 503),
    )
    async def create_greeting(
        self,
        data: Annotated[
            GreetingCreate,
            BodyKwarg(media_type=RequestEncodingType.JSON, schema_extra=CLOSED),
        ],
        state: State,
        idempotency_key: Annotated[
            str | None,
            HeaderParameter(name="Idempotency-Key", min_length=1, max_length=IDEMPOTENCY_KEY_MAX),
        ] = None,
    ) -> Response[GreetingRead]:
        """Store a greeting; a retry with the same Idempotency-Key returns the first one.

        The database comes from the app state, not from the `database` dependency: a
        dependency costs a signature-model parse and its resolution on every request.
        """
        database: Database = state.database
        greeting, created = await repository.create(database, data.name, idempotency_key)
        if greeting["name"] != data.name:
            raise HTTPException(
                status_code=422,
                detail="Idempotency-Key was already used with a different request body",
            )
        # A relative reference: correct behind any proxy, whatever Host it was called as.
        # Spelled from the path (route_reverse cost ~10 us a request).
        headers = {"Location": f"{self.path}/greetings/{greeting['id']}"}
        if not created:
            headers["Idempotent-Replayed"] = "true"
        return Response(_read(greeting), status_code=HTTP_201_CREATED, headers=headers)

    @get(
        "/greetings/{greeting_id:int}",
        name="greeting",
        responses=problem_responses(400, 404, 503),
    )
    async def get_greeting(
        self,
        greeting_id: Annotated[
            int,
            Parameter(
                ge=1,
                description=f"A greeting's id; above {ID_MAX} none can exist (404).",
                schema_extra={"maximum": ID_MAX},
            ),
        ],
        db: NamedDependency[AsyncConnection],
    ) -> GreetingRead:
        """One stored greeting, or 404."""
        greeting = await repository.get(db, greeting_id) if greeting_id <= ID_MAX else None
        if greeting is None:
            raise NotFoundException(detail=f"greeting {greeting_id} does not exist")
        return _read(greeting)

    @get("/greetings", responses=problem_responses(400, 503))
    async def list_greetings(
        self,
        db: NamedDependency[AsyncConnection],
        limit: Annotated[int, Parameter(ge=1, le=100)] = 20,
        cursor: Annotated[
            str | None,
            Parameter(
                max_length=CURSOR_MAX,
                description="next_cursor from the previous page (the last id it showed).",
                schema_extra=CURSOR_SCHEMA,
            ),
        ] = None,
    ) -> GreetingPage:
        """Greetings oldest first, `limit` at a time; follow `next_cursor` for more."""
        try:
            after_id = 0 if cursor is None else decode_cursor(cursor)
        except InvalidCursorError as exc:
            raise HTTPException(status_code=400, detail=str(exc)) from None
        rows = await repository.page(db, after_id, limit + 1)
        items = [_read(row) for row in rows[:limit]]
        next_cursor = encode_cursor(items[-1].id) if len(rows) > limit else None
        return GreetingPage(items=items, next_cursor=next_cursor)


def _read(row: repository.Row) -> GreetingRead:
    created_at = row["created_at"]
    if created_at.tzinfo is None:  # SQLite hands back naive datetimes; we store UTC
        created_at = created_at.replace(tzinfo=UTC)  # (asyncpg's are aware: no copy)
    return GreetingRead(
        id=row["id"], name=row["name"], message=row["message"], created_at=created_at
    )

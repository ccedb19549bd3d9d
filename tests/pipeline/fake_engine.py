"""A fake Dagger engine: the SDK's wire protocol, the real schema, no execution.

The real dagger-io SDK talks to it exactly as to an engine session
(DAGGER_SESSION_PORT/TOKEN, HTTP Basic auth, POST /query). Every query is
validated against the real Dagger GraphQL schema and then "executed" by
graphql-core with a resolver that records each selected field as a `Call`
(parent chain + arguments) and answers with synthesized values. IDs are
content hashes of the chain they stand for, so an ID passed as an argument
can be turned back into the chain that produced it.

It proves the module builds valid queries and shows what WOULD run; it runs
nothing. Real command output must be scripted with `answer()`.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import graphql
from graphql import GraphQLEnumType, GraphQLScalarType

# The real Dagger schema, vendored (schema/README.md).
SCHEMA_PATH = Path(__file__).with_name("schema") / "schema-v0.21.8.graphqls"
VERSION = "v0.21.11"


class _Server(ThreadingHTTPServer):
    """The SDK resolves dozens of IDs at once: the stdlib's listen backlog of 5 made
    connections drop on a busy machine (httpx.ReadError in the SDK)."""

    request_queue_size = 512
    daemon_threads = True


@dataclass(eq=False)
class Call:
    """One selected field: its name, arguments and the call it was selected on."""

    field: str
    args: dict[str, Any]
    type_name: str
    parent: Call | None = None
    seq: int = 0
    values: dict[str, Any] = field(default_factory=dict)

    def chain(self) -> list[Call]:
        """The calls from the root down to this one."""
        calls, node = [], self
        while node is not None:
            calls.append(node)
            node = node.parent
        return calls[::-1]

    def find(self, name: str) -> list[Call]:
        """The calls named `name` in this chain, root first."""
        return [c for c in self.chain() if c.field == name]

    def arg_chain(self, engine: FakeEngine, name: str) -> Call:
        """The chain behind the ID passed as argument `name`."""
        return engine.objects[self.args[name]]

    def render(self) -> str:
        """The chain as readable text, e.g. container.from(address: "x")."""
        return ".".join(f"{c.field}({_render_args(c.args)})" for c in self.chain())


@functools.cache
def _schema(path: Path) -> graphql.GraphQLSchema:
    return graphql.build_schema(path.read_text())


@functools.cache
def _introspect(schema: graphql.GraphQLSchema, query: str) -> dict[str, Any]:
    """The introspection answer: the same for every session, so computed once."""
    return {"data": graphql.graphql_sync(schema, query).data}


def _render_args(args: dict[str, Any]) -> str:
    return ", ".join(f"{k}: {json.dumps(v, sort_keys=True, default=str)}" for k, v in args.items())


Matcher = str | Callable[[Call], bool]


class FakeEngine:
    """Serve the real Dagger schema over HTTP, validate, record and answer."""

    def __init__(self, schema_path: Path = SCHEMA_PATH) -> None:
        self.schema = _schema(schema_path)
        self.token = "fake-session-token"
        self.requests: list[dict[str, Any]] = []
        self.rejected: list[str] = []
        self.calls: list[Call] = []
        self.objects: dict[str, Call] = {}
        self._answers: list[tuple[Matcher, Any]] = []
        self._lock = threading.Lock()
        self._server = _Server(("127.0.0.1", 0), _handler_for(self))

    # --- lifecycle -------------------------------------------------------
    @property
    def port(self) -> int:
        """The random free port the engine listens on."""
        return int(self._server.server_address[1])

    def env(self) -> dict[str, str]:
        """The variables that point an SDK at this session."""
        return {"DAGGER_SESSION_PORT": str(self.port), "DAGGER_SESSION_TOKEN": self.token}

    def __enter__(self) -> FakeEngine:
        serve = functools.partial(self._server.serve_forever, poll_interval=0.02)
        threading.Thread(target=serve, daemon=True).start()
        return self

    def __exit__(self, *_: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    # --- scripting and inspection ---------------------------------------
    def answer(self, matcher: Matcher, value: Any) -> None:
        """Answer a field (by name or predicate on its Call); the latest wins.

        An Exception instance as the value makes the field fail, as a failed exec would.
        """
        self._answers.insert(0, (matcher, value))

    def object(self, type_name: str, **values: Any) -> str:
        """Register a synthetic object (e.g. a FunctionCallArgValue) and return its ID."""
        name = type_name[0].lower() + type_name[1:]
        call = Call(field=name, args=values, type_name=type_name, values=values)
        return self.register(call)

    def called(self, name: str) -> list[Call]:
        """Every recorded call of field `name`, in order."""
        return [c for c in self.calls if c.field == name]

    def execs(self) -> list[list[str]]:
        """The argv of every withExec in any recorded chain, once each, in order."""
        seen: dict[str, list[str]] = {}
        for leaf in self.calls:
            for c in leaf.chain():
                if c.field == "withExec":
                    seen.setdefault(c.render(), c.args["args"])
        return list(seen.values())

    def leaf(self, name: str, predicate: Callable[[Call], bool] = lambda _c: True) -> Call:
        """The last recorded call of `name` that satisfies the predicate."""
        found = [c for c in self.called(name) if predicate(c)]
        assert found, f"no recorded {name} call matched"
        return found[-1]

    def leaf_where(self, predicate: Callable[[Call], bool]) -> Call:
        """The last recorded call (of any field) that satisfies the predicate."""
        found = [c for c in self.calls if predicate(c)]
        assert found, "no recorded call matched"
        return found[-1]

    def bodies(self) -> str:
        """All raw request bodies, for leak checks."""
        return "\n".join(json.dumps(r) for r in self.requests)

    def register(self, call: Call) -> str:
        """The content-addressed ID of a chain."""
        digest = hashlib.sha256(call.render().encode()).hexdigest()[:16]
        ident = f"fake:{call.type_name}:{digest}"
        self.objects.setdefault(ident, call)
        return ident

    # --- GraphQL ----------------------------------------------------------
    def handle(self, body: dict[str, Any]) -> dict[str, Any]:
        """Validate and execute one request."""
        self.requests.append(body)
        try:
            document = graphql.parse(body["query"])
        except graphql.GraphQLError as exc:
            return self._reject(str(exc))
        if errors := graphql.validate(self.schema, document):
            return self._reject("; ".join(e.message for e in errors))
        if "__schema" in body["query"]:
            return _introspect(self.schema, body["query"])
        with self._lock:
            result = graphql.execute(
                self.schema,
                document,
                root_value=Call("query", {}, "Query"),
                variable_values=body.get("variables"),
                field_resolver=self._resolve,
                type_resolver=self._type_of,
            )
        out: dict[str, Any] = {"data": result.data}
        if result.errors:
            out["errors"] = [e.formatted for e in result.errors]
        return out

    def _reject(self, message: str) -> dict[str, Any]:
        self.rejected.append(message)
        return {"errors": [{"message": message}]}

    def _type_of(self, value: Call, *_: Any) -> str:
        return value.type_name

    def _resolve(self, parent: Call, info: graphql.GraphQLResolveInfo, /, **args: Any) -> Any:
        source = parent
        if info.field_name.startswith("__"):
            return graphql.default_field_resolver(source, info, **args)
        if info.field_name == "node":
            return self.objects[args["id"]]
        named = graphql.get_named_type(info.return_type)
        call = Call(info.field_name, args, named.name, parent=source, seq=len(self.calls))
        self.calls.append(call)
        if info.field_name in source.values:
            return source.values[info.field_name]
        for matcher, value in self._answers:
            if matcher == call.field if isinstance(matcher, str) else matcher(call):
                if isinstance(value, Exception):
                    raise value
                return value(call) if callable(value) else value
        return self._synthesize(call, info)

    def _synthesize(self, call: Call, info: graphql.GraphQLResolveInfo) -> Any:
        named = graphql.get_named_type(info.return_type)
        if graphql.is_list_type(graphql.get_nullable_type(info.return_type)):
            return []
        if not isinstance(named, GraphQLScalarType | GraphQLEnumType):
            return call
        if isinstance(named, GraphQLEnumType):
            return next(iter(named.values))
        if named.name == "ID" and call.parent is not None:
            return self.register(call.parent)
        return _scalar_default(call, named.name)


def _scalar_default(call: Call, scalar: str) -> Any:
    defaults: dict[str, Any] = {"Int": 0, "Float": 0.0, "Boolean": True, "Void": None}
    if scalar in defaults:
        return defaults[scalar]
    if call.field == "publish":
        digest = hashlib.sha256(call.render().encode()).hexdigest()
        return f"{call.args['address'].split('@')[0]}@sha256:{digest}"
    if call.field == "version":
        return VERSION
    if call.field == "parent" or scalar == "JSON":
        return "{}"
    return ""


def _handler_for(engine: FakeEngine) -> type[BaseHTTPRequestHandler]:
    expected = "Basic " + base64.b64encode(f"{engine.token}:".encode()).decode()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            if self.path != "/query" or self.headers.get("Authorization") != expected:
                self.send_error(401 if self.path == "/query" else 404)
                return
            length = int(self.headers.get("Content-Length", "0"))
            payload = json.dumps(engine.handle(json.loads(self.rfile.read(length)))).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *_: Any) -> None:
            """Keep test output quiet."""

    return Handler

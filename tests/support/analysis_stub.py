"""A loopback stand-in for what Argo Rollouts' analysis asks: the service and Prometheus.

The AnalysisTemplates ship addresses inside the cluster (`http://SERVICE.NAMESPACE.svc.
cluster.local/...`, `http://prometheus-server.monitoring.svc.cluster.local`), which the
Rollouts controller cannot reach when it runs on loopback. `redirect` keeps the whole
address but sends it here, `http://127.0.0.1:PORT/HOST/PATH`, so the stub still sees
which Service (or which Prometheus) the controller asked, and answers as scripted:

- the smoke check (`/health/ready`, `/api/v1/greeting?name=`): HEALTHY answers as the
  service does (tests/integration pins those bodies), FAILING as a version that cannot
  reach its database (503 problem details) and NO_DATA as nothing listening (502);
- Prometheus' instant query (`/api/v1/query`): HEALTHY is an error rate of 0, FAILING
  of 0.5, NO_DATA what Prometheus answers when the new pods have no series at all: the
  query itself is evaluated with every selector empty (`without_series`), so a
  fallback such as `or vector(0)` yields its number, as it would there.

Scripts are per namespace (and per Service for the smoke check); what is not scripted
is HEALTHY. Every request is recorded, so a test can show what the analysis asked.
"""

from __future__ import annotations

import enum
import json
import math
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

CLUSTER_DOMAIN = ".svc.cluster.local"
NAMESPACE_IN_QUERY = re.compile(r'namespace="([^"]+)"')


class Health(enum.Enum):
    """What an endpoint answers."""

    HEALTHY = "healthy"
    FAILING = "failing"
    NO_DATA = "no data"


@dataclass(frozen=True)
class Request:
    """One request the stub answered: the in-cluster host it was meant for, and the answer."""

    host: str
    path: str
    query: str
    status: int


@dataclass
class AnalysisStub:
    """The stub's scripts and record; `running()` serves it on a free loopback port."""

    port: int = 0
    _scripts: dict[tuple[str, str], Health] = field(default_factory=dict)
    _requests: list[Request] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    @contextmanager
    def running(cls) -> Iterator[AnalysisStub]:
        """The stub, answering on 127.0.0.1 until the block ends."""
        stub = cls()
        server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(stub))
        server.daemon_threads = True
        stub.port = int(server.server_address[1])
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield stub
        finally:
            server.shutdown()
            server.server_close()
            thread.join(10)

    def redirect(self, url: str) -> str:
        """`http://HOST/PATH` as this stub's `http://127.0.0.1:PORT/HOST/PATH`."""
        scheme, rest = url.split("://", 1)
        assert scheme in ("http", "https"), f"not an HTTP address: {url}"
        return f"http://127.0.0.1:{self.port}/{rest}"

    def smoke(self, namespace: str, service: str, health: Health) -> None:
        """How `service` in `namespace` answers the smoke check from now on."""
        with self._lock:
            self._scripts[("smoke", f"{service}.{namespace}")] = health

    def prometheus(self, namespace: str, health: Health) -> None:
        """What Prometheus answers from now on for queries about `namespace`'s series."""
        with self._lock:
            self._scripts[("prometheus", namespace)] = health

    def requests(self, host_prefix: str = "") -> list[Request]:
        """What was asked so far, of hosts starting with `host_prefix`."""
        with self._lock:
            return [r for r in self._requests if r.host.startswith(host_prefix)]

    def answer(self, host: str, path: str, query: str) -> tuple[int, dict[str, Any]]:
        """The status and JSON body for one request, recorded."""
        if path == "/api/v1/query":
            params = parse_qs(query).get("query", [""])[0]
            found = NAMESPACE_IN_QUERY.search(params)
            health = self._script("prometheus", found[1] if found else "")
            status, body = _prometheus(health, params)
        else:
            service = host.removesuffix(CLUSTER_DOMAIN)
            status, body = _smoke(self._script("smoke", service), path, query)
        with self._lock:
            self._requests.append(Request(host, path, query, status))
        return status, body

    def _script(self, kind: str, key: str) -> Health:
        with self._lock:
            return self._scripts.get((kind, key), Health.HEALTHY)


def _smoke(health: Health, path: str, query: str) -> tuple[int, dict[str, Any]]:
    """The service's answers (service/health.py, service/greetings), healthy or not."""
    if health is Health.NO_DATA:
        return 502, {"error": "no endpoints available for service"}
    if health is Health.FAILING:
        detail = "database: unreachable (OSError)"
        return 503, {"title": "Service Unavailable", "status": 503, "detail": detail}
    if path == "/health/ready":
        return 200, {"status": "ok", "checks": {"database": "ok"}}
    if path == "/api/v1/greeting":
        name = parse_qs(query).get("name", ["World"])[0]
        return 200, {"message": f"Hello, {name}!"}
    return 404, {"title": "Not Found", "status": 404}


def _prometheus(health: Health, query: str) -> tuple[int, dict[str, Any]]:
    """An instant-query answer (Prometheus HTTP API, `resultType: vector`)."""
    value = {Health.HEALTHY: 0.0, Health.FAILING: 0.5}.get(health)
    if health is Health.NO_DATA:
        value = without_series(query)
    result = [] if value is None else [{"metric": {}, "value": [time.time(), _number(value)]}]
    return 200, {"status": "success", "data": {"resultType": "vector", "result": result}}


def _number(value: float) -> str:
    """A sample value as Prometheus writes it (NaN, +Inf, or the number)."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return str(int(value)) if value.is_integer() else repr(value)


# PromQL tokens; label matchers `{...}` (quoted values included) and ranges `[2m]` are
# skipped: over no series, what they select does not matter.
TOKENS = re.compile(
    r"\s*(?:(?P<number>\d+(?:\.\d+)?)|(?P<name>[a-zA-Z_:][\w:]*)|(?P<op>[()/*+>-])"
    r'|(?P<skip>\{(?:[^{}"]|"(?:[^"\\]|\\.)*")*\}|\[[^\]]*\]))'
)


def without_series(query: str) -> float | None:
    """The value of a one-sample PromQL query when no selector matches any series: None
    for an empty vector. Covers what the templates use: sum/rate/any function over
    selectors (empty), vector(N), numbers, `or`, `>` as a filter, + - * /."""
    assert not TOKENS.sub("", query).strip(), f"not in the PromQL subset: {query!r}"
    tokens = [m for m in TOKENS.finditer(query) if m.lastgroup != "skip" and m.group().strip()]
    parser = _Parser([m.group().strip() for m in tokens])
    value = parser.expression()
    assert parser.at_end(), f"cannot evaluate {query!r}"
    return value


@dataclass
class _Parser:
    """Precedence climbing over `or` < `>` < `+ -` < `* /` < calls and parentheses."""

    tokens: list[str]
    at: int = 0

    def at_end(self) -> bool:
        return self.at == len(self.tokens)

    def _next(self) -> str:
        self.at += 1
        return self.tokens[self.at - 1]

    def _peek(self) -> str:
        return "" if self.at_end() else self.tokens[self.at]

    def expression(self) -> float | None:
        left = self._compare()
        while self._peek() == "or":
            self._next()
            right = self._compare()
            left = right if left is None else left
        return left

    def _compare(self) -> float | None:
        left = self._sum()
        while self._peek() == ">":
            self._next()
            right = self._sum()
            left = left if left is not None and right is not None and left > right else None
        return left

    def _sum(self) -> float | None:
        left = self._product()
        while self._peek() in ("+", "-"):
            op, right = self._next(), self._product()
            left = (
                None if left is None or right is None else left + (right if op == "+" else -right)
            )
        return left

    def _product(self) -> float | None:
        left = self._primary()
        while self._peek() in ("*", "/"):
            op, right = self._next(), self._primary()
            left = None if left is None or right is None else _arithmetic(op, left, right)
        return left

    def _primary(self) -> float | None:
        token = self._next()
        if token == "(":
            value = self.expression()
            assert self._next() == ")", "unbalanced parentheses"
            return value
        if token[0].isdigit():
            return float(token)
        if token == "vector":
            return self._primary()
        if self._peek() == "(":  # sum(...), rate(...): over no series, empty
            self._primary()
        return None  # a selector: no series


def _arithmetic(op: str, left: float, right: float) -> float:
    if op == "*":
        return left * right
    if right == 0:
        return math.nan if left == 0 else math.copysign(math.inf, left)
    return left / right


def _handler(stub: AnalysisStub) -> type[BaseHTTPRequestHandler]:
    """A request handler class bound to `stub`."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self._answer(urlsplit(self.path).query)

        def do_POST(self) -> None:
            """Prometheus' Go client POSTs the query as a form (GET only on a 405)."""
            length = int(self.headers.get("Content-Length") or 0)
            self._answer(self.rfile.read(length).decode())

        def _answer(self, query: str) -> None:
            host, _, rest = urlsplit(self.path).path.lstrip("/").partition("/")
            status, body = stub.answer(host, "/" + rest, query)
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: the record is `stub.requests()`."""

    return Handler

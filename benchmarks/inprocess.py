"""CPU time per request measured inside one process: the ASGI app called directly.

No server, no sockets, no second process: each case is an ASGI app built here and
called N times with the same scope, and what is measured is `time.process_time()`
(all threads of this process: the span export thread counts too) per request. The
HTTP server's own cost is the same for every case and is left out, so differences
between cases are exact to a microsecond or two even on a busy machine (another
process taking the core does not add to this one's CPU time), and the bare Litestar
app measured in the same process is the yardstick.

    python benchmarks/inprocess.py                 # the greeting path, every case
    python benchmarks/inprocess.py --requests 50000 --rounds 5

costs.py prints the same cases as a table of what each piece costs.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import importlib.util
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import report

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # the service package, from a checkout

GREETING = ("GET", "/api/v1/greeting", b"name=bench")
CREATE = ("POST", "/api/v1/greetings", b"")
CREATE_BODY = b'{"name": "bench"}'
JSON_BODY = ((b"content-type", b"application/json"), (b"content-length", b"17"))
ORIGIN = (b"origin", b"https://bench.example")
GZIP = (b"accept-encoding", b"gzip")
BROWSER = (ORIGIN, GZIP)
App = Callable[..., Any]


@dataclass(frozen=True)
class Case:
    """One configuration of the service (or the bare peer) and what the client sends."""

    name: str
    build: Callable[[], App]
    headers: tuple[tuple[bytes, bytes], ...] = BROWSER
    request: tuple[str, str, bytes] = GREETING
    body: bytes = b""
    concurrency: int = 8
    """Requests in flight at a time (a POST waits on the database: more, as wrk's 50 do)."""


def scope(method: str, path: str, query: bytes, headers: Sequence[tuple[bytes, bytes]]) -> Any:
    """An HTTP scope as granian hands it to the app."""
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "server": ("127.0.0.1", 8000),
        "client": ("127.0.0.1", 40000),
        "scheme": "http",
        "method": method,
        "root_path": "",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query,
        "headers": [(b"host", b"127.0.0.1:8000"), (b"user-agent", b"wrk"), *headers],
        "state": {},
    }


async def _serve_once(app: App, template: Any, body: bytes) -> int:
    """One request through the app; returns the status (the body is dropped).

    Sending the body yields to the event loop once, as a server's send does when it
    hands the bytes over: with several requests in flight they interleave as under load.
    """
    status = 0

    async def receive() -> Any:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: Any) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
        else:
            await asyncio.sleep(0)

    # granian gives every request a scope of its own; the app may write to it.
    await app({**template, "headers": list(template["headers"]), "state": {}}, receive, send)
    return status


async def _cpu_per_request(
    app: App, template: Any, requests: int, body: bytes = b"", concurrency: int = 8
) -> float:
    """Microseconds of process CPU time per request: `requests` in all, `concurrency`
    at a time."""
    for _ in range(200):  # warm caches (route, label children, prepared statements)
        status = await _serve_once(app, template, body)
    if status >= 400:
        raise RuntimeError(f"the warm-up request got {status}")

    async def worker(count: int) -> None:
        for _ in range(count):
            await _serve_once(app, template, body)

    gc.collect()
    began = time.process_time()
    await asyncio.gather(*(worker(requests // concurrency) for _ in range(concurrency)))
    done = requests // concurrency * concurrency
    return (time.process_time() - began) * 1e6 / done


@contextmanager
def lifespan(app: App) -> Iterator[asyncio.AbstractEventLoop]:
    """Run the app's start-up in a fresh event loop, yield the loop, then its shutdown."""
    loop = asyncio.new_event_loop()
    inbox: asyncio.Queue[Any] = asyncio.Queue()
    outbox: asyncio.Queue[Any] = asyncio.Queue()

    async def start() -> asyncio.Task[Any]:
        task = asyncio.ensure_future(app({"type": "lifespan", "state": {}}, inbox.get, outbox.put))
        await inbox.put({"type": "lifespan.startup"})
        answer = await outbox.get()
        if answer["type"] != "lifespan.startup.complete":
            raise RuntimeError(f"start-up failed: {answer}")
        return task

    async def stop(task: asyncio.Task[Any]) -> None:
        await inbox.put({"type": "lifespan.shutdown"})
        await outbox.get()
        await task

    task = loop.run_until_complete(start())
    try:
        yield loop
    finally:
        loop.run_until_complete(stop(task))
        loop.close()


def measure(case: Case, requests: int) -> float:
    """CPU us per request of one case, its app started and stopped around the run."""
    app = case.build()
    template = scope(*case.request, case.headers)
    with lifespan(app) as loop:
        cpu = _cpu_per_request(app, template, requests, case.body, case.concurrency)
        return loop.run_until_complete(cpu)


# --- the apps -------------------------------------------------------------------------


def bare() -> App:
    """peers/bare_litestar.py's app, without a database."""
    os.environ.pop("PEER_DATABASE_URL", None)
    return _peer()


def bare_store(url: str, pool_size: int, *, reset: str = "") -> Callable[[], App]:
    """peers/bare_litestar.py's app storing the POST with asyncpg: the floor peer
    (`reset="default"`: with asyncpg's reset query on every release)."""

    def build() -> App:
        # Read again when the app starts (the pool opens then).
        os.environ.update({"PEER_DATABASE_URL": url, "PEER_POOL_SIZE": str(pool_size)})
        os.environ["PEER_POOL_RESET"] = reset
        return _peer()

    return build


def _peer() -> App:
    spec = importlib.util.spec_from_file_location(
        "bare_litestar", HERE / "peers" / "bare_litestar.py"
    )
    assert spec is not None  # noqa: S101
    assert spec.loader is not None  # noqa: S101
    module = importlib.util.module_from_spec(spec)
    sys.modules["bare_litestar"] = module  # Litestar resolves the handlers' annotations there
    spec.loader.exec_module(module)
    return module.app  # type: ignore[no-any-return]


def bare_validated(*, validated: bool) -> Callable[[], App]:
    """Bare Litestar answering the service's Message struct; `validated`: with the
    service's name parameter rules (length, pattern) as well."""

    def build() -> App:
        from typing import Annotated

        from litestar import Litestar, get
        from litestar.params import Parameter

        from service.greetings.schemas import NAME_MAX, NAME_PATTERN, Message, greet

        rules = Parameter(min_length=1, max_length=NAME_MAX, pattern=NAME_PATTERN)
        name_type = Annotated[str, rules] if validated else str
        namespace = {"NameType": name_type, "Message": Message}

        @get("/api/v1/greeting", sync_to_thread=False, signature_namespace=namespace)
        def hello(name: NameType = "World") -> Message:  # type: ignore[valid-type]  # noqa: F821
            return Message(message=greet(name))

        return Litestar([hello], openapi_config=None)

    return build


def without_middleware(build: Callable[[], App]) -> Callable[[], App]:
    """The service's app with the observability middleware taken off again."""

    def unwrapped() -> App:
        app = build()
        app.asgi_handler = app.asgi_handler.app
        return app

    return unwrapped


class EncodingExporter:
    """Encodes spans to OTLP protobuf, as the HTTP exporter does, and drops them."""

    exported = 0

    def export(self, spans: Sequence[Any]) -> Any:
        from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
        from opentelemetry.sdk.trace.export import SpanExportResult

        encode_spans(spans).SerializePartialToString()
        EncodingExporter.exported += len(spans)
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        """Nothing to close."""

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        """Nothing buffered."""
        return True


PRODUCTION_ENV = {
    "APP_ENV": "production",
    "DATABASE_URL": "postgresql://bench@127.0.0.1:1/bench",  # never connected on GET
    "ALLOWED_ORIGINS": "https://bench.example",
    "LOG_LEVEL": "info",
    "GIT_SHA": "bench",
    "OTEL_SERVICE_NAME": "hello-api-bench",
    "OTEL_TRACES_SAMPLER": "parentbased_traceidratio",
    "OTEL_TRACES_SAMPLER_ARG": "0.1",
    "MAX_TRACES_PER_SECOND": "10",
}
UNCAPPED = report.UNCAPPED_ENV  # 10% of every load traced: what the ceiling saves


def service(overrides: dict[str, str] | None = None, *, tracing: bool = True) -> Callable[[], App]:
    """The service as `hello-api serve` builds it in production, with env overrides."""

    def build() -> App:
        from service import app as app_module
        from service.observability import tracing as tracing_module
        from service.settings import Settings

        env = {**PRODUCTION_ENV, **(overrides or {})}
        env = {key: value for key, value in env.items() if value}
        for key in [k for k in os.environ if k.startswith("OTEL_")]:
            del os.environ[key]
        os.environ.update({k: v for k, v in env.items() if k.startswith("OTEL_")})
        settings = Settings.from_env(env)
        provider = None
        if tracing:
            exporter: Any = EncodingExporter()
            batches = tracing_module._batches(exporter)
            ceiling = settings.max_traces_per_second
            provider = tracing_module.provider(batches, max_traces_per_second=ceiling)
        return app_module.create_app(settings, tracer_provider=provider)

    return build


CASES = (
    Case("production", service()),
    Case("10% traced, no ceiling (MAX_TRACES_PER_SECOND=0)", service(UNCAPPED)),
    Case("tracing off (OTEL_SDK_DISABLED)", service(tracing=False)),
    Case("tracing on, nothing sampled (ratio 0)", service({"OTEL_TRACES_SAMPLER_ARG": "0"})),
    Case("request log off (LOG_LEVEL=warning)", service({"LOG_LEVEL": "warning"})),
    Case("CORS off (no ALLOWED_ORIGINS)", service({"ALLOWED_ORIGINS": ""})),
    Case("client sends no Origin", service(), (GZIP,)),
    Case("client sends no Accept-Encoding", service(), (ORIGIN,)),
    Case("every request traced (always_on)", service({"OTEL_TRACES_SAMPLER": "always_on"})),
    Case(
        "all of the above off",
        service({"LOG_LEVEL": "warning", "ALLOWED_ORIGINS": ""}, tracing=False),
        (),
    ),
    Case("bare litestar", bare),
)


def post_cases(url: str, pool_size: int = 5) -> tuple[Case, ...]:
    """POST /api/v1/greetings: the floor peer and the service, on the database at `url`."""
    database = {"DATABASE_URL": url, "DB_POOL_SIZE": str(pool_size)}
    post = {"request": CREATE, "body": CREATE_BODY, "concurrency": 32}
    return (
        Case(
            "POST: bare litestar + asyncpg (floor)", bare_store(url, pool_size), JSON_BODY, **post
        ),
        Case(
            "POST: floor with asyncpg's reset query",
            bare_store(url, pool_size, reset="default"),
            JSON_BODY,
            **post,
        ),
        Case("POST: service (production)", service(database), (*JSON_BODY, *BROWSER), **post),
        Case(
            "POST: service, nothing sampled (ratio 0)",
            service({**database, "OTEL_TRACES_SAMPLER_ARG": "0"}),
            (*JSON_BODY, *BROWSER),
            **post,
        ),
        Case(
            "POST: service, middleware off",
            without_middleware(service(database, tracing=False)),
            JSON_BODY,
            **post,
        ),
    )


@contextmanager
def database() -> Iterator[str]:
    """A throw-away PostgreSQL (on core 1), migrated; yields its URL."""
    import postgres
    import run as full_run

    with postgres.cluster("1") as db, tempfile.TemporaryDirectory() as logs:
        full_run.prepare(db, Path(logs))
        yield db.url


def run(cases: Sequence[Case], requests: int, rounds: int) -> dict[str, list[float]]:
    """Every case once per round (interleaved, so drift hits all alike); us per request."""
    results: dict[str, list[float]] = {case.name: [] for case in cases}
    with _quiet_stdout():
        for _ in range(rounds):
            for case in cases:
                results[case.name].append(measure(case, requests))
    return results


@contextmanager
def _quiet_stdout() -> Iterator[None]:
    """The access log goes to a file, as in the HTTP runs (stdout redirected)."""
    saved = sys.stdout
    with tempfile.TemporaryFile("w+") as log:
        sys.stdout = log
        try:
            yield
        finally:
            sys.stdout = saved


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=20000, help="requests per case and round")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds; median wins")
    parser.add_argument("--only", action="append", default=[], help="cases whose name has TEXT")
    parser.add_argument("--post", action="store_true", help="POST cases on a throw-away PostgreSQL")
    return parser.parse_args()


def main() -> None:
    """Print each case's CPU time per request (median of the rounds, and each round)."""
    args = parse_args()
    if args.post:
        with database() as url:
            show(post_cases(url), args)
        return
    show(CASES, args)


def show(cases: Sequence[Case], args: argparse.Namespace) -> None:
    """Run the cases chosen by --only and print them."""
    cases = [c for c in cases if not args.only or any(t in c.name for t in args.only)]
    results = run(cases, args.requests, args.rounds)
    for name, values in results.items():
        shown = ", ".join(f"{v:.1f}" for v in values)
        print(f"{name:45s} {statistics.median(values):7.1f} us/req  ({shown})")


if __name__ == "__main__":
    main()

"""Account for every microsecond the greeting costs over bare Litestar, piece by piece.

The default (in process, ~2 minutes) builds the app step by step from bare Litestar
to the production service, each step adding one piece, and measures each step's CPU
time per request with inprocess.py (the ASGI app called directly, so the HTTP server,
the same for all, is left out and another process's load does not count). The steps'
increments add up to the whole gap between the service and bare Litestar.

`--http` measures steps the way run.py does (fresh server on core 0, wrk on core 1,
interleaved passes, ~5 minutes): there the server's own work shows too, e.g. for the
service's dozen extra response headers, and the middleware costs ~3x what it does in
process (granian's threads share the core with the event loop).

    python benchmarks/costs.py [--requests 20000] [--rounds 5]
    python benchmarks/costs.py --http
"""

from __future__ import annotations

import argparse
import statistics
import sys
from collections.abc import Callable

import inprocess
from inprocess import BROWSER, ORIGIN, UNCAPPED, Case, bare, bare_validated, service

QUIET = {"LOG_LEVEL": "warning", "ALLOWED_ORIGINS": ""}
# Each step adds one piece to the one before; the last is production.
STEPS = (
    Case("bare litestar (dict answer)", bare, ()),
    Case("+ the Message struct as the answer", bare_validated(validated=False), ()),
    Case("+ name validated (length, pattern)", bare_validated(validated=True), ()),
    Case(
        "+ the service's app (its controller, handlers, state)",
        inprocess.without_middleware(service(QUIET, tracing=False)),
        (),
    ),
    Case("+ middleware: ids, metrics, security headers", service(QUIET, tracing=False), ()),
    Case("+ request log (JSON line)", service({"ALLOWED_ORIGINS": ""}, tracing=False), ()),
    Case("+ CORS (client sends Origin)", service(tracing=False), (ORIGIN,)),
    Case("+ gzip negotiation (Accept-Encoding: gzip)", service(tracing=False), BROWSER),
    Case("+ tracing, request not sampled (ratio 0)", service({"OTEL_TRACES_SAMPLER_ARG": "0"})),
    Case("+ 10% of requests sampled and exported", service(UNCAPPED)),
    Case("+ at most 10 new traces a second (production)", service()),
)


def in_process(args: argparse.Namespace) -> None:
    """The step table: CPU us per request, the step's increment, the total over bare."""
    results = inprocess.run(STEPS, args.requests, args.rounds)
    cpu = {name: statistics.median(values) for name, values in results.items()}
    print(f"Command: `python {' '.join(sys.argv)}`")
    print(f"{args.rounds} interleaved rounds of {args.requests} requests per step; median.\n")
    _table(cpu, results)


# --- the HTTP method: the same steps with the server, a fresh process each -------------------

BROWSER_HEADERS = ("Origin: https://bench.example", "Accept-Encoding: gzip")
OFF = {"OTEL_SDK_DISABLED": "true", **QUIET}
# (step, command: "bare" or "service", environment, request headers); each adds one piece.
HTTP_STEPS: tuple[tuple[str, str, dict[str, str], tuple[str, ...]], ...] = (
    ("bare litestar, granian", "bare", {}, ()),
    ("+ the service's response headers (security, Vary, id)", "bare", {"PEER_HEADERS": "1"}, ()),
    ("service, log, CORS and tracing off", "service", OFF, ()),
    (
        "+ request log, CORS, gzip negotiation",
        "service",
        {"OTEL_SDK_DISABLED": "true"},
        BROWSER_HEADERS,
    ),
    (
        "+ tracing, request not sampled (ratio 0)",
        "service",
        {"OTEL_TRACES_SAMPLER_ARG": "0"},
        BROWSER_HEADERS,
    ),
    ("+ 10% sampled, exported over OTLP/HTTP", "service", UNCAPPED, BROWSER_HEADERS),
    ("+ at most 10 new traces a second (production)", "service", {}, BROWSER_HEADERS),
)


def over_http() -> None:
    """The HTTP steps as run.py measures (wrk, pinned cores, interleaved passes)."""
    import run

    def step(
        kind: str, env: dict[str, str], headers: tuple[str, ...]
    ) -> Callable[[run.Bench], run.Sample]:
        if kind == "bare":
            peer = [sys.executable, "peers/bare_litestar.py", "--port", "{port}"]
            # The peer imports service.security for its headers: the checkout's package.
            extra = {"PYTHONPATH": str(inprocess.HERE.parent)}
            return lambda b: b.measure(peer, {**env, **extra}, headers=headers)
        return lambda b: b.measure([run.hello_api(), "serve"], b.service_env(env), headers=headers)

    args = run.parse_args()
    measured = [run.Target(name, step(kind, env, h)) for name, kind, env, h in HTTP_STEPS]
    with run.session(args) as bench:
        run.run_passes(bench, measured)
    cpu = {t.name: statistics.median(s.cpu_us for s in t.samples) for t in measured}
    per_pass = {t.name: [s.cpu_us for s in t.samples] for t in measured}
    print(f"Command: `python {' '.join(sys.argv)} --http`\n")
    _table(cpu, per_pass)


def _table(cpu: dict[str, float], per_pass: dict[str, list[float]]) -> None:
    """One row per step: CPU us/req, what the step added, the total over the first."""
    names = list(cpu)
    base, top = cpu[names[0]], cpu[names[-1]]
    print("| step | CPU us/req | added by the step | over bare | rounds |")
    print("| --- | --- | --- | --- | --- |")
    for index, name in enumerate(names):
        added = cpu[name] - cpu[names[index - 1]] if index else 0.0
        rounds = ", ".join(f"{v:.1f}" for v in per_pass[name])
        print(f"| {name} | {cpu[name]:.1f} | {added:+.1f} | {cpu[name] - base:+.1f} | {rounds} |")
    print(f"\nservice / bare = {base / top:.2f}x by CPU time per request.")


def main() -> None:
    """In process by default; --http for the server-level cases (run.py's options apply)."""
    if "--http" in sys.argv:
        sys.argv.remove("--http")
        over_http()
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=20000, help="requests per step and round")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds; median wins")
    in_process(parser.parse_args())


if __name__ == "__main__":
    main()

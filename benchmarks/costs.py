"""Account for every microsecond the greeting costs over bare Litestar, piece by piece.

The default (in process, ~2 minutes) builds the app step by step from bare Litestar
to the production service, each step adding one piece, and measures each step's CPU
time per request with inprocess.py (the ASGI app called directly, so the HTTP server,
the same for all, is left out and another process's load does not count). The steps'
increments add up to the whole gap between the service and bare Litestar.

`--http` measures instead the older way, as run.py does (fresh server on core 0, wrk on
core 1, interleaved passes): the service with one piece off at a time (~8 minutes).

    python benchmarks/costs.py [--requests 20000] [--rounds 5]
    python benchmarks/costs.py --http
"""

from __future__ import annotations

import argparse
import statistics
import sys
from collections.abc import Callable

import inprocess
from inprocess import BROWSER, ORIGIN, Case, bare, bare_validated, service

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
    Case("+ 10% of requests sampled and exported (production)", service()),
)


def in_process(args: argparse.Namespace) -> None:
    """The step table: CPU us per request, the step's increment, the total over bare."""
    results = inprocess.run(STEPS, args.requests, args.rounds)
    cpu = {name: statistics.median(values) for name, values in results.items()}
    names = list(cpu)
    base, top = cpu[names[0]], cpu[names[-1]]
    print(f"Command: `python {' '.join(sys.argv)}`")
    print(f"{args.rounds} interleaved rounds of {args.requests} requests per step; median.\n")
    print("| step | CPU us/req | added by the step | over bare | rounds |")
    print("| --- | --- | --- | --- | --- |")
    for index, name in enumerate(names):
        added = cpu[name] - cpu[names[index - 1]] if index else 0.0
        rounds = ", ".join(f"{v:.1f}" for v in results[name])
        print(f"| {name} | {cpu[name]:.1f} | {added:+.1f} | {cpu[name] - base:+.1f} | {rounds} |")
    print(f"\nIn process: service / bare = {base / top:.2f}x by CPU time per request.")


# --- the HTTP method (one piece off at a time, like run.py) ------------------------------

HTTP_CASES: tuple[tuple[str, dict[str, str], tuple[str, ...]], ...] = (
    ("production", {}, ("Origin: https://bench.example", "Accept-Encoding: gzip")),
    ("tracing off (OTEL_SDK_DISABLED)", {"OTEL_SDK_DISABLED": "true"}, ()),
    ("request log off (LOG_LEVEL=warning)", {"LOG_LEVEL": "warning"}, ()),
    ("all of the above off", {"OTEL_SDK_DISABLED": "true", **QUIET}, ()),
)


def over_http() -> None:
    """Each case as a fresh server under wrk; CPU us per request against production."""
    import load
    import report
    import run

    def case(
        overrides: dict[str, str], headers: tuple[str, ...]
    ) -> Callable[[run.Bench], run.Sample]:
        return lambda b: b.measure(
            [run.hello_api(), "serve"], b.service_env(overrides), headers=headers
        )

    args = run.parse_args()
    measured = [run.Target(n, case(env, h or load.HEADERS)) for n, env, h in HTTP_CASES]
    peer = [sys.executable, "peers/bare_litestar.py", "--port", "{port}"]
    measured.append(run.Target("bare litestar, granian", lambda b: b.measure(peer, {})))
    with run.session(args) as bench:
        run.run_passes(bench, measured)
    cpu = {t.name: statistics.median(s.cpu_us for s in t.samples) for t in measured}
    print("| case | CPU us/req | vs production | req/s |\n| --- | --- | --- | --- |")
    for target in measured:
        rps = statistics.median(s.load.rps for s in target.samples)
        delta = cpu[target.name] - cpu["production"]
        print(f"| {target.name} | {cpu[target.name]:.0f} | {delta:+.0f} | {report.number(rps)} |")


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

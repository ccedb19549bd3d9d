"""Price each cross-cutting piece of the service in CPU time per greeting request.

Each case turns one piece off (by environment, or by what the client sends)
and is measured like run.py does: fresh server on core 0, wrk on core 1,
interleaved passes, median. The price of a piece is what the production
configuration costs more than the case without it.

    python benchmarks/costs.py            # about 5 minutes
"""

from __future__ import annotations

import statistics
import sys
from collections.abc import Callable

import load
import report
import run

ORIGIN, GZIP = load.HEADERS
EVERYTHING_OFF = {"OTEL_SDK_DISABLED": "true", "LOG_LEVEL": "warning", "ALLOWED_ORIGINS": ""}
# (case, environment overrides, request headers)
CASES: tuple[tuple[str, dict[str, str], tuple[str, ...]], ...] = (
    ("production", {}, (ORIGIN, GZIP)),
    ("tracing off (OTEL_SDK_DISABLED)", {"OTEL_SDK_DISABLED": "true"}, (ORIGIN, GZIP)),
    ("tracing on, nothing sampled (ratio 0)", {"OTEL_TRACES_SAMPLER_ARG": "0"}, (ORIGIN, GZIP)),
    ("request log off (LOG_LEVEL=warning)", {"LOG_LEVEL": "warning"}, (ORIGIN, GZIP)),
    ("CORS off (no ALLOWED_ORIGINS)", {"ALLOWED_ORIGINS": ""}, (ORIGIN, GZIP)),
    ("client sends no Origin", {}, (GZIP,)),
    ("client sends no Accept-Encoding", {}, (ORIGIN,)),
    ("every request traced (always_on)", {"OTEL_TRACES_SAMPLER": "always_on"}, (ORIGIN, GZIP)),
    ("all of the above off", EVERYTHING_OFF, ()),
)


def _case(overrides: dict[str, str], headers: tuple[str, ...]) -> Callable[[run.Bench], run.Sample]:
    def measure(bench: run.Bench) -> run.Sample:
        env = bench.service_env(overrides)
        return bench.measure([run.hello_api(), "serve"], env, headers=headers)

    return measure


def main() -> None:
    """Measure every case and print CPU time per request against production."""
    args = run.parse_args()
    measured = [run.Target(name, _case(env, headers)) for name, env, headers in CASES]
    bare = [sys.executable, "peers/bare_litestar.py", "--port", "{port}"]
    measured.append(run.Target("bare litestar, granian", lambda b: b.measure(bare, {})))
    with run.session(args) as bench:
        run.run_passes(bench, measured)
    cpu = {t.name: statistics.median(s.cpu_us for s in t.samples) for t in measured}
    print(f"Command: `python {' '.join(sys.argv)}`\n")
    print("| case | CPU us/req | vs production | req/s |")
    print("| --- | --- | --- | --- |")
    for target in measured:
        rps = statistics.median(s.load.rps for s in target.samples)
        delta = cpu[target.name] - cpu["production"]
        print(f"| {target.name} | {cpu[target.name]:.0f} | {delta:+.0f} | {report.number(rps)} |")


if __name__ == "__main__":
    main()

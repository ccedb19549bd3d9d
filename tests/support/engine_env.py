"""The variables a real Dagger engine puts into every `with_exec`, for tests.

The list is the one observed on a v0.21.8 engine and written down in
../shared/docs/dagger-offline.md, "What a real engine gives every with_exec".
A step's command must pass with these present; a test that depends on one of
them sets or clears it itself.
"""

from __future__ import annotations

from collections.abc import Mapping

from tests.support.postgres import free_port

# A sampled W3C trace context and the baggage the engine hands its children.
TRACEPARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
BAGGAGE = "global-logs-span=b7ad6b7169203331"
SIGNALS = ("traces", "logs", "metrics")
# Trace context handed down by a caller: W3C trace context and baggage.
CONTEXT_VARIABLES = frozenset({"TRACEPARENT", "TRACESTATE", "BAGGAGE"})


def engine_environment(endpoint: str) -> dict[str, str]:
    """What every exec sees on a real engine, with Dagger's collector at `endpoint`.

    Source: ../shared/docs/dagger-offline.md, "What a real engine gives every
    with_exec". PATH, uid and cwd are the image's or the step's and not repeated here.
    """
    per_signal = {
        f"OTEL_EXPORTER_OTLP_{signal.upper()}_{name}": value
        for signal in SIGNALS
        for name, value in (("ENDPOINT", f"{endpoint}/v1/{signal}"), ("PROTOCOL", "http/protobuf"))
    }
    return {
        "OTEL_EXPORTER_OTLP_ENDPOINT": endpoint,
        "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
        **per_signal,
        "OTEL_EXPORTER_OTLP_TRACES_LIVE": "1",
        "OTEL_TRACES_EXPORTER": "otlp",
        "TRACEPARENT": TRACEPARENT,
        "BAGGAGE": BAGGAGE,
        "HOME": "/root",
        "LANG": "C.UTF-8",
    }


def dead_endpoint() -> str:
    """An OTLP address on loopback that nothing listens on: offline, connections refused.

    The exporter still retries with back-off (~8 s per shutdown here), so a test that
    does trace against it is slow: one more reason tests start untraced.
    """
    return f"http://127.0.0.1:{free_port()}"


def untraced(env: Mapping[str, str]) -> dict[str, str]:
    """`env` without any OTEL_* or caller trace context: a process that traces only when told.

    The service turns tracing on when an OTLP endpoint is set, so a test that does not
    mean to trace must not inherit one from the engine (or from a developer's shell).
    """
    return {
        name: value
        for name, value in env.items()
        if not name.startswith("OTEL_") and name not in CONTEXT_VARIABLES
    }

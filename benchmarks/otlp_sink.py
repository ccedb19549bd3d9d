"""A dummy OTLP/HTTP collector: accepts every export, counts it, stores nothing.

The servers under test export spans here, so the exporter really serialises
and posts batches. ``GET /stats`` answers ``{"exports": N, "bytes": B}``.
Run: ``python benchmarks/otlp_sink.py PORT``.
"""

from __future__ import annotations

import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

_lock = threading.Lock()
_stats = {"exports": 0, "bytes": 0}


class Sink(BaseHTTPRequestHandler):
    """Answer OTLP exports with an empty success and report the counters."""

    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        size = int(self.headers.get("Content-Length", "0"))
        self.rfile.read(size)
        with _lock:
            _stats["exports"] += 1
            _stats["bytes"] += size
        self._reply(b"", "application/x-protobuf")

    def do_GET(self) -> None:
        with _lock:
            body = json.dumps(_stats).encode()
        self._reply(body, "application/json")

    def _reply(self, body: bytes, content_type: str) -> None:
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        """Stay quiet: one line per export would only add noise."""


if __name__ == "__main__":
    ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Sink).serve_forever()

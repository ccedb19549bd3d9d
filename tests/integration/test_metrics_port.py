"""METRICS_PORT on the real server: /metrics on its own port, and only there."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.support.postgres import free_port
from tests.support.server import ServerProcess


def test_metrics_are_served_on_their_own_port_only(tmp_path: Path) -> None:
    """With METRICS_PORT, Prometheus text comes from that port and the API port has no
    /metrics (so a NetworkPolicy on ports can keep everyone but monitoring out)."""
    metrics_port = free_port()
    env = {"DATABASE_URL": f"sqlite:///{tmp_path / 'm.db'}", "METRICS_PORT": str(metrics_port)}
    server = ServerProcess.start(env)
    try:
        assert httpx.get(server.base_url + "/api/v1/greeting").status_code == 200
        scraped = httpx.get(f"http://127.0.0.1:{metrics_port}/metrics")
        on_api_port = httpx.get(server.base_url + "/metrics")
    finally:
        code, output = server.stop()
    assert scraped.status_code == 200
    assert 'http_requests_total{method="GET",route="/api/v1/greeting",status="200"}' in scraped.text
    assert scraped.headers["content-type"].count("charset") == 1
    assert on_api_port.status_code == 404
    assert code == 0, output

"""Clients that send less than they announce, or leave mid-body, against the real server.

Raw sockets, because an HTTP client library always sends what it announces.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import msgspec
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.support.server import ServerProcess

PARTIAL_POST = (
    b"POST /api/v1/greetings HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
    b'Content-Length: 100\r\n\r\n{"name": "Ad'
)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerProcess]:
    """`hello-api serve` on a SQLite file, with a 1 s body-read timeout."""
    env = {"DATABASE_URL": f"sqlite:///{tmp_path / 'slow.db'}", "BODY_READ_TIMEOUT_SECONDS": "1"}
    running = ServerProcess.start(env)
    yield running
    running.stop()


def connect(server: ServerProcess) -> socket.socket:
    """A raw TCP connection to the server, reads bounded by 30 s."""
    host, port = server.base_url.removeprefix("http://").split(":")
    return socket.create_connection((host, int(port)), timeout=30)


def requests_by_status(server: ServerProcess) -> dict[str, float]:
    """POST /api/v1/greetings requests counted on /metrics, by status."""
    counted: dict[str, float] = {}
    for family in text_string_to_metric_families(httpx.get(server.base_url + "/metrics").text):
        for sample in family.samples:
            labels = sample.labels
            if sample.name == "http_requests_total" and labels["method"] == "POST":
                counted[labels["status"]] = counted.get(labels["status"], 0) + sample.value
    return counted


def wait_for_count(server: ServerProcess, status: str) -> dict[str, float]:
    """Poll /metrics (at most 30 s) until a POST with `status` was counted."""
    deadline = time.monotonic() + 30
    while status not in (counted := requests_by_status(server)):
        assert time.monotonic() < deadline, f"no POST counted as {status}: {counted}"
        time.sleep(0.05)
    return counted


def test_a_body_shorter_than_its_content_length_gets_408(server: ServerProcess) -> None:
    """The rest of the body never comes: a 408 problem after BODY_READ_TIMEOUT_SECONDS,
    counted as 408, and the server goes on serving."""
    with connect(server) as conn:
        conn.sendall(PARTIAL_POST)
        answer = conn.recv(65536).decode()
    head, _, body = answer.partition("\r\n\r\n")
    assert head.startswith("HTTP/1.1 408"), answer
    assert "content-type: application/problem+json" in head.lower()
    assert "did not arrive within 1 s" in msgspec.json.decode(body)["detail"]
    assert wait_for_count(server, "408") == {"408": 1}
    assert httpx.get(server.base_url + "/health/live").status_code == 200


def test_a_client_leaving_mid_body_is_recorded_as_499(server: ServerProcess) -> None:
    """Half a body, then the socket closes: logged and counted as 499, never as a 5xx,
    and nothing is logged at error level."""
    with connect(server) as conn:
        conn.sendall(PARTIAL_POST)
    assert wait_for_count(server, "499") == {"499": 1}
    _, output = server.stop()
    lines = [msgspec.json.decode(line) for line in output.splitlines() if line.startswith("{")]
    assert [line["status"] for line in lines if line.get("method") == "POST"] == [499]
    assert not [line for line in lines if line.get("level") == "error"]

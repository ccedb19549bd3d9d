"""The Argo CD GET run by a real curl against a local HTTP server: what its failures look like.

`follow` tells a retry from a hard failure by curl's exit code and its `-f` message; the
plan tests script those. Here a real curl (the host's; the pipeline's image has curl
8.16, the message has the same shape since 7.x) runs the exact command
(platform_api.api_request) and argocd.curl_failure reads what it really printed.
"""

import json
import os
import socket
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

import pytest
from pipeline.argocd import AccessError, AppStatus, TransientError, curl_failure

from pipeline import platform_api
from tests.pipeline.test_follow_watch import PUSHED, app
from tests.pipeline.tools import tool

TOKEN = "canary-argocd-5e1d"


class Answers(BaseHTTPRequestHandler):
    """Answers GET /STATUS with that status (200: an Application); records the headers."""

    seen: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        self.seen.append(self.headers.get("Authorization", ""))
        status = int(self.path.strip("/").split("?")[0])
        body = app().encode() if status == 200 else b'{"error": "no"}'
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_: Any) -> None:
        """Keep test output quiet."""


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    """A local HTTP server; its base address."""
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Answers)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def get(url: str) -> subprocess.CompletedProcess[str]:
    """The pipeline's API call, with the token in $API_TOKEN as the secret variable gives it."""
    tool("curl")
    env = {"PATH": os.environ["PATH"], "API_TOKEN": TOKEN}
    return subprocess.run(
        platform_api.api_request(url), env=env, capture_output=True, text=True, timeout=60
    )


def test_an_answer_is_the_application_and_the_token_is_a_bearer(server: str) -> None:
    """200: stdout is the Application's JSON; the token went as a bearer header, not argv."""
    done = get(f"{server}/200")
    assert done.returncode == 0, done.stderr
    assert AppStatus.parse(done.stdout).revision == PUSHED
    assert Answers.seen[-1] == f"Bearer {TOKEN}"
    assert TOKEN not in json.dumps(platform_api.api_request(f"{server}/200"))


@pytest.mark.parametrize(
    ("status", "kind", "words"),
    [
        (502, TransientError, "HTTP 502"),
        (503, TransientError, "HTTP 503"),
        (429, TransientError, "HTTP 429"),
        (401, AccessError, "--argocd-token"),
        (403, AccessError, "--argocd-token"),
        (404, AccessError, "--argocd-server"),
    ],
)
def test_http_failures_read_from_real_curl(
    server: str, status: int, kind: type[Exception], words: str
) -> None:
    """curl -f exits 22 and names the status: 5xx/429 are retried, 401/403/404 are not."""
    done = get(f"{server}/{status}")
    assert done.returncode == 22, done.stderr
    error = curl_failure(done.returncode, done.stderr)
    assert type(error) is kind
    assert words in str(error)


def test_a_refused_connection_is_transient() -> None:
    """Nothing listening (Argo CD restarting): curl exits 7, asked again."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    done = get(f"http://127.0.0.1:{port}/api/v1/applications/x")
    assert done.returncode == 7, done.stderr
    assert isinstance(curl_failure(done.returncode, done.stderr), TransientError)

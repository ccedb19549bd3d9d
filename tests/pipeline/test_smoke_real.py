"""`smoke`'s sh + curl script, run by the local sh and curl against the real service.

The service is the real `hello-api serve` (SQLite, migrated first). In front of it, a
small HTTP front that does what k8s/base/ingress.yaml asks of the ingress controller:
forward `/api` and `/api/...`, answer anything else 404 with an HTML page of its own.
The public checks (`in_cluster=False`) must pass through that front; the in-cluster ones
(/health/*, a greeting, /metrics) pass against the service itself.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import httpx
import pytest

from pipeline import smoke as smoke_script
from tests.conftest import missing
from tests.support.server import ServerProcess


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The real service on SQLite, migrated; its base URL."""
    database = tmp_path_factory.mktemp("smoke") / "hello.db"
    env = {"DATABASE_URL": f"sqlite+aiosqlite:///{database}", "APP_ENV": "development"}
    migrate = subprocess.run(
        [sys.executable, "-m", "service", "migrate"],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert migrate.returncode == 0, migrate.stdout + migrate.stderr
    server = ServerProcess.start(env)
    yield server.base_url
    server.stop()


class Front(BaseHTTPRequestHandler):
    """The Ingress's rule: /api and /api/... go to the service, the rest is a 404 page.

    `unavailable` 503s that many requests first (a new version starting); `answer`, when
    set, replaces the service: every request gets that 200 JSON body.
    """

    upstream: ClassVar[str] = ""
    unavailable: ClassVar[int] = 0
    answer: ClassVar[str] = ""

    def do_GET(self) -> None:
        path = self.path.split("?")[0]
        if Front.unavailable > 0:
            Front.unavailable -= 1
            self.reply(503, "text/html", "<html>503 Service Temporarily Unavailable</html>")
        elif path != "/api" and not path.startswith("/api/"):
            self.reply(404, "text/html", "<html><center>404 Not Found</center></html>")
        elif Front.answer:
            self.reply(200, "application/json", Front.answer)
        else:
            got = httpx.get(Front.upstream + self.path, timeout=5)
            self.reply(got.status_code, got.headers.get("content-type", ""), got.text)

    def reply(self, status: int, media_type: str, body: str) -> None:
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", media_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *_: object) -> None:
        """Quiet."""


@pytest.fixture
def public(service: str) -> Iterator[str]:
    """The front's base URL (the public host), forwarding to the real service."""
    Front.upstream, Front.unavailable, Front.answer = service, 0, ""
    server = ThreadingHTTPServer(("127.0.0.1", 0), Front)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def smoke(
    url: str, attempts: int = 3, *, in_cluster: bool = False
) -> subprocess.CompletedProcess[str]:
    """Run smoke's own argv with the local sh and curl."""
    if not (shutil.which("sh") and shutil.which("curl")):
        missing("sh and curl are needed to run the smoke script")
    argv = smoke_script.smoke_command(
        url, attempts=attempts, timeout=5, delay=1, in_cluster=in_cluster
    )
    return subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False)


def test_smoke_passes_on_the_public_host(public: str) -> None:
    """Through the /api-only front: the greeting and the problem document, both ok."""
    done = smoke(public)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        f"smoke: {public}/api/v1/greeting?name=Smoke ok",
        f"smoke: {public}/api/v1/greeting?name=%21 ok",
    ]


def test_the_in_cluster_checks_pass_on_the_service_itself(service: str) -> None:
    """On a Service URL: /health/live, /health/ready, a greeting, /metrics."""
    done = smoke(service, in_cluster=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.count(" ok") == 4
    assert done.stdout.splitlines()[-1] == f"smoke: {service}/metrics ok"


def test_the_in_cluster_checks_fail_behind_the_ingress(public: str) -> None:
    """/health/* answer 404 at the edge: why they are not in the public checks."""
    done = smoke(public, attempts=1, in_cluster=True)
    assert done.returncode != 0
    assert f"smoke: {public}/health/live did not answer 200" in done.stderr


def test_smoke_retries_while_the_service_starts(public: str) -> None:
    """Two 503s before the greeting answers are retried, not failed."""
    Front.unavailable = 2
    done = smoke(public)
    assert done.returncode == 0, done.stderr


def test_an_answer_that_is_no_problem_document_fails(public: str) -> None:
    """A 200 where the bad name must get a 400 problem: fails, naming what came instead."""
    Front.answer = '{"message": "Hello, Smoke!"}'
    done = smoke(public)
    assert done.returncode != 0
    assert (
        f"smoke: {public}/api/v1/greeting?name=%21 answered 200 application/json, "
        "not 400 application/problem+json"
    ) in done.stderr


def test_a_wrong_greeting_fails_naming_it(public: str) -> None:
    """A greeting that is not the greeting fails, naming the endpoint and the text."""
    Front.answer = '{"message": "Hi"}'
    done = smoke(public)
    assert done.returncode != 0
    assert "greeting?name=Smoke lacks Hello,Smoke!" in done.stderr


def test_smoke_fails_when_nothing_answers() -> None:
    """A closed port fails after the retries, saying it did not answer."""
    done = smoke("http://127.0.0.1:9", attempts=2)
    assert done.returncode != 0
    assert "did not answer 200" in done.stderr


def test_the_checks_are_what_the_ingress_routes() -> None:
    """Every public check is under /api, the only path the Ingress routes (ingress.yaml).

    The public set is the default: a URL given without a word is the public host.
    """
    assert all(c.path.startswith("/api/") for c in smoke_script.PUBLIC)
    in_cluster = {c.path for c in smoke_script.IN_CLUSTER}
    assert in_cluster >= {"/health/live", "/health/ready", "/metrics"}
    host = "https://hello.example.com"
    assert smoke_script.smoke_command(host) == smoke_script.smoke_command(host, in_cluster=False)

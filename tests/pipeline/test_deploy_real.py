"""The real tools behind `deploy` and `smoke`, run directly (no Dagger engine here).

- smoke: the exact sh + curl script `smoke` runs, against a local HTTP server.
- the production refusal: cosign with verify's argv (pipeline.commands.cosign_verify)
  refuses an unsigned digest in a local registry (scripts/docker-up.sh), and accepts
  it once signed; the plan test shows `deploy` stops when verify fails.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import httpx
import pytest

from pipeline import commands
from pipeline import smoke as smoke_script
from tests.conftest import missing
from tests.pipeline.tools import tool

REGISTRY = "127.0.0.1:5000"  # scripts/docker-up.sh
OFFLINE = ["--insecure-ignore-tlog=true", "--offline=true"]  # no Rekor here
ANSWERS = {
    "/health/live": '{"status": "ok"}',
    "/health/ready": '{"status":"ok"}',
    "/api/v1/greeting?name=Smoke": '{"message": "Hello, Smoke!"}',
    "/metrics": "# HELP up\n# TYPE up gauge\nup 1\n",
}


class Service(BaseHTTPRequestHandler):
    """The service's smoke endpoints; `failures[path]` 503s first, `wrong` answers badly."""

    failures: ClassVar[dict[str, int]] = {}
    wrong: ClassVar[set[str]] = set()

    def do_GET(self) -> None:
        if self.failures.get(self.path, 0) > 0:
            self.failures[self.path] -= 1
            self.send_error(503)
            return
        body = ("nope" if self.path in self.wrong else ANSWERS.get(self.path, "")).encode()
        self.send_response(200 if self.path in ANSWERS else 404)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_: object) -> None:
        """Quiet."""


@pytest.fixture
def service() -> Iterator[str]:
    """The fake service's base URL."""
    Service.failures, Service.wrong = {}, set()
    server = ThreadingHTTPServer(("127.0.0.1", 0), Service)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def smoke(url: str, attempts: int = 3) -> subprocess.CompletedProcess[str]:
    """Run smoke's own argv with the local sh and curl."""
    if not (shutil.which("sh") and shutil.which("curl")):
        missing("sh and curl are needed to run the smoke script")
    argv = smoke_script.smoke_command(url, attempts=attempts, timeout=2, delay=1)
    return subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)


def test_smoke_passes_on_a_healthy_service(service: str) -> None:
    """All four checks pass and say so."""
    done = smoke(service)
    assert done.returncode == 0, done.stderr
    assert done.stdout.count(" ok") == 4


def test_smoke_retries_until_ready(service: str) -> None:
    """Two 503s from /health/ready are retried, not failed."""
    Service.failures = {"/health/ready": 2}
    assert smoke(service).returncode == 0


def test_smoke_fails_naming_the_wrong_answer(service: str) -> None:
    """A greeting that is not the greeting fails, naming the endpoint."""
    Service.wrong = {"/api/v1/greeting?name=Smoke"}
    done = smoke(service)
    assert done.returncode != 0
    assert "greeting?name=Smoke lacks Hello,Smoke!" in done.stderr


def test_smoke_fails_when_nothing_answers() -> None:
    """A closed port fails after the retries, saying it did not answer."""
    done = smoke("http://127.0.0.1:9", attempts=2)
    assert done.returncode != 0
    assert "did not answer" in done.stderr


def _blob(client: httpx.Client, repository: str, data: bytes) -> str:
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    upload = client.post(f"/v2/{repository}/blobs/uploads/")
    location = upload.headers["Location"]
    separator = "&" if "?" in location else "?"
    client.put(f"{location}{separator}digest={digest}", content=data).raise_for_status()
    return digest


@pytest.fixture
def registry() -> Iterator[httpx.Client]:
    """A client of the local registry (scripts/docker-up.sh)."""
    with httpx.Client(base_url=f"http://{REGISTRY}", timeout=10) as client:
        try:
            client.get("/v2/").raise_for_status()
        except httpx.HTTPError:
            missing(f"no registry at {REGISTRY}: run scripts/docker-up.sh")
        yield client


@pytest.fixture
def unsigned(registry: httpx.Client, tmp_path: Path) -> str:
    """A minimal image pushed to the local registry by digest, never signed."""
    repository = f"deploy-refusal/{uuid.uuid4().hex}"  # never signed by an earlier run
    config = json.dumps({"architecture": "amd64", "os": "linux",
                         "rootfs": {"type": "layers", "diff_ids": []}}).encode()  # fmt: skip
    manifest = json.dumps({
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                   "digest": _blob(registry, repository, config), "size": len(config)},
        "layers": [],
    }).encode()  # fmt: skip
    kind = {"Content-Type": "application/vnd.oci.image.manifest.v1+json"}
    registry.put(
        f"/v2/{repository}/manifests/v1", content=manifest, headers=kind
    ).raise_for_status()
    return f"{REGISTRY}/{repository}@sha256:{hashlib.sha256(manifest).hexdigest()}"


def cosign(argv: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run cosign with an unencrypted test key's empty password."""
    env = {**os.environ, "COSIGN_PASSWORD": ""}
    return subprocess.run([tool("cosign"), *argv[1:]], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=120, check=False)  # fmt: skip


def test_verify_refuses_an_unsigned_digest_and_accepts_it_signed(
    unsigned: str, tmp_path: Path
) -> None:
    """What production's verify runs fails on the unsigned digest and passes once signed."""
    assert cosign(["cosign", "generate-key-pair"], tmp_path).returncode == 0
    verify = commands.cosign_verify(unsigned, key="cosign.pub")
    refused = cosign([*verify[:-1], *OFFLINE, unsigned], tmp_path)
    assert refused.returncode != 0
    assert re.search("no (matching )?signatures", refused.stderr), refused.stderr
    sign = ["cosign", "sign", "--yes", "--key", "cosign.key", "--tlog-upload=false", unsigned]
    assert cosign(sign, tmp_path).returncode == 0
    accepted = cosign([*verify[:-1], *OFFLINE, unsigned], tmp_path)
    assert accepted.returncode == 0, accepted.stderr

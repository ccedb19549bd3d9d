"""The real tools behind `deploy`, run directly (no Dagger engine here).

The production refusal: cosign with verify's argv (pipeline.commands.cosign_verify)
refuses an unsigned digest in a local registry (scripts/docker-up.sh), and accepts
it once signed; the plan test shows `deploy` stops when verify fails.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from pipeline import commands
from tests.conftest import missing
from tests.pipeline.tools import tool

REGISTRY = "127.0.0.1:5000"  # scripts/docker-up.sh
OFFLINE = ["--insecure-ignore-tlog=true", "--offline=true"]  # no Rekor here


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

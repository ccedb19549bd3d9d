"""What `deploy` runs against a registry, with the real crane and cosign (no engine here).

A throw-away registry (`crane registry serve`) holds what `ci` would have pushed: a
two-platform index tagged with the commit, each image labelled with its revision. The
same argv lists `deploy` builds resolve the tag, read the revision label, list the
platform images, and verify the index's signature and each platform's SBOM
attestation (cosign with a key pair, no transparency log here).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from pipeline import commands, promotion
from tests.pipeline.tools import tool

REVISION = "a" * 40
OFFLINE = ["--insecure-ignore-tlog=true", "--offline=true"]
SBOM = {"spdxVersion": "SPDX-2.3", "SPDXID": "SPDXRef-DOCUMENT", "name": "hello-api",
        "dataLicense": "CC0-1.0", "documentNamespace": "https://example.invalid/sbom",
        "creationInfo": {"created": "2026-11-29T00:00:00Z", "creators": ["Tool: test"]},
        "packages": []}  # fmt: skip


def run(argv: list[str], cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run crane or cosign (their path from .tools) with an empty key password."""
    program = tool(argv[0])
    env = {**os.environ, "COSIGN_PASSWORD": ""}
    return subprocess.run([program, *argv[1:]], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=120, check=False)  # fmt: skip


def ok(argv: list[str], cwd: Path | None = None) -> str:
    """stdout of a command that must succeed."""
    done = run(argv, cwd)
    assert done.returncode == 0, f"{argv}: {done.stderr}"
    return done.stdout


@pytest.fixture(scope="module")
def registry() -> Iterator[str]:
    """A throw-away registry on a free loopback port."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    serve = [tool("crane"), "registry", "serve", "--address", f"127.0.0.1:{port}"]
    server = subprocess.Popen(serve, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            with socket.socket() as client:
                if client.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.05)
        yield f"127.0.0.1:{port}"
    finally:
        server.terminate()
        server.wait(timeout=10)


@pytest.fixture(scope="module")
def released(registry: str, tmp_path_factory: pytest.TempPathFactory) -> str:
    """The tag `ci` pushes: an index of two labelled platform images, nothing signed yet."""
    work = tmp_path_factory.mktemp("image")
    (work / "empty.tar").write_bytes(b"\0" * 1024)  # an empty tar archive
    base = f"{registry}/app:base"
    ok(["crane", "append", "-f", str(work / "empty.tar"), "-t", base])
    label = f"{promotion.REVISION_LABEL}={REVISION}"
    for arch in ("amd64", "arm64"):
        ok(["crane", "mutate", "--label", label, "--set-platform", f"linux/{arch}", base,
            "-t", f"{registry}/app:{arch}"])  # fmt: skip
    tag = f"{registry}/app:{REVISION}"
    ok(["crane", "index", "append", "-m", f"{registry}/app:amd64", "-m", f"{registry}/app:arm64",
        "-t", tag])  # fmt: skip
    return tag


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A cosign key pair (cosign.key, cosign.pub)."""
    work = tmp_path_factory.mktemp("keys")
    ok(["cosign", "generate-key-pair"], work)
    (work / "sbom.spdx.json").write_text(json.dumps(SBOM))
    return work


def resolve(tag: str) -> str:
    """What RegistryTools.resolve does: crane digest of the tag, as repository@digest."""
    return f"{tag.rsplit(':', 1)[0]}@{ok(commands.crane_digest(tag)).strip()}"


def test_the_tag_resolves_to_the_index_and_its_revision_label(released: str) -> None:
    """crane digest gives the index; its platform images carry the revision label."""
    index = resolve(released)
    images = promotion.index_images(index, ok(commands.crane_manifest(index)))
    assert len(images) == 2
    assert all(image.startswith(index.split("@")[0] + "@sha256:") for image in images)
    config = ok(commands.crane_config(images[0]))
    assert promotion.image_revision(images[0], config) == REVISION


def test_only_a_signed_and_attested_release_verifies(released: str, keys: Path) -> None:
    """Unsigned: verify fails; signed and attested per platform: every check passes."""
    index = resolve(released)
    images = promotion.index_images(index, ok(commands.crane_manifest(index)))
    verify = commands.cosign_verify(index, key="cosign.pub")
    assert run([*verify[:-1], *OFFLINE, index], keys).returncode != 0
    ok(["cosign", "sign", "--yes", "--key", "cosign.key", "--tlog-upload=false", index], keys)
    ok([*verify[:-1], *OFFLINE, index], keys)
    attest = commands.cosign_verify(images[1], key="cosign.pub", attestation=True)
    assert run([*attest[:-1], *OFFLINE, images[1]], keys).returncode != 0
    for image in images:
        ok(["cosign", "attest", "--yes", "--key", "cosign.key", "--type", "spdxjson",
            "--predicate", "sbom.spdx.json", "--tlog-upload=false", image], keys)  # fmt: skip
        check = commands.cosign_verify(image, key="cosign.pub", attestation=True)
        ok([*check[:-1], *OFFLINE, image], keys)

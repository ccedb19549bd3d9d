"""Plan of publish, sign, attest and verify through the real dagger-io SDK.

This is a plan check against a fake engine, not an execution: no Dagger engine
can run here. The fake engine validates every query against the real Dagger
schema and records it; pushes answer with a synthesized `ref@sha256:` digest.
Secrets are `env://` URIs whose variables hold canary values; the fake engine
answers any `plaintext` read with them, so a leak would show in the requests.
"""

import dataclasses
from typing import Any

import dagger
import pytest
from dagger import dag
from pipeline.effects import CACHE_BUSTER
from pipeline.errors import ArgumentError
from pipeline.inputs import Keys, Login
from pipeline.platforms import PlatformMismatchError
from pipeline.steps.image import ImageBuilder
from pipeline.steps.signing import Signer

from pipeline import images
from tests.pipeline.conftest import CANARIES, ROOT
from tests.pipeline.fake_engine import Call, FakeEngine
from tests.pipeline.plan_helpers import (
    CLEAN,
    REPORT,
    argv,
    env_of,
    exec_leaf,
    script_index,
    script_reports,
    secret_vars,
)

pytestmark = pytest.mark.anyio
DIGEST = "ghcr.io/acme/hello-api@sha256:" + "a" * 64
PLATFORMS = ["linux/amd64", "linux/arm64"]
PER_PLATFORM = {"linux/amd64": "sha256:" + "1" * 64, "linux/arm64": "sha256:" + "2" * 64}


async def test_publish_scans_before_it_pushes(engine: FakeEngine, pipeline: Any) -> None:
    """The gate reads the Trivy report before the push query is sent."""
    script_reports(engine, CLEAN)
    ref = await pipeline.publish(
        "ghcr.io/acme/hello-api:1.0", username="bot", password=dag.secret("env://REGISTRY_TOKEN")
    )
    assert ref.startswith("ghcr.io/acme/hello-api:1.0@sha256:")
    assert engine.called("contents")[0].seq < engine.called("publish")[0].seq


async def test_publish_pushes_nothing_when_the_gate_fails(
    engine: FakeEngine, pipeline: Any
) -> None:
    """A CRITICAL finding stops the publish before any push."""
    script_reports(engine, REPORT)
    with pytest.raises(Exception, match="CVE-2023-4863"):
        await pipeline.publish("ghcr.io/acme/hello-api:1.0")
    assert engine.called("publish") == []


async def test_publish_several_platforms_as_one_index(engine: FakeEngine, pipeline: Any) -> None:
    """Each platform is a variant of one publish, with registry auth from a secret."""
    script_reports(engine, CLEAN)
    await pipeline.publish("ghcr.io/acme/hello-api:1.0", platforms=["linux/amd64", "linux/arm64"],
                           username="bot", password=dag.secret("env://REGISTRY_TOKEN"))  # fmt: skip
    (push,) = engine.called("publish")
    assert len(push.args["platformVariants"]) == 2
    assert push.find("withRegistryAuth")[0].args | {"secret": "-"} == {
        "address": "ghcr.io",
        "username": "bot",
        "secret": "-",
    }


async def test_sign_by_digest_with_a_key_from_a_secret(engine: FakeEngine, pipeline: Any) -> None:
    """cosign signs the digest; the key and the registry password are secret variables."""
    secret = dag.secret("env://COSIGN_KEY")
    await pipeline.sign(
        DIGEST, private_key=secret, password=dag.secret("env://REGISTRY_TOKEN"), username="bot"
    )
    leaf = exec_leaf(engine, "sh")
    assert argv(leaf)[-1][-1].endswith(
        f"exec cosign sign --yes --key env://COSIGN_PRIVATE_KEY {DIGEST}"
    )
    assert secret_vars(leaf) == {"COSIGN_PRIVATE_KEY", "REGISTRY_PASSWORD"}


async def test_sign_keyless_uses_the_oidc_token_secret(engine: FakeEngine, pipeline: Any) -> None:
    """Keyless signing hands cosign the OIDC token as SIGSTORE_ID_TOKEN, never in argv."""
    await pipeline.sign(DIGEST, oidc_token=dag.secret("env://COSIGN_KEY"))
    leaf = exec_leaf(engine, "sh")
    assert "--key" not in argv(leaf)[-1][-1]
    assert "SIGSTORE_ID_TOKEN" in secret_vars(leaf)


async def test_sign_refuses_a_tag(engine: FakeEngine, pipeline: Any) -> None:
    """A tag can move between sign and push: only name@sha256 is signed."""
    with pytest.raises(ArgumentError, match="--image must be a digest reference"):
        await pipeline.sign(
            "ghcr.io/acme/hello-api:1.0", private_key=dag.secret("env://COSIGN_KEY")
        )


async def test_sign_needs_exactly_one_signing_mode(engine: FakeEngine, pipeline: Any) -> None:
    """Neither or both of key and token is an error naming the two flags."""
    with pytest.raises(ArgumentError, match="--private-key or --oidc-token: give exactly one"):
        await pipeline.sign(DIGEST)
    both = {"private_key": dag.secret("env://COSIGN_KEY"), "oidc_token": dag.secret("env://X")}
    with pytest.raises(ArgumentError, match="--private-key and --oidc-token are exclusive"):
        await pipeline.sign(DIGEST, **both)


async def test_attest_attaches_the_sbom(engine: FakeEngine, pipeline: Any) -> None:
    """The SPDX SBOM is attached to the digest as a signed spdxjson attestation."""
    await pipeline.attest(DIGEST, pipeline.sbom(), private_key=dag.secret("env://COSIGN_KEY"))
    leaf = exec_leaf(engine, "sh")
    attest = "cosign attest --yes --key env://COSIGN_PRIVATE_KEY --type spdxjson"
    assert f"{attest} --predicate /in/sbom.spdx.json {DIGEST}" in argv(leaf)[-1][-1]
    sbom = next(c for c in leaf.find("withFile") if c.args["path"] == "/in/sbom.spdx.json")
    assert sbom.arg_chain(engine, "source").find("from")[0].args["address"] == images.SYFT


async def test_verify_fails_on_an_unsigned_image(engine: FakeEngine, pipeline: Any) -> None:
    """cosign verify failing (no signature) fails the call."""
    engine.answer("stdout", Exception("cosign: no signatures found"))
    with pytest.raises(dagger.QueryError, match="no signatures found"):
        await pipeline.verify(DIGEST, certificate_identity="https://github.com/acme/.*")
    assert "--certificate-identity-regexp" in argv(exec_leaf(engine, "sh"))[-1][-1]


async def test_verify_with_a_public_key_file(engine: FakeEngine, pipeline: Any) -> None:
    """A key pair's public half is a file mounted for cosign verify --key."""
    engine.answer("stdout", "Verification for ... The cosign claims were validated")
    assert "validated" in await pipeline.verify(
        DIGEST, public_key=dag.host().file("/work/main/dagger.json")
    )
    assert argv(exec_leaf(engine, "sh"))[-1][-1].endswith(
        f"exec cosign verify --key /in/cosign.pub {DIGEST}"
    )


async def test_no_secret_plaintext_reaches_the_engine(engine: FakeEngine, pipeline: Any) -> None:
    """Secrets travel as IDs: no canary value and no plaintext read in any request."""
    script_reports(engine, CLEAN)
    token, key = dag.secret("env://REGISTRY_TOKEN"), dag.secret("env://COSIGN_KEY")
    ref = await pipeline.publish("ghcr.io/acme/hello-api:1.0", username="bot", password=token)
    await pipeline.sign(ref, private_key=key, username="bot", password=token)
    assert engine.called("plaintext") == []
    assert not any(canary in engine.bodies() for canary in CANARIES.values())


def scripts(engine: FakeEngine, word: str) -> dict[str, Call]:
    """The distinct recorded execs whose shell script contains `word`, by rendered chain."""
    return {c.render(): c for c in engine.called("withExec") if word in " ".join(c.args["args"])}


def built_platform(engine: FakeEngine, attest: Call) -> str:
    """The platform of the build whose tarball syft read for the SBOM this exec attests."""
    (sbom,) = [c for c in attest.find("withFile") if c.args["path"] == "/in/sbom.spdx.json"]
    syft = sbom.arg_chain(engine, "source")
    (tarball,) = [c for c in syft.find("withFile") if c.args["path"] == "/in/image.tar"]
    return str(tarball.arg_chain(engine, "source").find("dockerBuild")[0].args["platform"])


async def test_private_sigstore_reaches_every_cosign_command(
    engine: FakeEngine, pipeline: Any
) -> None:
    """Rekor, Fulcio and the trusted root (a mounted file) come from the constructor."""
    private = dataclasses.replace(
        pipeline,
        rekor_url="https://rekor.internal",
        fulcio_url="https://fulcio.internal",
        trusted_root=dag.host().file(str(ROOT / "dagger.json")),
    )
    key = dag.secret("env://COSIGN_KEY")
    await private.sign(DIGEST, private_key=key)
    await private.attest(DIGEST, private.sbom(), private_key=key)
    await private.verify(DIGEST, certificate_identity="https://github.com/acme/.*")
    for word in ("cosign sign", "cosign attest", "cosign verify"):
        (leaf,) = scripts(engine, word).values()
        script = argv(leaf)[-1][-1]
        assert "--rekor-url=https://rekor.internal --trusted-root=/in/trusted_root.json" in script
        assert "/in/trusted_root.json" in [c.args["path"] for c in leaf.find("withFile")]
        # Verify reads the certificate authority from the trusted root, not from Fulcio.
        assert ("--fulcio-url=https://fulcio.internal" in script) == (word != "cosign verify")


async def test_no_tlog_signs_and_verifies_without_the_log(
    engine: FakeEngine, pipeline: Any
) -> None:
    """The explicit weaker mode: --tlog-upload=false to sign, --insecure-ignore-tlog to verify."""
    offline = dataclasses.replace(pipeline, no_tlog=True)
    key = dag.secret("env://COSIGN_KEY")
    await offline.sign(DIGEST, private_key=key)
    await offline.attest(DIGEST, offline.sbom(), private_key=key)
    await offline.verify(DIGEST, public_key=dag.host().file(str(ROOT / "dagger.json")))
    for word, flag in [("cosign sign", "--tlog-upload=false"),
                       ("cosign attest", "--tlog-upload=false"),
                       ("cosign verify", "--insecure-ignore-tlog=true")]:  # fmt: skip
        (leaf,) = scripts(engine, word).values()
        assert flag in argv(leaf)[-1][-1]


async def test_the_log_is_required_by_default(engine: FakeEngine, pipeline: Any) -> None:
    """Without no_tlog, cosign uploads to and checks the public transparency log."""
    await pipeline.sign(DIGEST, private_key=dag.secret("env://COSIGN_KEY"))
    assert "tlog" not in argv(exec_leaf(engine, "sh"))[-1][-1]


async def test_no_tlog_refuses_keyless_before_any_exec(engine: FakeEngine, pipeline: Any) -> None:
    """Keyless without the log could never verify: refused, naming the flag, nothing run."""
    offline = dataclasses.replace(pipeline, no_tlog=True)
    with pytest.raises(ArgumentError, match="--no-tlog needs a key pair"):
        await offline.sign(DIGEST, oidc_token=dag.secret("env://COSIGN_KEY"))
    assert engine.called("withExec") == []


async def test_registry_credentials_live_only_on_an_in_memory_mount(
    engine: FakeEngine, pipeline: Any
) -> None:
    """Every exec given the registry password logs in to a tmpfs DOCKER_CONFIG, nowhere else."""
    script_reports(engine, CLEAN)
    script_index(engine, {"linux/amd64": PER_PLATFORM["linux/amd64"]})
    login = {"username": "bot", "password": dag.secret("env://REGISTRY_TOKEN")}
    key = dag.secret("env://COSIGN_KEY")
    ref = await pipeline.publish("ghcr.io/acme/hello-api:1.0", **login)
    await pipeline.sign(ref, private_key=key, **login)
    await pipeline.verify(ref, certificate_identity="https://github.com/acme/.*", **login)
    signer = Signer(pipeline.tools(), Login(**login))
    await signer.attest_all(ref, {"linux/amd64": pipeline.sbom()}, Keys(private_key=key))
    logged_in = [c for c in engine.called("withExec") if "REGISTRY_PASSWORD" in secret_vars(c)]
    assert len({c.render() for c in logged_in}) == 4  # sign, verify, crane manifest, attest
    for leaf in logged_in:
        config = env_of(leaf)["DOCKER_CONFIG"]
        assert config in [c.args["path"] for c in leaf.find("withMountedTemp")]
        assert '"${DOCKER_CONFIG:?' in argv(leaf)[-1][-1]
        written = [c.args["path"] for c in leaf.chain() if c.field in ("withFile", "withNewFile")]
        assert not [p for p in written if p.startswith(config) or ".docker" in p]
    assert not any(canary in engine.bodies() for canary in CANARIES.values())


@pytest.mark.parametrize("step", ["sign", "attest", "verify"])
async def test_cosign_never_replays_from_the_exec_cache(
    engine: FakeEngine, pipeline: Any, step: str
) -> None:
    """Two identical calls are two different execs (a cache-buster), so both really run."""
    key = dag.secret("env://COSIGN_KEY")
    call = {
        "sign": lambda: pipeline.sign(DIGEST, private_key=key),
        "attest": lambda: pipeline.attest(DIGEST, pipeline.sbom(), private_key=key),
        "verify": lambda: pipeline.verify(DIGEST, certificate_identity="https://x/.*"),
    }[step]
    await call()
    await call()
    runs = scripts(engine, f"cosign {step}").values()
    assert len(runs) == 2
    assert all(CACHE_BUSTER in env_of(run) for run in runs)


async def test_each_platform_sbom_is_attested_to_its_own_image(
    engine: FakeEngine, pipeline: Any
) -> None:
    """The index is read back (crane); each SBOM goes to its platform's digest, not the index."""
    script_index(engine, PER_PLATFORM)
    sboms = ImageBuilder(pipeline.tools()).platform_sboms(PLATFORMS, pipeline.build_all(PLATFORMS))
    key = dag.secret("env://COSIGN_KEY")
    refs = await Signer(pipeline.tools()).attest_all(DIGEST, sboms, Keys(private_key=key))
    assert refs == [f"ghcr.io/acme/hello-api@{PER_PLATFORM[p]}" for p in PLATFORMS]
    (listing,) = scripts(engine, "crane manifest").values()
    assert argv(listing)[-1][-1].endswith(f"exec crane manifest {DIGEST}")
    attests = scripts(engine, "cosign attest").values()
    attested = {argv(a)[-1][-1].rsplit(" ", 1)[-1]: built_platform(engine, a) for a in attests}
    assert attested == {f"ghcr.io/acme/hello-api@{d}": p for p, d in PER_PLATFORM.items()}


async def test_an_index_missing_a_platform_attests_nothing(
    engine: FakeEngine, pipeline: Any
) -> None:
    """SBOMs for platforms the index lacks (or the reverse) fail before any attestation."""
    script_index(engine, {"linux/amd64": PER_PLATFORM["linux/amd64"]})
    sboms = ImageBuilder(pipeline.tools()).platform_sboms(PLATFORMS, pipeline.build_all(PLATFORMS))
    keys = Keys(private_key=dag.secret("env://COSIGN_KEY"))
    with pytest.raises(PlatformMismatchError, match="linux/arm64"):
        await Signer(pipeline.tools()).attest_all(DIGEST, sboms, keys)
    assert scripts(engine, "cosign attest") == {}

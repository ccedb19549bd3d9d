"""Plan of `verify-policy` and of the provenance attestation through the real dagger-io SDK.

A plan check against a fake engine (tests/pipeline/fake_engine.py), not an execution:
what cosign and crane print is scripted; the real tools run in
tests/container/test_verify_policy_real.py.
"""

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from dagger import dag
from pipeline.effects import CACHE_BUSTER
from pipeline.errors import ArgumentError
from pipeline.inputs import Keys, Login, Origin, Stamp, Trust
from pipeline.provenance import BUILD_TYPE, rfc3339
from pipeline.steps.provenance import PREDICATE, Provenance
from pipeline.steps.verifier import Verifier
from pipeline.verification import Expectations, PolicyFailedError

from tests.pipeline.conftest import CANARIES, ROOT
from tests.pipeline.fake_engine import Call, FakeEngine
from tests.pipeline.plan_helpers import argv, env_of, secret_vars
from tests.pipeline.test_provenance import KNOWN_FACTS
from tests.pipeline.test_verification import DIGEST, IMAGE, provenance, sbom

pytestmark = pytest.mark.anyio
EXPECT = Expectations("https://github.com/acme/hello-world-api")
BASE = "docker.io/library/python:3.11.14-slim-bookworm@sha256:" + "5e" * 32


def script_of(call: Call) -> str:
    """The shell script of the exec a stdout/exitCode call reads."""
    return " ".join(call.parent.args.get("args", [])) if call.parent else ""


def script_cosign(engine: FakeEngine, field: str, word: str, value: object) -> None:
    """Answer `field` (stdout, exitCode) of the execs whose script contains `word`."""
    engine.answer(lambda c: c.field == field and word in script_of(c), value)


def script_attested(engine: FakeEngine) -> None:
    """A single-platform image whose SBOM and provenance attestations verify."""
    script_cosign(engine, "stdout", "crane manifest", json.dumps({"layers": []}))
    script_cosign(engine, "stdout", "--type spdxjson", sbom().stdout)
    script_cosign(engine, "stdout", "--type slsaprovenance1", provenance().stdout)


def trust() -> Trust:
    """A key pair's public half, as a file."""
    return Trust(public_key=dag.host().file(str(ROOT / "dagger.json")))


def cosign_execs(engine: FakeEngine) -> list[Call]:
    """The distinct recorded cosign verify execs."""
    found = {c.render(): c for c in engine.called("withExec") if "cosign verify" in argv(c)[-1][-1]}
    return list(found.values())


async def test_the_policy_passes_on_verified_attestations(
    engine: FakeEngine, pipeline: Any
) -> None:
    """Signature, SBOM and provenance each verified by cosign: the report passes."""
    script_attested(engine)
    report = await Verifier(pipeline.tools()).verify_policy(IMAGE, trust(), EXPECT)
    assert report.startswith(f"verify-policy passed for {IMAGE}")


async def test_each_check_is_one_fresh_cosign_run_that_may_fail(
    engine: FakeEngine, pipeline: Any
) -> None:
    """Three cosign runs, each with the key mounted, never replayed, exit code read (ANY)."""
    script_attested(engine)
    await Verifier(pipeline.tools()).verify_policy(IMAGE, trust(), EXPECT)
    execs = cosign_execs(engine)
    assert len(execs) == 3
    for leaf in execs:
        assert CACHE_BUSTER in env_of(leaf)
        assert leaf.args["expect"] == "ANY"
        assert "/in/cosign.pub" in [c.args["path"] for c in leaf.find("withFile")]


async def test_cosign_logs_in_to_the_registry_host(engine: FakeEngine, pipeline: Any) -> None:
    """The login names the registry (ghcr.io), the password stays a secret variable."""
    script_attested(engine)
    login = Login("bot", dag.secret("env://REGISTRY_TOKEN"))
    await Verifier(pipeline.tools(), login).verify_policy(IMAGE, trust(), EXPECT)
    for leaf in cosign_execs(engine):
        assert env_of(leaf)["REGISTRY"] == "ghcr.io"
        assert "REGISTRY_PASSWORD" in secret_vars(leaf)


async def test_a_failed_check_is_named_with_the_others_run(
    engine: FakeEngine, pipeline: Any
) -> None:
    """cosign failing on the provenance fails the call naming it; the others still ran."""
    script_attested(engine)
    script_cosign(engine, "exitCode", "--type slsaprovenance1", 1)
    script_cosign(engine, "stderr", "--type slsaprovenance1", "Error: no matching attestations")
    with pytest.raises(PolicyFailedError, match=r"FAILED \(provenance, provenance-subject"):
        await Verifier(pipeline.tools()).verify_policy(IMAGE, trust(), EXPECT)
    assert len(cosign_execs(engine)) == 3


async def test_bad_arguments_stop_before_any_exec(engine: FakeEngine, pipeline: Any) -> None:
    """A tag, no trust, or a policy that cannot be checked: refused, nothing run."""
    verifier = Verifier(pipeline.tools())
    with pytest.raises(ArgumentError, match="--image must be a digest"):
        await verifier.verify_policy("ghcr.io/acme/hello-api:1.0", trust(), EXPECT)
    with pytest.raises(ArgumentError, match="--public-key or --certificate-identity"):
        await verifier.verify_policy(IMAGE, Trust(), EXPECT)
    with pytest.raises(ArgumentError, match="--source-repository must be an https URL"):
        await verifier.verify_policy(IMAGE, trust(), Expectations("github.com/acme/x"))
    assert engine.called("withExec") == []


async def test_provenance_facts_are_read_and_checked(engine: FakeEngine, pipeline: Any) -> None:
    """The base image by digest (imageRef of its pull) and the lock's hash go into the facts."""
    engine.answer("imageRef", BASE)
    stamp = Stamp("1.4.0", KNOWN_FACTS.revision, "", KNOWN_FACTS.repository)
    started = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
    origin = Origin(stamp, [], "refs/heads/main")
    facts = await Provenance(pipeline.tools()).facts(origin, started)
    assert (facts.base_image, facts.ref, facts.version) == (BASE, "refs/heads/main", "1.4.0")
    assert facts.invocation_id.startswith("local-")


async def test_provenance_without_a_repository_url_is_refused(
    engine: FakeEngine, pipeline: Any
) -> None:
    """No --source-url, no provenance: refused naming the flag, before any push or exec."""
    engine.answer("imageRef", BASE)
    stamp = Stamp("1.4.0", KNOWN_FACTS.revision)
    with pytest.raises(ArgumentError, match="--source-url is needed to attest the SLSA provenance"):
        await Provenance(pipeline.tools()).facts(
            Origin(stamp, [], "refs/heads/main"), datetime.now(UTC)
        )
    assert [c.field for c in engine.calls if c.field != "version"] == []


async def test_the_provenance_is_signed_with_its_type_uri(
    engine: FakeEngine, pipeline: Any
) -> None:
    """cosign attest of the predicate file, the key a secret, the type the SLSA v1 URI."""
    before = datetime.now(UTC)
    await Provenance(pipeline.tools()).attest(
        IMAGE, KNOWN_FACTS, Keys(dag.secret("env://COSIGN_KEY"))
    )
    (leaf,) = [c for c in engine.called("withExec") if "cosign attest" in argv(c)[-1][-1]]
    script = argv(leaf)[-1][-1]
    assert f"--type https://slsa.dev/provenance/v1 --predicate {PREDICATE} {IMAGE}" in script
    assert "COSIGN_PRIVATE_KEY" in secret_vars(leaf)
    (written,) = [c for c in leaf.find("withNewFile") if c.args["path"] == PREDICATE]
    body = json.loads(written.args["contents"])
    assert body["buildDefinition"]["buildType"] == BUILD_TYPE
    assert body["runDetails"]["metadata"]["finishedOn"] >= rfc3339(before)
    assert DIGEST not in written.args["contents"]  # the subject is cosign's to write


async def test_the_predicate_names_no_secret(engine: FakeEngine, pipeline: Any) -> None:
    """The key stays a secret ID: no canary value reaches any request."""
    await Provenance(pipeline.tools()).attest(
        IMAGE, KNOWN_FACTS, Keys(dag.secret("env://COSIGN_KEY"))
    )
    assert not any(canary in engine.bodies() for canary in CANARIES.values())


async def test_attest_attaches_the_sbom_then_the_provenance(
    engine: FakeEngine, pipeline: Any
) -> None:
    """`attest` with a build's facts: both attestations, each with its own type."""
    engine.answer("imageRef", BASE)
    stamp = Stamp("1.4.0", KNOWN_FACTS.revision, "", KNOWN_FACTS.repository)
    build = Origin(stamp, [], "refs/heads/main")
    keys = Keys(dag.secret("env://COSIGN_KEY"))
    await Provenance(pipeline.tools()).attest_with_sbom(IMAGE, pipeline.sbom(), keys, build)
    attests = [
        argv(c)[-1][-1] for c in engine.called("withExec") if "cosign attest" in argv(c)[-1][-1]
    ]
    types = [script.split("--type ")[1].split()[0] for script in attests]
    assert types == ["spdxjson", "https://slsa.dev/provenance/v1"]


async def test_attest_checks_the_facts_before_either_attestation(
    engine: FakeEngine, pipeline: Any
) -> None:
    """A revision that is no commit id: refused, no SBOM attached either."""
    engine.answer("imageRef", BASE)
    build = Origin(Stamp("1.4.0", "main", "", KNOWN_FACTS.repository), [], "refs/heads/main")
    keys = Keys(dag.secret("env://COSIGN_KEY"))
    with pytest.raises(ArgumentError, match="--revision must be a full commit id"):
        await Provenance(pipeline.tools()).attest_with_sbom(IMAGE, pipeline.sbom(), keys, build)
    assert [c for c in engine.called("withExec") if "cosign" in " ".join(argv(c)[-1])] == []

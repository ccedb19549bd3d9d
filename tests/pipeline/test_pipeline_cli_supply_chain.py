"""`python -m pipeline verify-policy|attest|ci|deploy|evidence` with issue 14's flags, as typed.

Plan checks, not executions: each command runs in a subprocess joined to
tests/pipeline/fake_engine.py (DAGGER_SESSION_PORT/TOKEN); what cosign, crane and
trivy print is scripted as in test_verification_plan.py and test_deploy_plan.py.
Every new flag is accepted; a bad value fails naming its flag before any query.
"""

import os
import subprocess
import sys

import pytest

from tests.pipeline.fake_engine import FakeEngine
from tests.pipeline.plan_helpers import CLEAN, script_index, script_reports
from tests.pipeline.test_deploy_plan import IDENTITY, PULL, script
from tests.pipeline.test_provenance import KNOWN_FACTS
from tests.pipeline.test_verification import IMAGE
from tests.pipeline.test_verification_plan import BASE, script_attested, script_cosign
from tests.pipeline.tools import ROOT

CANARY = "canary-cli-supply-chain-4b7f"  # a secret's plaintext: must never reach the engine
SOURCE = "https://github.com/acme/hello-world-api"
KEY = str(ROOT / "dagger.json")  # any host file stands in for cosign.pub
TRUST = [f"--certificate-identity={IDENTITY['certificate_identity']}",
         "--certificate-oidc-issuer=https://token.actions.githubusercontent.com"]  # fmt: skip
PROVENANCE = [f"--source-url={SOURCE}", "--source-ref=refs/heads/main",
              f"--revision={KNOWN_FACTS.revision}", "--version=1.4.0",
              "--platforms=linux/amd64", f"--run-url={SOURCE}/actions/runs/1"]  # fmt: skip
DEPLOY = [f"--repository={SOURCE}.git", "--token=env://SECRET"]


def client(engine: FakeEngine, *args: str) -> subprocess.CompletedProcess[str]:
    """`python -m pipeline ARGS` joined to the engine: no traceback, no secret sent."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("DAGGER_")}
    env = base | {"SECRET": CANARY} | engine.env()
    command = [sys.executable, "-m", "pipeline", *args]
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert "Traceback" not in done.stderr, done.stderr
    assert CANARY not in engine.bodies()
    assert engine.rejected == []
    return done


def asked(engine: FakeEngine) -> list[str]:
    """What the command asked the engine, its `{ version }` handshake aside."""
    return [c.field for c in engine.calls if c.field != "version"]


@pytest.mark.parametrize("trust", [[f"--public-key={KEY}"], TRUST], ids=["key", "identity"])
def test_verify_policy_takes_every_flag(trust: list[str]) -> None:
    """Image, repository, env, branch, revision, a trust and a login: the report, exit 0."""
    with FakeEngine() as engine:
        script_attested(engine)
        done = client(engine, "verify-policy", f"--image={IMAGE}", f"--source-repository={SOURCE}",
                      "--env=production", "--branch=main", f"--revision={KNOWN_FACTS.revision}",
                      *trust, "--username=bot", "--password=env://SECRET")  # fmt: skip
        assert done.returncode == 0, done.stderr
        assert done.stdout.startswith(f"verify-policy passed for {IMAGE}")


def test_verify_policy_fails_naming_every_failed_check() -> None:
    """No provenance: exit 1, the report names the failed checks, once."""
    with FakeEngine() as engine:
        script_attested(engine)
        script_cosign(engine, "exitCode", "--type slsaprovenance1", 1)
        done = client(engine, "verify-policy", f"--image={IMAGE}", f"--source-repository={SOURCE}",
                      "--env=staging", *TRUST)  # fmt: skip
        assert done.returncode == 1
        assert done.stderr.count("verify-policy FAILED (provenance, provenance-subject") == 1


def test_attest_takes_the_provenance_flags() -> None:
    """The SBOM, then the provenance built from the flags: two cosign attests."""
    with FakeEngine() as engine:
        engine.answer("imageRef", BASE)
        done = client(engine, "attest", f"--image={IMAGE}", f"--sbom={KEY}",
                      "--private-key=env://SECRET", *PROVENANCE)  # fmt: skip
        assert done.returncode == 0, done.stderr
        attests = [e[-1] for e in engine.execs() if "exec cosign attest" in e[-1]]
        assert [a.split("--type ")[1].split()[0] for a in attests] == [
            "spdxjson", "https://slsa.dev/provenance/v1"
        ]  # fmt: skip


def test_ci_publishes_and_attests_both_with_its_flags() -> None:
    """ci --address with a key and the provenance flags: sign, SBOM attest, provenance attest."""
    with FakeEngine() as engine:
        script_reports(engine, CLEAN)
        script_index(engine, {"linux/amd64": "sha256:" + "b" * 64})
        engine.answer("imageRef", BASE)
        done = client(engine, "ci", "--address=ghcr.io/acme/hello-api:1.4.0",
                      "--private-key=env://SECRET", *PROVENANCE)  # fmt: skip
        assert done.returncode == 0, done.stderr
        cosign = [e[-1].split("exec cosign ")[1].split()[0] for e in engine.execs()
                  if "exec cosign " in e[-1]]  # fmt: skip
        assert cosign == ["sign", "attest", "attest"]
        assert "| provenance | ok |" in done.stdout


def test_evidence_takes_the_provenance_flags() -> None:
    """evidence --source-url ...: the bundle is exported with provenance.json in it."""
    with FakeEngine() as engine:
        script_reports(engine, CLEAN)
        engine.answer("imageRef", BASE)
        done = client(engine, "evidence", *PROVENANCE)
        assert done.returncode == 0, done.stderr
        kept = [c for c in engine.called("withNewFile") if c.args["path"] == "provenance.json"]
        assert kept


def test_deploy_production_takes_the_policy_and_severity_flags() -> None:
    """--source-repository, --severity, --production-severity, --ignore-unfixed: the PR."""
    with FakeEngine() as engine:
        script(engine)
        done = client(engine, "deploy", "--env=production", *DEPLOY, *TRUST,
                      f"--source-repository={SOURCE}", "--severity=HIGH",
                      "--production-severity=LOW", "--ignore-unfixed=false",
                      "--skip-staging-check")  # fmt: skip
        assert done.returncode == 0, done.stderr
        assert "re-scanned at LOW: passed" in done.stdout
        assert done.stdout.strip().endswith(PULL)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["verify-policy", "--image=ghcr.io/acme/hello-api:1.0", f"--source-repository={SOURCE}",
          *TRUST], "--image must be a digest"),
        (["verify-policy", f"--image={IMAGE}", "--source-repository=github.com/acme/x", *TRUST],
         "--source-repository must be an https URL"),
        (["verify-policy", f"--image={IMAGE}", f"--source-repository={SOURCE}",
          "--branch=refs/heads/main", *TRUST], "--branch must be a branch name"),
        (["verify-policy", f"--image={IMAGE}", f"--source-repository={SOURCE}"],
         "--public-key or --certificate-identity"),
        (["attest", f"--image={IMAGE}", f"--sbom={KEY}", "--private-key=env://SECRET",
          *PROVENANCE, "--source-ref=main"], "--source-ref must be a full git ref"),
        (["attest", f"--image={IMAGE}", f"--sbom={KEY}", "--private-key=env://SECRET",
          *PROVENANCE, "--revision=abc123"], "--revision must be a full commit id"),
        (["ci", "--address=ghcr.io/acme/hello-api:1", "--private-key=env://SECRET"],
         "--source-url is needed to attest the SLSA provenance"),
        (["ci", "--address=ghcr.io/acme/hello-api:1", "--private-key=env://SECRET",
          *PROVENANCE, f"--source-url=https://user:{CANARY}@github.com/acme/x"],
         "--source-url must not carry credentials"),
        (["ci", "--address=ghcr.io/acme/hello-api:1", "--private-key=env://SECRET",
          *PROVENANCE, "--run-url=http://ci/1"], "--run-url must be an https URL"),
        (["deploy", "--env=production", *DEPLOY, *TRUST, "--production-severity=CRITICAL"],
         "--production-severity must be at least as strict as --severity (HIGH)"),
        (["deploy", "--env=staging", *DEPLOY, "--image=" + IMAGE, *TRUST,
          "--source-repository=git@github.com:acme/x.git"],
         "--source-repository must be an https URL"),
        (["deploy", "--env=staging", *DEPLOY, "--image=" + IMAGE, "--severity=SEVERE"],
         "--severity must be one of"),
    ],
)  # fmt: skip
def test_a_bad_value_is_named_before_any_query(args: list[str], message: str) -> None:
    """One message naming the flag, a non-zero exit, and no query besides the handshake."""
    with FakeEngine() as engine:
        done = client(engine, *args)
        assert done.returncode != 0
        assert message in done.stderr
        assert asked(engine) == []

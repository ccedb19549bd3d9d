"""`python -m pipeline deploy ...` as a user types it, in a subprocess against the fake engine.

Plan checks, not executions: the subprocess joins tests/pipeline/fake_engine.py through
DAGGER_SESSION_PORT/TOKEN; the answers of crane, cosign, git and the APIs are scripted
as in test_deploy_plan.py. Every deploy flag is accepted by the command line; a bad
one fails in one line naming the flag, before any query.
"""

import os
import subprocess
import sys

import pytest

from tests.pipeline.fake_engine import FakeEngine
from tests.pipeline.test_deploy_plan import (
    IDENTITY,
    PULL,
    RESOLVED,
    TAG,
    application,
    last_exec,
    script,
)
from tests.pipeline.tools import ROOT

CANARY = "canary-cli-deploy-9c2e"  # the token's plaintext: must never reach the engine
BUILT_FROM = "a" * 40
COMMON = ["--repository=https://github.com/acme/hello-world-api.git", "--token=env://GIT_TOKEN"]
ARGO = ["--argocd-server=https://argocd.acme.io", "--argocd-token=env://GIT_TOKEN"]
TRUST = [f"--certificate-identity={IDENTITY['certificate_identity']}",
         "--certificate-oidc-issuer=https://token.actions.githubusercontent.com"]  # fmt: skip


def deploy(engine: FakeEngine, *args: str) -> subprocess.CompletedProcess[str]:
    """Run `python -m pipeline deploy ARGS` joined to the engine; never a traceback."""
    return call(engine, "deploy", *args)


def call(engine: FakeEngine, function: str, *args: str) -> subprocess.CompletedProcess[str]:
    """Run `python -m pipeline FUNCTION ARGS` joined to the engine; never a traceback."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("DAGGER_")}
    env = base | {"GIT_TOKEN": CANARY} | engine.env()
    command = [sys.executable, "-m", "pipeline", function, *args]
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert "Traceback" not in done.stderr, done.stderr
    assert CANARY not in engine.bodies()
    return done


def test_staging_takes_every_new_flag() -> None:
    """--address (resolved), trust, --wait with Argo CD, --rollback and --webhook are accepted."""
    with FakeEngine() as engine:
        script(engine, answers={"applications": application(RESOLVED)})
        done = deploy(engine, "--env=staging", *COMMON, f"--address={TAG}",
                      f"--revision={BUILT_FROM}", *TRUST, "--wait", *ARGO, "--wait-seconds=30",
                      "--rollback", "--webhook=env://GIT_TOKEN")  # fmt: skip
        assert done.returncode == 0, done.stderr
        assert "staging now runs " + RESOLVED in done.stdout


def test_production_takes_every_new_flag() -> None:
    """Production with Argo CD and a webhook opens (or finds) the pull request."""
    with FakeEngine() as engine:
        script(
            engine, answers={"applications": application(TAG.split(":")[0] + "@sha256:" + "c" * 64)}
        )
        done = deploy(engine, "--env=production", *COMMON, *TRUST, *ARGO, "--rollback",
                      "--webhook=env://GIT_TOKEN")  # fmt: skip
        assert done.returncode == 0, done.stderr
        assert done.stdout.strip().endswith(PULL)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--env=production", *COMMON, "--certificate-identity=^https://github.com/acme/"],
         "--certificate-identity must be anchored"),
        (["--env=staging", *COMMON, "--image=x@sha256:" + "d" * 64, f"--address={TAG}"],
         "--image and --address are exclusive"),
        (["--env=staging", *COMMON, f"--address={TAG}", "--revision=HEAD"],
         "--revision must be a commit"),
        (["--env=production", *COMMON, *TRUST, "--argocd-server=http://argocd"],
         "--argocd-server must be an https:// URL"),
        (["--env=production", *COMMON, *TRUST],
         "--argocd-server is needed for production"),
    ],
)  # fmt: skip
def test_a_bad_flag_is_named_before_any_query(args: list[str], message: str) -> None:
    """One line naming the flag, exit 1, and the engine asked nothing but its version."""
    with FakeEngine() as engine:
        done = deploy(engine, *args)
        assert done.returncode != 0
        assert message in done.stderr
        assert [c.field for c in engine.calls if c.field != "version"] == []


@pytest.mark.parametrize(
    ("flags", "checked", "unchecked"),
    [
        ([], "name=%21' 400 application/problem+json", "/metrics"),
        (["--in-cluster"], "check https://staging.acme.io/metrics", "name=%21"),
    ],
)
def test_smoke_checks_the_public_host_or_with_in_cluster_a_service(
    flags: list[str], checked: str, unchecked: str
) -> None:
    """smoke --url: what the Ingress serves; with --in-cluster the probes and /metrics."""
    with FakeEngine() as engine:
        done = call(engine, "smoke", "--url=https://staging.acme.io", *flags)
        assert done.returncode == 0, done.stderr
        runs = [last_exec(c) for c in engine.calls if "check()" in last_exec(c)]
        assert runs, "smoke ran no check script"
        assert checked in runs[-1]
        assert unchecked not in runs[-1]

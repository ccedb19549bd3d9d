"""Plan of `deploy` and `smoke` through the real dagger-io SDK.

This is a plan check against a fake engine, not an execution: no Dagger engine
can run here. The fake engine validates every query against the real Dagger
schema and records it; the tests script what git, cosign and the APIs would
print (the overlays, HEAD, the verification, the pull request, Argo CD health).
The git commands themselves run against a real repository in tests/k8s/test_gitops_git.py.
"""

import json
from pathlib import Path
from typing import Any

import pytest
from dagger import dag
from graphql import GraphQLError
from pipeline.errors import ArgumentError, DeployFailedError, PipelineError

from pipeline import gitops, images
from tests.k8s.gitops_repo import bare_remote, run
from tests.pipeline.conftest import CANARIES, ROOT
from tests.pipeline.fake_engine import Call, FakeEngine
from tests.pipeline.plan_helpers import argv, index, secret_vars
from tests.pipeline.test_verification import provenance, sbom

pytestmark = pytest.mark.anyio
STAGED = "ghcr.io/acme/hello-api@sha256:" + "c" * 64
NEW = "ghcr.io/acme/hello-api@sha256:" + "d" * 64
TAG = "ghcr.io/acme/hello-api:" + "a" * 40
RESOLVED = "ghcr.io/acme/hello-api@sha256:" + "e" * 64
AMD64, ARM64 = "sha256:" + "1" * 64, "sha256:" + "2" * 64
HEAD = "f" * 40
BUILT_FROM = "a" * 40  # the image's org.opencontainers.image.revision label
RUNNING = "9" * 40  # the source revision the overlay's last deploy recorded
REPO = "https://github.com/acme/hello-world-api.git"
CONFIG = json.dumps({"config": {"Labels": {"org.opencontainers.image.revision": BUILT_FROM}}})
PULL = "https://github.com/acme/hello-world-api/pull/7"
ATTESTATION = "exec cosign verify-attestation --type spdxjson --key /in/cosign.pub"
PROVENANCE = "exec cosign verify-attestation --type slsaprovenance1 --key /in/cosign.pub"
IDENTITY = {
    "certificate_identity": r"^https://github\.com/acme/hello-world-api/\.github/workflows/ci\.yml@refs/heads/main$"
}


def overlay(env: str, ref: str = "") -> str:
    """The repository's overlay, deploying `ref` when given."""
    text = (ROOT / gitops.overlay(env)).read_text()
    return gitops.edit(text, ref) or text if ref else text


def last_exec(call: Call) -> str:
    """The last command of a chain, as one string."""
    commands = argv(call)
    return " ".join(commands[-1]) if commands else ""


def application(image: str, sync: str = "Synced", health: str = "Healthy") -> str:
    """Argo CD's answer for an Application that runs `image` at HEAD."""
    return json.dumps({"status": {
        "sync": {"status": sync, "revision": HEAD}, "health": {"status": health},
        "operationState": {
            "phase": "Succeeded", "finishedAt": "2026-11-29T12:00:00Z",
            "syncResult": {"revision": HEAD}, "operation": {"sync": {"revision": HEAD}},
        },
        "summary": {"images": [image]},
    }})  # fmt: skip


def attested(kind: str, **changes: Any) -> Any:
    """What verify-attestation prints for the digest it was given: `ci`'s statement of `kind`."""
    made = {"sbom": sbom, "provenance": lambda d: provenance(d, revision=BUILT_FROM, **changes)}

    def answer(call: Call) -> str:
        return made[kind](last_exec(call).rsplit("@", 1)[1]).stdout

    return answer


def script(
    engine: FakeEngine, staging: str = STAGED, answers: dict[str, Any] | None = None
) -> None:
    """Overlays, registry, cosign, git and API answers, keyed by a word of the last command."""
    texts = {
        gitops.overlay("staging"): overlay("staging", staging),
        gitops.overlay("production"): overlay("production"),
    }
    engine.answer(
        lambda c: c.field == "contents" and c.parent.args.get("path") in texts,
        lambda c: texts[c.parent.args["path"]],
    )
    for word, value in {
        "rev-parse": HEAD, "cosign verify": "Verified OK", "pulls": json.dumps({"html_url": PULL}),
        "state=open": "[]", "crane manifest": index({"linux/amd64": AMD64, "linux/arm64": ARM64}),
        "crane config": CONFIG, "crane digest": RESOLVED.split("@")[1], "Deploy-Id": HEAD,
        "ancestry": "descendant", "--type spdxjson": attested("sbom"),
        "--type slsaprovenance1": attested("provenance"), **(answers or {}),
    }.items():  # fmt: skip
        engine.answer(lambda c, w=word: c.field == "stdout" and w in last_exec(c), value)


def pushes(engine: FakeEngine) -> list[Call]:
    """Every recorded chain that pushes with git."""
    return [c for c in engine.calls if any("git push" in " ".join(a) for a in argv(c))]


def queried(engine: FakeEngine) -> list[str]:
    """What the module asked the engine, the connection's own `{ version }` handshake aside."""
    return [c.render() for c in engine.calls if c.field != "version"]


def branches(remote: Path) -> list[str]:
    """The refs a bare remote has."""
    return sorted(line.split()[1] for line in run(["git", "show-ref"], remote).splitlines())


def written(engine: FakeEngine, env: str = "staging") -> str:
    """The overlay text the last push carried."""
    leaf = pushes(engine)[-1]
    return next(c for c in leaf.find("withNewFile") if c.args["path"] == gitops.overlay(env)).args[
        "contents"
    ]


def commit_message(engine: FakeEngine) -> str:
    """The message of the deploy commit the last push carried."""
    commits = [a for a in argv(pushes(engine)[-1]) if "commit" in a and "-m" in a]
    return commits[-1][commits[-1].index("-m") + 1]


def verified(engine: FakeEngine) -> list[str]:
    """The cosign verify commands run (after the registry login), in order."""
    scripts = [e[-1] for e in engine.execs() if e[:2] == ["sh", "-ec"]]
    return [s.rsplit("\n", 1)[-1] for s in scripts if "exec cosign verify" in s]


async def deploy(pipeline: Any, env: str, **kwargs: Any) -> str:
    """deploy with the repository and a token from a canary secret.

    Production without --argocd-server is told --skip-staging-check (the tests of other
    rules); test_production_needs_argo_cd_or_an_explicit_skip asks without either.
    """
    if env == "production" and "argocd_server" not in kwargs:
        kwargs.setdefault("skip_staging_check", True)
    return await pipeline.deploy(env, REPO, dag.secret("env://REGISTRY_TOKEN"), **kwargs)


async def test_staging_pushes_the_digest_to_the_branch(engine: FakeEngine, pipeline: Any) -> None:
    """The git image clones main, commits the edited overlay, pushes straight to main."""
    script(engine)
    assert "staging now runs" in await deploy(pipeline, "staging", image=NEW, revision="aaaaaaa")
    leaf = pushes(engine)[-1]
    assert leaf.find("from")[0].args["address"] == images.GIT
    assert ["git", "clone", "--single-branch", "--branch", "main", "--", REPO, "/repo"] in argv(
        leaf
    )
    assert gitops.push_retrying("main") in argv(leaf)
    assert gitops.read_image(written(engine)) == tuple(NEW.split("@"))
    assert f"Source revision: {BUILT_FROM}" in commit_message(engine)
    assert "GIT_TOKEN" in secret_vars(leaf)


async def test_staging_promotes_the_digest_ci_published_without_building(
    engine: FakeEngine, pipeline: Any
) -> None:
    """--address: the tag resolved in the registry, verified, deployed; no build, no signing."""
    script(engine)
    said = await deploy(pipeline, "staging", address=TAG, revision=BUILT_FROM, **IDENTITY)
    assert gitops.read_image(written(engine)) == tuple(RESOLVED.split("@"))
    assert "verify-policy passed (signature, sbom, provenance," in said
    assert any(e[-1].endswith(f"exec crane digest {TAG}") for e in engine.execs())
    assert (engine.called("dockerBuild"), engine.called("publish")) == ([], [])
    assert not any(
        "cosign sign" in " ".join(e) or "cosign attest" in " ".join(e) for e in engine.execs()
    )
    assert "NOT verified" not in said


async def test_staging_refuses_an_image_built_from_another_revision(
    engine: FakeEngine, pipeline: Any
) -> None:
    """The tag's image must carry the --revision the workflow names in its label."""
    script(engine)
    with pytest.raises(
        DeployFailedError, match=r"built from aaaaaaaaaaaa, not from --revision b{40}"
    ):
        await deploy(pipeline, "staging", address=TAG, revision="b" * 40)
    assert pushes(engine) == []


async def test_staging_without_trust_says_nothing_was_verified(
    engine: FakeEngine, pipeline: Any
) -> None:
    """Without --certificate-identity or --public-key the output says so."""
    script(engine)
    assert "signature NOT verified" in await deploy(pipeline, "staging", image=NEW)
    assert verified(engine) == []


async def test_production_verifies_then_opens_a_pull_request(
    engine: FakeEngine, pipeline: Any
) -> None:
    """Staging's digest: the whole policy (signature, SBOMs, provenance) before any push."""
    script(engine)
    key = dag.host().file(str(ROOT / "dagger.json"))
    said = await deploy(pipeline, "production", public_key=key)
    assert said.endswith(PULL)
    assert "staging's health NOT checked" in said
    assert verified(engine) == [
        f"exec cosign verify --key /in/cosign.pub {STAGED}",
        f"{ATTESTATION} ghcr.io/acme/hello-api@{AMD64}",
        f"{ATTESTATION} ghcr.io/acme/hello-api@{ARM64}",
        f"{PROVENANCE} {STAGED}",
    ]
    first = min(c.seq for c in engine.calls if "--type slsaprovenance1" in last_exec(c))
    assert first < min(c.seq for c in pushes(engine))
    assert (engine.called("publish"), engine.called("dockerBuild")) == ([], [])
    branch = gitops.pr_branch("production", STAGED.split("@")[1], BUILT_FROM)
    assert argv(pushes(engine)[-1])[-1] == gitops.promotion_push(branch)[0]
    pull = engine.leaf_where(lambda c: last_exec(c).endswith("/repos/acme/hello-world-api/pulls"))
    assert "API_TOKEN" in secret_vars(pull)


async def test_production_names_the_revision_the_image_was_built_from(
    engine: FakeEngine, pipeline: Any
) -> None:
    """The commit's Source revision is the image's label, not the checkout's HEAD."""
    script(engine)
    await deploy(pipeline, "production", **IDENTITY)
    assert f"Source revision: {BUILT_FROM}" in commit_message(engine)
    assert HEAD not in commit_message(engine)


async def test_a_production_rerun_finds_its_open_pull_request(
    engine: FakeEngine, pipeline: Any
) -> None:
    """The branch is force-updated (with lease); its open PR is found, no second one opened."""
    script(engine, answers={"state=open": json.dumps([{"html_url": PULL.replace("7", "5")}])})
    assert (await deploy(pipeline, "production", **IDENTITY)).endswith("/pull/5")
    branch = gitops.pr_branch("production", STAGED.split("@")[1], BUILT_FROM)
    listed = engine.leaf_where(lambda c: "state=open" in last_exec(c))
    assert f"head=acme:{branch}" in last_exec(listed)
    assert not any("POST" in " ".join(e) for e in engine.execs())


@pytest.mark.parametrize(
    ("answer", "problem"),
    [
        (application(STAGED, health="Degraded"), "runs it Synced and Degraded"),
        (application(STAGED, sync="OutOfSync"), "runs it OutOfSync and Healthy"),
        (application(NEW), "staging does not run it"),
    ],
)
async def test_production_requires_staging_to_run_it_synced_and_healthy(
    engine: FakeEngine, pipeline: Any, answer: str, problem: str
) -> None:
    """With --argocd-server, staging must run the digest Synced and Healthy, else no push."""
    script(engine, answers={"applications": answer})
    argo = {
        "argocd_server": "https://argocd.acme.io",
        "argocd_token": dag.secret("env://COSIGN_KEY"),
    }
    with pytest.raises(DeployFailedError, match=f"(?s)production refuses .*{problem}"):
        await deploy(pipeline, "production", **IDENTITY, **argo)
    assert pushes(engine) == []


async def test_production_proceeds_when_staging_runs_it_healthy(
    engine: FakeEngine, pipeline: Any
) -> None:
    """Synced, Healthy, the same digest: the pull request is opened, saying it was checked."""
    script(engine, answers={"applications": application(STAGED)})
    argo = {
        "argocd_server": "https://argocd.acme.io",
        "argocd_token": dag.secret("env://COSIGN_KEY"),
    }
    said = await deploy(pipeline, "production", **IDENTITY, **argo)
    assert "staging runs it Synced and Healthy" in said
    assert said.endswith(PULL)


@pytest.mark.parametrize(
    ("failing", "check"),
    [("cosign verify --", "signature"), ("--type spdxjson", "sbom"),
     ("--type slsaprovenance1", "provenance")],
)  # fmt: skip
async def test_production_refuses_a_digest_failing_a_policy_check(
    engine: FakeEngine, pipeline: Any, failing: str, check: str
) -> None:
    """An unsigned, SBOM-less or provenance-less digest stops production before any push."""
    script(engine)
    engine.answer(lambda c: c.field == "exitCode" and failing in last_exec(c), 1)
    with pytest.raises(DeployFailedError, match=rf"production refuses .*FAILED \({check}"):
        await deploy(pipeline, "production", **IDENTITY)
    assert pushes(engine) == []


@pytest.mark.parametrize(
    ("changes", "problem"),
    [({"repository": "https://github.com/evil/fork"}, "built from https://github.com/evil/fork"),
     ({"ref": "refs/heads/feature"}, "built from refs/heads/feature, not the protected")],
)  # fmt: skip
async def test_production_refuses_provenance_from_elsewhere(
    engine: FakeEngine, pipeline: Any, changes: dict[str, str], problem: str
) -> None:
    """Another repository, or a branch other than --branch: refused, named, nothing pushed."""
    script(engine, answers={"--type slsaprovenance1": attested("provenance", **changes)})
    with pytest.raises(DeployFailedError, match=f"(?s)production refuses .*{problem}"):
        await deploy(pipeline, "production", **IDENTITY)
    assert pushes(engine) == []


async def test_staging_with_a_trust_runs_the_policy_without_the_branch_rule(
    engine: FakeEngine, pipeline: Any
) -> None:
    """A feature-branch build may reach staging; its provenance is still checked."""
    feature = attested("provenance", ref="refs/heads/feature")
    script(engine, answers={"--type slsaprovenance1": feature})
    said = await deploy(pipeline, "staging", image=NEW, **IDENTITY)
    assert "verify-policy passed" in said
    assert f"{PROVENANCE.split(' --key')[0]} --certificate-identity" in "\n".join(verified(engine))


NEW_CVE = {"VulnerabilityID": "CVE-2026-0001", "Severity": "MEDIUM", "Title": "new since ci"}
MEDIUM_FINDING = json.dumps({"Results": [{"Target": "python-pkg", "Vulnerabilities": [NEW_CVE]}]})


def rescans(engine: FakeEngine) -> list[tuple[str, int]]:
    """(the image pulled, the seq) of every tarball handed to trivy."""
    found = [c for c in engine.called("withFile") if c.args["path"] == "/scan/image.tar"]
    pulled = [c.arg_chain(engine, "source").find("from")[-1].args["address"] for c in found]
    return sorted({(ref, c.seq) for ref, c in zip(pulled, found, strict=True)})


async def test_production_rescans_each_platform_image_before_any_push(
    engine: FakeEngine, pipeline: Any
) -> None:
    """The promoted digest's images, pulled (no build), gated at MEDIUM before the branch push."""
    script(engine)
    said = await deploy(pipeline, "production", **IDENTITY)
    assert "re-scanned at MEDIUM: passed" in said
    scanned = rescans(engine)
    assert sorted({ref for ref, _ in scanned}) == [
        f"ghcr.io/acme/hello-api@{AMD64}",
        f"ghcr.io/acme/hello-api@{ARM64}",
    ]
    assert max(seq for _, seq in scanned) < min(c.seq for c in pushes(engine))
    assert engine.called("dockerBuild") == []


async def test_production_refuses_a_finding_at_its_stricter_threshold(
    engine: FakeEngine, pipeline: Any
) -> None:
    """A MEDIUM finding ci's HIGH gate let through stops production, named; nothing pushed."""
    script(engine)
    engine.answer(lambda c: c.field == "contents" and c.parent.args.get("path") == "out/image.json",
                  MEDIUM_FINDING)  # fmt: skip
    with pytest.raises(DeployFailedError, match=r"(?s)refuses .*at or above MEDIUM.*CVE-2026-0001"):
        await deploy(pipeline, "production", **IDENTITY)
    assert pushes(engine) == []


async def test_staging_does_not_rescan(engine: FakeEngine, pipeline: Any) -> None:
    """Staging deploys what ci has just scanned at --severity: no second scan."""
    script(engine)
    await deploy(pipeline, "staging", image=NEW, **IDENTITY)
    assert rescans(engine) == []


def overlay_history(*records: tuple[str, str]) -> str:
    """`gitops.overlay_log` output: (commit, message) records, newest first."""
    return "".join(f"{sha}\n{message}\n{gitops.RECORD}\n" for sha, message in records)


RAN = overlay_history(("8" * 40, gitops.commit_message("staging", STAGED, RUNNING)))


async def test_an_older_revision_is_refused_before_anything_is_committed(
    engine: FakeEngine, pipeline: Any
) -> None:
    """A late run whose revision does not descend from what staging runs pushes nothing."""
    script(engine, answers={"%H%n%B": RAN, "ancestry": "diverged"})
    with pytest.raises(
        DeployFailedError,
        match=r"runs source revision 999999999999; aaaaaaaaaaaa is not a descendant.*--rollback",
    ):
        await deploy(pipeline, "staging", image=NEW)
    assert pushes(engine) == []
    assert gitops.ancestry(RUNNING, BUILT_FROM) in engine.execs()


async def test_rollback_allows_moving_back_on_purpose(engine: FakeEngine, pipeline: Any) -> None:
    """--rollback skips the ancestry refusal: the older digest is pushed."""
    script(engine, answers={"%H%n%B": RAN, "ancestry": "diverged"})
    assert "staging now runs" in await deploy(pipeline, "staging", image=NEW, rollback=True)
    assert gitops.read_image(written(engine)) == tuple(NEW.split("@"))


async def test_a_descendant_revision_goes_ahead(engine: FakeEngine, pipeline: Any) -> None:
    """The ancestry check runs and, forward, lets the deploy through."""
    script(engine, answers={"%H%n%B": RAN})
    assert "staging now runs" in await deploy(pipeline, "staging", image=NEW)
    ancestry = engine.leaf_where(lambda c: "ancestry" in last_exec(c))
    assert ancestry.seq < pushes(engine)[0].seq


async def test_the_digest_already_there_is_a_no_op(engine: FakeEngine, pipeline: Any) -> None:
    """Deploying what the overlay already names commits nothing."""
    script(engine)
    assert "nothing to commit" in await deploy(pipeline, "staging", image=STAGED)
    assert not any("commit" in " ".join(a) for a in engine.execs())


async def test_when_our_change_was_already_pushed_nothing_is_followed(
    engine: FakeEngine, pipeline: Any
) -> None:
    """After the rebase our commit is gone (someone pushed the same digest): say so, no revert."""
    script(engine, answers={"Deploy-Id": ""})
    said = await deploy(pipeline, "staging", image=NEW, wait=True, argocd_server="https://argocd.acme.io",
                        argocd_token=dag.secret("env://COSIGN_KEY"))  # fmt: skip
    assert "someone pushed it first" in said
    assert not any("revert" in " ".join(a) or "applications" in " ".join(a) for a in engine.execs())


async def test_the_revert_targets_our_commit_found_by_its_deploy_id(
    engine: FakeEngine, pipeline: Any
) -> None:
    """The pushed commit is the one carrying this run's Deploy-Id, not HEAD."""
    ours = "0" * 40
    failed = application(NEW, health="Degraded").replace(HEAD, ours)
    script(engine, answers={"Deploy-Id": ours, "applications": failed})
    with pytest.raises(DeployFailedError, match=r"reverted 000000000000 on main"):
        await deploy(pipeline, "staging", image=NEW, wait=True, argocd_server="https://argocd.acme.io",
                     argocd_token=dag.secret("env://COSIGN_KEY"), wait_seconds=10)  # fmt: skip
    message = commit_message(engine)
    deploy_id = message.split(f"{gitops.DEPLOY_ID}: ")[1].strip()
    assert gitops.ours(deploy_id) in engine.execs()
    assert gitops.reverted(ours, "main")[0] in engine.execs()
    assert not any(HEAD in e for e in engine.execs() if "revert" in e)


ARGO = {"wait": True, "argocd_server": "https://argocd.acme.io"}


@pytest.mark.parametrize(
    ("env", "kwargs", "message"),
    [
        ("prod", {}, "--env must be staging or production"),
        ("staging", {"image": "ghcr.io/acme/hello-api:1.0"}, "--image must be name@sha256:"),
        ("staging", {"image": "ghcr.io/a/b@sha256:abc"}, "--image must be name@sha256:"),
        ("staging", {}, "--address or --image is needed"),
        ("staging", {"image": NEW, "address": TAG}, "--image and --address are exclusive"),
        ("staging", {"image": NEW, "revision": "main"}, "--revision must be a commit"),
        ("staging", {"image": NEW, "wait": True}, "--argocd-server must be an https:// URL"),
        ("staging", {"image": NEW, **ARGO}, "--argocd-token is needed with --argocd-server"),
        ("production", {"image": NEW, **IDENTITY}, "--image applies to staging"),
        ("production", {"wait": True, **IDENTITY}, "--wait applies to staging"),
        ("production", {}, "--public-key or --certificate-identity: give exactly one"),
        ("production", {"production_severity": "CRITICAL", **IDENTITY},
         "--production-severity must be at least as strict as --severity"),
        ("staging", {"image": NEW, "severity": "SEVERE"}, "--severity must be one of"),
        ("staging", {"image": NEW, "source_repository": "git@github.com:a/b.git", **IDENTITY},
         "--source-repository must be an https URL"),
        ("production", {"certificate_identity": "^https://github.com/acme/"},
         r"--certificate-identity must be anchored: start with \^ and end with @refs/heads/main\$"),
        ("production", {"certificate_identity": "https://github.com/acme/x.yml@refs/heads/main$"},
         "--certificate-identity must be anchored"),
        ("production", {"argocd_server": "https://argocd.acme.io", **IDENTITY},
         "--argocd-token is needed with --argocd-server"),
        ("production", {"skip_staging_check": False, **IDENTITY},
         "--argocd-server is needed for production .*--skip-staging-check skips that on purpose"),
        ("staging", {"image": NEW, "skip_staging_check": True},
         "--skip-staging-check applies to production"),
    ],
)  # fmt: skip
async def test_arguments_are_checked_before_anything_runs(
    engine: FakeEngine, pipeline: Any, env: str, kwargs: dict[str, Any], message: str
) -> None:
    """A wrong argument fails naming its flag, before any query: no clone, no push."""
    with pytest.raises(ArgumentError, match=message):
        await deploy(pipeline, env, **kwargs)
    assert queried(engine) == []


async def test_production_needs_argo_cd_or_an_explicit_skip(
    engine: FakeEngine, pipeline: Any
) -> None:
    """Not both: the staging check is asked for, or skipped on purpose; refused before a query."""
    token = dag.secret("env://COSIGN_KEY")
    with pytest.raises(ArgumentError, match="--skip-staging-check and --argocd-server are excl"):
        await deploy(pipeline, "production", **IDENTITY, skip_staging_check=True,
                     argocd_server="https://argocd.acme.io", argocd_token=token)  # fmt: skip
    assert queried(engine) == []


async def test_a_short_wait_is_refused(engine: FakeEngine, pipeline: Any) -> None:
    """--wait-seconds below one poll fails before anything."""
    token = {"argocd_token": dag.secret("env://COSIGN_KEY")}
    with pytest.raises(ArgumentError, match="--wait-seconds must be at least 10"):
        await deploy(pipeline, "staging", image=NEW, **ARGO, **token, wait_seconds=5)
    assert queried(engine) == []


async def test_an_index_without_a_platform_image_is_named_not_a_traceback(
    engine: FakeEngine, pipeline: Any
) -> None:
    """Only attestation manifests in the index: a PipelineError naming the digest, no push."""
    script(engine, answers={"crane manifest": index({"unknown/unknown": AMD64})})
    with pytest.raises(PipelineError, match=f"{NEW} is an index without a platform image"):
        await deploy(pipeline, "staging", image=NEW)
    assert pushes(engine) == []


async def test_a_repository_read_as_an_option_is_refused_before_anything(
    engine: FakeEngine, pipeline: Any
) -> None:
    """--repository=--upload-pack=...: named, before any clone or query."""
    with pytest.raises(ArgumentError, match="--repository must be a Git URL"):
        await pipeline.deploy("staging", "--upload-pack=touch /tmp/pwned",
                              dag.secret("env://REGISTRY_TOKEN"), image=NEW)  # fmt: skip
    assert queried(engine) == []


async def test_production_to_a_non_github_remote_fails_before_pushing(
    engine: FakeEngine, pipeline: Any, tmp_path: Path
) -> None:
    """An ssh URL cannot get a pull request: refused before the verify, the branch, anything."""
    remote = bare_remote(tmp_path)
    with pytest.raises(ArgumentError, match=r"--repository must be https://github\.com/OWNER"):
        await pipeline.deploy("production", "git@github.com:o/n.git",
                              dag.secret("env://REGISTRY_TOKEN"), **IDENTITY)  # fmt: skip
    assert queried(engine) == []
    assert branches(remote) == ["refs/heads/main"]


async def test_the_token_never_reaches_a_request(engine: FakeEngine, pipeline: Any) -> None:
    """Tokens travel as secret IDs: no canary and no plaintext read in any request."""
    script(engine)
    await deploy(pipeline, "staging", address=TAG, password=dag.secret("env://REGISTRY_TOKEN"),
                 username="me")  # fmt: skip
    await deploy(pipeline, "production", **IDENTITY)
    assert engine.called("plaintext") == []
    assert not any(canary in engine.bodies() for canary in CANARIES.values())


async def test_smoke_checks_every_endpoint_in_the_curl_image(
    engine: FakeEngine, pipeline: Any
) -> None:
    """smoke runs the pure check script (retries, timeouts) in the curl image.

    By default what the Ingress serves (the 400 problem of a bad name, no /metrics);
    in_cluster=True the probes and /metrics of a Service URL.
    """
    await pipeline.smoke("https://staging.acme.io")
    bad_name = (
        "check 'https://staging.acme.io/api/v1/greeting?name=%21' 400 application/problem+json"
    )
    leaf = engine.leaf_where(lambda c: bad_name in last_exec(c))
    assert leaf.find("from")[0].args["address"] == images.CURL
    assert "--retry 9" in last_exec(leaf)
    assert "--max-time 5" in last_exec(leaf)
    assert "/metrics" not in last_exec(leaf)
    await pipeline.smoke("https://staging.acme.io", in_cluster=True)
    inside = engine.leaf_where(lambda c: "check https://staging.acme.io/metrics" in last_exec(c))
    assert "check https://staging.acme.io/health/ready" in last_exec(inside)


@pytest.mark.parametrize("name", ["deploy", "smoke"])
def test_deploy_and_smoke_are_never_cached(registered: dict[str, Any], name: str) -> None:
    """A repeated deploy or smoke runs again instead of answering from the cache."""
    function = registered["Pipeline"]["functions"][name]
    assert function["cache"] == "Never"
    assert "env" not in registered["Pipeline"]["constructor"][0]["args"]
    assert name != "deploy" or "env" in function["args"]


def test_the_git_image_is_a_pinned_constructor_argument(registered: dict[str, Any]) -> None:
    """The git image can be mirrored like every other tool image."""
    assert (
        registered["Pipeline"]["constructor"][0]["args"]["git_image"]["defaultValue"]
        == f'"{images.GIT}"'
    )
    assert Path(ROOT / "pipeline/src/pipeline/images.py").read_text().count("alpine/git:v") == 1


# --- notifications: one message per change, failure or revert ---------------------------
HOOK = {"webhook": "env://COSIGN_KEY"}


def posts(engine: FakeEngine) -> list[str]:
    """The bodies of the webhook posts sent, in order (each chain recorded once)."""
    leaves = {
        c.render(): c for c in engine.calls if c.field == "sync" and "$WEBHOOK_URL" in last_exec(c)
    }
    return [
        json.loads(next(f for f in c.find("withNewFile") if f.args["path"] == "/message.json")
                   .args["contents"])["text"]
        for c in leaves.values()
    ]  # fmt: skip


async def notify_deploy(pipeline: Any, env: str, **kwargs: Any) -> str:
    """deploy with a webhook secret."""
    return await deploy(pipeline, env, webhook=dag.secret("env://COSIGN_KEY"), **kwargs)


async def test_a_staging_change_is_posted_once(engine: FakeEngine, pipeline: Any) -> None:
    """The digest, the revision it was built from and the commit; the URL only as a secret."""
    script(engine)
    await notify_deploy(pipeline, "staging", image=NEW)
    assert posts(engine) == [f"deploy staging: {NEW} (built from {BUILT_FROM[:12]}) - commit "
                             f"{HEAD[:12]} on main"]  # fmt: skip
    post = engine.leaf_where(lambda c: "$WEBHOOK_URL" in last_exec(c))
    assert "WEBHOOK_URL" in secret_vars(post)
    assert post.seq > pushes(engine)[-1].seq


async def test_a_production_pull_request_is_posted(engine: FakeEngine, pipeline: Any) -> None:
    """Production's message names the pull request."""
    script(engine)
    await notify_deploy(pipeline, "production", **IDENTITY)
    (text,) = posts(engine)
    assert text.startswith(f"deploy production: {STAGED}")
    assert text.endswith(PULL)


async def test_a_failure_is_posted_once(engine: FakeEngine, pipeline: Any) -> None:
    """A refused promotion posts FAILED with why, then fails."""
    script(engine, answers={"cosign verify": Exception("no matching signatures")})
    with pytest.raises(DeployFailedError):
        await notify_deploy(pipeline, "production", **IDENTITY)
    (text,) = posts(engine)
    assert text.startswith(f"deploy production FAILED for {STAGED}: production refuses")


async def test_a_revert_is_posted_as_such(engine: FakeEngine, pipeline: Any) -> None:
    """A failed rollout that was reverted posts REVERTED with the commit."""
    script(engine, answers={"applications": application(NEW, health="Degraded")})
    with pytest.raises(DeployFailedError, match="reverted"):
        await notify_deploy(pipeline, "staging", image=NEW, wait=True, wait_seconds=10,
                            argocd_server="https://argocd.acme.io",
                            argocd_token=dag.secret("env://COSIGN_KEY"))  # fmt: skip
    (text,) = posts(engine)
    assert text.startswith(f"deploy staging REVERTED {HEAD[:12]} ({NEW})")


async def test_nothing_to_do_posts_nothing(engine: FakeEngine, pipeline: Any) -> None:
    """No change, no message; an argument error posts nothing either (nothing ran)."""
    script(engine)
    await notify_deploy(pipeline, "staging", image=STAGED)
    with pytest.raises(ArgumentError):
        await notify_deploy(pipeline, "staging")
    assert posts(engine) == []


async def test_a_webhook_that_is_down_does_not_undo_the_deploy(
    engine: FakeEngine, pipeline: Any
) -> None:
    """The post fails: the deploy still succeeds and says the webhook failed."""
    script(engine)
    failed = {"_type": "EXEC_ERROR", "cmd": ["sh"], "exitCode": 22, "stdout": "",
              "stderr": "curl: (22) The requested URL returned error: 500"}  # fmt: skip
    engine.answer(lambda c: c.field == "sync" and "$WEBHOOK_URL" in last_exec(c),
                  GraphQLError("exit code: 22", extensions=failed))  # fmt: skip
    said = await notify_deploy(pipeline, "staging", image=NEW)
    assert "staging now runs" in said
    assert "the webhook post failed" in said

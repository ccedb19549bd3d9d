"""Plan of `deploy` and `smoke` through the real dagger-io SDK.

This is a plan check against a fake engine, not an execution: no Dagger engine
can run here. The fake engine validates every query against the real Dagger
schema and records it; the tests script what git, cosign and the APIs would
print (the overlays, HEAD, the verification, the pull request, Argo CD health).
The git commands themselves run against a real repository in tests/k8s/test_gitops_git.py.
"""

from pathlib import Path
from typing import Any

import pytest
from dagger import dag
from pipeline.errors import ArgumentError, DeployFailedError

from pipeline import gitops, images
from tests.k8s.gitops_repo import bare_remote, run
from tests.pipeline.conftest import CANARIES, ROOT
from tests.pipeline.fake_engine import Call, FakeEngine
from tests.pipeline.plan_helpers import CLEAN, argv, script_reports, secret_vars

pytestmark = pytest.mark.anyio
STAGED = "ghcr.io/acme/hello-api@sha256:" + "c" * 64
NEW = "ghcr.io/acme/hello-api@sha256:" + "d" * 64
HEAD = "f" * 40
REPO = "https://github.com/acme/hello-world-api.git"


def overlay(env: str, ref: str = "") -> str:
    """The repository's overlay, deploying `ref` when given."""
    text = (ROOT / gitops.overlay(env)).read_text()
    return gitops.edit(text, ref) or text if ref else text


def last_exec(call: Call) -> str:
    """The last command of a chain, as one string."""
    commands = argv(call)
    return " ".join(commands[-1]) if commands else ""


def script(
    engine: FakeEngine, staging: str = STAGED, answers: dict[str, Any] | None = None
) -> None:
    """Overlays, HEAD, verification and API answers, keyed by a word of the last command."""
    texts = {
        gitops.overlay("staging"): overlay("staging", staging),
        gitops.overlay("production"): overlay("production"),
    }
    engine.answer(
        lambda c: c.field == "contents" and c.parent.args.get("path") in texts,
        lambda c: texts[c.parent.args["path"]],
    )
    for word, value in {"rev-parse": HEAD, "cosign verify": "Verified OK",
                        "pulls": '{"html_url": "https://github.com/acme/hello-world-api/pull/7"}',
                        **(answers or {})}.items():  # fmt: skip
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


async def deploy(pipeline: Any, env: str, **kwargs: Any) -> str:
    """deploy with the repository and a token from a canary secret."""
    return await pipeline.deploy(env, REPO, dag.secret("env://REGISTRY_TOKEN"), **kwargs)


async def test_staging_pushes_the_digest_to_the_branch(engine: FakeEngine, pipeline: Any) -> None:
    """The git image clones main, commits the edited overlay, pushes straight to main."""
    script(engine)
    assert "staging now runs" in await deploy(pipeline, "staging", image=NEW, revision="abc123")
    leaf = pushes(engine)[-1]
    assert leaf.find("from")[0].args["address"] == images.GIT
    assert ["git", "clone", "--single-branch", "--branch", "main", REPO, "/repo"] in argv(leaf)
    assert gitops.push_retrying("main") in argv(leaf)
    written = next(
        c for c in leaf.find("withNewFile") if c.args["path"] == gitops.overlay("staging")
    )
    assert gitops.read_image(written.args["contents"]) == tuple(NEW.split("@"))
    assert "GIT_TOKEN" in secret_vars(leaf)


async def test_staging_without_an_image_publishes_first(engine: FakeEngine, pipeline: Any) -> None:
    """No image: publish (scan, push), then sign, give the digest that is deployed."""
    script(engine)
    script_reports(engine, CLEAN)
    token = dag.secret("env://COSIGN_KEY")
    await deploy(pipeline, "staging", address="ghcr.io/acme/hello-api:1.0", oidc_token=token)
    (publish,) = engine.called("publish")
    sign = engine.leaf_where(lambda c: "exec cosign sign --yes" in last_exec(c))
    assert publish.seq < sign.seq < pushes(engine)[0].seq


async def test_production_verifies_then_opens_a_pull_request(
    engine: FakeEngine, pipeline: Any
) -> None:
    """Staging's digest verified before any push, never built; a branch pushed, a PR opened."""
    script(engine)
    key = dag.host().file(str(ROOT / "dagger.json"))
    assert (await deploy(pipeline, "production", public_key=key)).endswith("/pull/7")
    verify = engine.leaf_where(
        lambda c: f"cosign verify --key /in/cosign.pub {STAGED}" in last_exec(c)
    )
    assert verify.seq < pushes(engine)[0].seq
    assert engine.called("publish") == []
    assert engine.called("dockerBuild") == []
    branch = gitops.pr_branch("production", STAGED.split("@")[1], HEAD)
    assert argv(pushes(engine)[-1])[-1] == ["git", "push", "origin", f"HEAD:refs/heads/{branch}"]
    pull = engine.leaf_where(
        lambda c: "api.github.com/repos/acme/hello-world-api/pulls" in last_exec(c)
    )
    assert "API_TOKEN" in secret_vars(pull)


async def test_production_refuses_an_unsigned_digest(engine: FakeEngine, pipeline: Any) -> None:
    """cosign verify failing stops production before anything is committed or pushed."""
    script(engine, answers={"cosign verify": Exception("no matching signatures")})
    with pytest.raises(DeployFailedError, match=r"production refuses .* did not verify"):
        await deploy(pipeline, "production", certificate_identity="https://github.com/acme/.*")
    assert pushes(engine) == []


async def test_the_digest_already_there_is_a_no_op(engine: FakeEngine, pipeline: Any) -> None:
    """Deploying what the overlay already names commits nothing."""
    script(engine)
    assert "nothing to commit" in await deploy(pipeline, "staging", image=STAGED)
    assert not any("commit" in " ".join(a) for a in engine.execs())


async def test_degraded_rollout_is_reverted_and_fails(engine: FakeEngine, pipeline: Any) -> None:
    """wait follows Argo CD; Degraded pushes a revert of the deploy commit and fails saying so."""
    script(engine, answers={"applications": '{"status": {"health": {"status": "Degraded"}}}'})
    with pytest.raises(DeployFailedError, match=r"Degraded.*reverted f{12} on main"):
        await deploy(pipeline, "staging", image=NEW, wait=True, argocd_server="https://argocd.acme.io",
                     argocd_token=dag.secret("env://COSIGN_KEY"))  # fmt: skip
    assert gitops.reverted(HEAD, "main")[0] in argv(pushes(engine)[-1])


async def test_healthy_rollout_passes(engine: FakeEngine, pipeline: Any) -> None:
    """wait returns once Argo CD reports the Application Healthy."""
    script(engine, answers={"applications": '{"status": {"health": {"status": "Healthy"}}}'})
    await deploy(pipeline, "staging", image=NEW, wait=True, argocd_server="https://argocd.acme.io",
                 argocd_token=dag.secret("env://COSIGN_KEY"))  # fmt: skip
    assert not any("revert" in " ".join(a) for a in engine.execs())


ARGO = {"wait": True, "argocd_server": "https://argocd.acme.io"}
IDENTITY = {"certificate_identity": "^https://github.com/acme/"}


@pytest.mark.parametrize(
    ("env", "kwargs", "message"),
    [
        ("prod", {}, "--env must be staging or production"),
        ("staging", {"image": "ghcr.io/acme/hello-api:1.0"}, "--image must be name@sha256:"),
        ("staging", {"image": "ghcr.io/a/b@sha256:abc"}, "--image must be name@sha256:"),
        ("staging", {}, "--address is needed when no --image"),
        ("staging", {"image": NEW, "wait": True}, "--argocd-server must be an https:// URL"),
        ("staging", {"image": NEW, **ARGO}, "--argocd-token is needed with --wait"),
        ("production", {"image": NEW, **IDENTITY}, "--image applies to staging"),
        ("production", {"wait": True, **IDENTITY}, "--wait applies to staging"),
        ("production", {}, "--public-key or --certificate-identity: give exactly one"),
    ],
)
async def test_arguments_are_checked_before_anything_runs(
    engine: FakeEngine, pipeline: Any, env: str, kwargs: dict[str, Any], message: str
) -> None:
    """A wrong argument fails naming its flag, before any query: no clone, no push."""
    with pytest.raises(ArgumentError, match=message):
        await deploy(pipeline, env, **kwargs)
    assert queried(engine) == []


async def test_a_short_wait_and_two_signers_are_refused(engine: FakeEngine, pipeline: Any) -> None:
    """--wait-seconds below one poll, or a key and a token at once, fail before anything."""
    token = {"argocd_token": dag.secret("env://COSIGN_KEY")}
    with pytest.raises(ArgumentError, match="--wait-seconds must be at least 10"):
        await deploy(pipeline, "staging", image=NEW, **ARGO, **token, wait_seconds=5)
    keys = {"private_key": dag.secret("env://COSIGN_KEY"), "oidc_token": dag.secret("env://X")}
    with pytest.raises(ArgumentError, match="--private-key and --oidc-token are exclusive"):
        await deploy(pipeline, "staging", address="ghcr.io/acme/hello-api", **keys)
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


async def test_staging_publish_is_stamped_with_revision_and_version(
    engine: FakeEngine, pipeline: Any
) -> None:
    """A staging deploy that builds passes --revision and --version to the image it publishes."""
    script(engine)
    script_reports(engine, CLEAN)
    await deploy(pipeline, "staging", address="ghcr.io/acme/hello-api", revision="abc123",
                 version="1.4.0")  # fmt: skip
    (build,) = {c.render(): c for c in engine.calls if c.field == "dockerBuild"}.values()
    stamped = {a["name"]: a["value"] for a in build.args["buildArgs"]}
    assert stamped["GIT_SHA"] == "abc123"
    assert stamped["VERSION"] == "1.4.0"


async def test_the_token_never_reaches_a_request(engine: FakeEngine, pipeline: Any) -> None:
    """Tokens travel as secret IDs: no canary and no plaintext read in any request."""
    script(engine)
    await deploy(pipeline, "staging", image=NEW)
    await deploy(pipeline, "production", certificate_identity="https://github.com/acme/.*")
    assert engine.called("plaintext") == []
    assert not any(canary in engine.bodies() for canary in CANARIES.values())


async def test_smoke_checks_every_endpoint_in_the_curl_image(
    engine: FakeEngine, pipeline: Any
) -> None:
    """smoke runs the pure check script (retries, timeouts) in the curl image."""
    await pipeline.smoke("https://staging.acme.io")
    leaf = engine.leaf_where(lambda c: "check https://staging.acme.io/metrics" in last_exec(c))
    assert leaf.find("from")[0].args["address"] == images.CURL
    assert "--retry 9" in last_exec(leaf)
    assert "--max-time 5" in last_exec(leaf)


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

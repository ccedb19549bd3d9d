"""deploy's pure rules: what runs, only forward, what is promotable, the PR look-up."""

import json

import pytest
from pipeline.errors import ArgumentError, DeployFailedError, PipelineError
from pipeline.inputs import Trust

from pipeline import gitops, platform_api, promotion

REF = "ghcr.io/acme/api@sha256:" + "c" * 64
A, B, C = "a" * 40, "b" * 40, "c" * 40


def history(*records: tuple[str, str]) -> str:
    """`git log` output of gitops.overlay_log, newest first."""
    return "".join(f"{sha}\n{message}\n{gitops.RECORD}\n" for sha, message in records)


def test_the_newest_unreverted_deploy_says_what_runs() -> None:
    """A revert (ours or GitHub's button) hands back the revision before the reverted one."""
    older = ("1" * 40, gitops.commit_message("staging", REF, A))
    newer = ("2" * 40, gitops.commit_message("staging", REF, B))
    revert = ("3" * 40, f'Revert "deploy(staging)"\n\nThis reverts commit {"2" * 40}.\n')
    assert gitops.running_revision(history(newer, older)) == B
    assert gitops.running_revision(history(revert, newer, older)) == A
    assert gitops.running_revision(history(("4" * 40, "k8s: hand edit\n"))) == ""


@pytest.mark.parametrize(
    ("running", "verdict", "rollback", "refused"),
    [("", "", False, False), (A, "descendant", False, False), (A, "diverged", False, True),
     (A, "unknown", False, True), (A, "diverged", True, False), (B, "diverged", False, False)],
)  # fmt: skip
def test_only_forward_unless_rollback(
    running: str, verdict: str, rollback: bool, refused: bool
) -> None:
    """Diverged or unknown is refused naming --rollback; the same revision is no move."""
    why = gitops.forward_only("staging", running, B, verdict, rollback=rollback)
    assert bool(why) == refused
    assert not refused or "--rollback" in why


def test_an_index_lists_its_platform_images_not_attestation_manifests() -> None:
    """Buildx's unknown/unknown entries are no image; a single manifest is itself."""
    manifest = json.dumps({"manifests": [
        {"digest": "sha256:" + "1" * 64, "platform": {"os": "linux", "architecture": "amd64"}},
        {"digest": "sha256:" + "2" * 64, "platform": {"os": "unknown", "architecture": "unknown"}},
    ]})  # fmt: skip
    assert promotion.index_images(REF, manifest) == ["ghcr.io/acme/api@sha256:" + "1" * 64]
    assert promotion.index_images(REF, json.dumps({"layers": []})) == [REF]


def test_an_index_of_attestations_only_is_refused_naming_it() -> None:
    """No platform image: a PipelineError naming the image, not an IndexError later."""
    manifest = json.dumps({"manifests": [
        {"digest": "sha256:" + "2" * 64, "platform": {"os": "unknown", "architecture": "unknown"}},
    ]})  # fmt: skip
    with pytest.raises(PipelineError, match=f"{REF} is an index without a platform image"):
        promotion.index_images(REF, manifest)
    with pytest.raises(PipelineError, match="without a platform image"):
        promotion.index_images(REF, json.dumps({"manifests": []}))


def test_an_image_without_a_commit_label_is_refused() -> None:
    """The Dockerfile's default GIT_SHA=unknown is no revision."""
    labelled = json.dumps({"config": {"Labels": {promotion.REVISION_LABEL: A}}})
    assert promotion.image_revision(REF, labelled) == A
    unknown = json.dumps({"config": {"Labels": {promotion.REVISION_LABEL: "unknown"}}})
    with pytest.raises(DeployFailedError, match="no commit in its"):
        promotion.image_revision(REF, unknown)
    with pytest.raises(DeployFailedError, match="not from --revision"):
        promotion.same_revision(REF, A, B[:7])


def test_staging_must_run_the_digest_synced_and_healthy() -> None:
    """The digest among Argo CD's images, Synced and Healthy; else why not."""
    assert promotion.staging_problem(REF, "Synced", "Healthy", (REF,)) == ""
    assert "does not run it" in promotion.staging_problem(REF, "Synced", "Healthy", ())
    assert "Progressing" in promotion.staging_problem(REF, "Synced", "Progressing", (REF,))


def test_the_open_pull_request_of_a_branch_is_found() -> None:
    """GET pulls?state=open&head=OWNER:branch; the first one's address, or none."""
    url = platform_api.open_pulls_url("https://github.com/acme/api.git", "deploy/x")
    assert url == "https://api.github.com/repos/acme/api/pulls?state=open&head=acme:deploy/x"
    assert platform_api.existing_pr('[{"html_url": "https://github.com/acme/api/pull/3"}]')
    assert platform_api.existing_pr("[]") == ""


@pytest.mark.parametrize(
    "url",
    ["https://github.com/acme/api.git", "ssh://git@github.com/acme/api.git",
     "git@github.com:acme/api.git", "git://example.com/api.git", "file:///srv/api.git",
     "/tmp/remote.git"],
)  # fmt: skip
def test_a_git_url_or_absolute_path_is_a_repository(url: str) -> None:
    """What git reads as a repository, never as an option."""
    assert gitops.require_repository(url) == url


@pytest.mark.parametrize(
    "url",
    ["", " ", "--upload-pack=touch /tmp/pwned", "-u", "http://github.com/acme/api.git",
     "ftp://example.com/api.git", "relative/path", "https://github.com/acme/api .git"],
)  # fmt: skip
def test_anything_else_is_refused_naming_repository(url: str) -> None:
    """A leading `-` (an option to git), plain http (the token in clear), no scheme."""
    with pytest.raises(ArgumentError, match="--repository must be a Git URL"):
        gitops.require_repository(url)


def test_the_clone_ends_its_options_before_the_url() -> None:
    """`--` before the URL: even an unchecked `-x` is a repository to git."""
    argv = gitops.clone("-x", "main", "/repo")
    assert argv[-3:] == ["--", "-x", "/repo"]


@pytest.mark.parametrize(
    "identity",
    ["^https://github.com/acme/api/.github/workflows/ci.yml@",
     "https://github.com/acme/api/.github/workflows/ci.yml@refs/heads/main$",
     "^https://github.com/acme/api/.github/workflows/ci.yml@refs/heads/.*$"],
)  # fmt: skip
def test_production_trusts_only_an_identity_pinned_to_the_branch(identity: str) -> None:
    """Anchored at both ends, ending with @refs/heads/<branch>$."""
    with pytest.raises(ArgumentError, match="--certificate-identity must be anchored"):
        Trust(identity=identity).check_pinned("https://github.com/acme/api", "main")
    pinned = r"^https://github\.com/acme/api/\.github/workflows/ci\.yml@refs/heads/main$"
    Trust(identity=pinned).check_pinned("https://github.com/acme/api", "main")

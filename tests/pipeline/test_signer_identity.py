"""Production's keyless identity regexp: ci.yml on main of this repository, nothing else.

Pure: the regexps are read with Python's `re` (cosign reads them with Go's RE2; both
agree on what an identity needs: anchors, escapes, classes, alternation).
"""

import re

import pytest
from pipeline.errors import ArgumentError
from pipeline.inputs import Trust

from pipeline import signer_identity

REPO = "https://github.com/acme/hello-world-api.git"
EXPECTED = "https://github.com/acme/hello-world-api/.github/workflows/ci.yml@refs/heads/main"
PINNED = r"^https://github\.com/acme/hello-world-api/\.github/workflows/ci\.yml@refs/heads/main$"


def test_the_expected_identity_comes_from_the_repository_and_branch() -> None:
    """ci.yml of OWNER/NAME (the clone URL's .git dropped) on refs/heads/BRANCH."""
    assert signer_identity.expected(REPO, "main") == EXPECTED
    assert signer_identity.expected("https://github.com/acme/api", "release").endswith(
        "/acme/api/.github/workflows/ci.yml@refs/heads/release"
    )


def test_the_near_misses_are_each_another_identity() -> None:
    """Other owner, repository, branch, a tag, a PR ref, another workflow, prefix, suffix."""
    misses = signer_identity.near_misses(EXPECTED)
    assert EXPECTED not in misses
    fragments = ["/evil/hello-world-api/", "/acmex/", "/hello-world-apix/", "deploy.yml",
                 "@refs/heads/evil", "@refs/heads/mainx", "@refs/tags/main",
                 "@refs/pull/1/merge", "https://githubxcom/", "/cixyml@"]  # fmt: skip
    for fragment in fragments:
        assert any(fragment in miss for miss in misses), fragment
    assert f"x{EXPECTED}" in misses
    assert f"{EXPECTED}x" in misses


@pytest.mark.parametrize(
    "regexp",
    [PINNED, r"^https://github\.com/acme/hello-world-api/\.github/workflows/(ci)\.yml@refs/heads/main$",
     r"^https://github\.com/acme/hello-world-api/\.github/workflows/ci[.]yml@refs/heads/main$"],
)  # fmt: skip
def test_a_pinned_regexp_is_accepted(regexp: str) -> None:
    """It matches the expected identity and none of the near misses."""
    signer_identity.check(regexp, REPO, "main")
    Trust(identity=regexp).check_pinned(REPO, "main")


@pytest.mark.parametrize(
    ("regexp", "why"),
    [
        (r"^.*@refs/heads/main$", "also matches"),
        (r"^.*|x@refs/heads/main$", "also matches"),
        (r"^https://github\.com/.*/hello-world-api/\.github/workflows/ci\.yml@refs/heads/main$",
         "also matches 'https://github.com/evil/"),
        (r"^https://github\.com/acme/.*@refs/heads/main$", "also matches"),
        (r"^https://github\.com/acme/hello-world-api/\.github/workflows/.*@refs/heads/main$",
         "deploy.yml"),
        (r"^https://github.com/acme/hello-world-api/.github/workflows/ci.yml@refs/heads/main$",
         r"escape each '\.'"),
        (r"^https://github\.com/acme/hello-world-api/\.github/workflows/(ci|deploy)\.yml@refs/heads/main$",
         "deploy.yml"),
        (r"^(https://github\.com/acme/hello-world-api/\.github/workflows/ci\.yml|.*)@refs/heads/main$",
         "also matches"),
        (r"^https://github\.com/acme/other/\.github/workflows/ci\.yml@refs/heads/main$",
         "must match the identity of ci.yml on main"),
        (r"^[https://github\.com/acme/hello-world-api/\.github/workflows/ci\.yml@refs/heads/main$",
         "is not a regexp"),
    ],
)  # fmt: skip
def test_a_loose_or_wrong_regexp_is_refused_naming_the_flag(regexp: str, why: str) -> None:
    """Named as --certificate-identity, saying which other identity it would trust."""
    with pytest.raises(ArgumentError, match=f"--certificate-identity .*{why}"):
        Trust(identity=regexp).check_pinned(REPO, "main")


def test_every_near_miss_is_refused_by_python_re_too() -> None:
    """The accepted regexp, read by `re` as cosign would search: only the expected identity."""
    assert re.search(PINNED, EXPECTED)
    for miss in signer_identity.near_misses(EXPECTED):
        assert not re.search(PINNED, miss), miss


def test_a_source_repository_off_github_is_named() -> None:
    """The keyless identity is a GitHub workflow's: another host cannot be pinned."""
    with pytest.raises(ArgumentError, match=r"--source-repository must be https://github\.com/"):
        Trust(identity=PINNED).check_pinned("https://gitlab.com/acme/api", "main")

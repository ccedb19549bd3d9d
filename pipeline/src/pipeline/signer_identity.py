"""Whose keyless signature production trusts: ci.yml on one branch of one repository.

cosign checks `--certificate-identity-regexp` with Go's regexp.MatchString: a search,
so only ^ and $ pin it, and an unescaped `.` matches any character. The regexp stays
a regexp (one option for `verify`, `verify-policy` and `deploy`), but for production
it is checked here, pure, against the identity it must trust and the identities it
must not: derived from the source repository and the branch, so that
`^.*@refs/heads/main$` (any repository) or `^.*|x@refs/heads/main$` (an alternation
that matches anything) are refused, naming --certificate-identity, before any query.
Python's `re` reads these regexps as RE2 does (no back-references or look-arounds are
needed to pin an identity; a regexp Python cannot read is refused too).
"""

import re

from pipeline.errors import ArgumentError

SIGNER_WORKFLOW = ".github/workflows/ci.yml"
_GITHUB = re.compile(r"(https://github\.com)/([\w.-]+)/([\w.-]+?)(?:\.git)?/?")


def expected(repository: str, branch: str) -> str:
    """The identity of ci.yml run on `branch` of the GitHub `repository` (its clone URL)."""
    match = _GITHUB.fullmatch(repository)
    if match is None:
        problem = "must be https://github.com/OWNER/NAME: the keyless signer is its ci.yml"
        raise ArgumentError("source_repository", f"{problem}, got {repository!r}")
    server, owner, name = match.groups()
    return f"{server}/{owner}/{name}/{SIGNER_WORKFLOW}@refs/heads/{branch}"


def near_misses(identity: str) -> list[str]:
    """Identities one step away from `identity` that a pinned regexp must not match.

    Another owner or repository, another branch (or one that starts or ends like it),
    a tag, a pull request's ref, another workflow, a prefix or suffix, another server,
    and each `.` replaced (an unescaped dot).
    """
    repository, _, ref = identity.partition(f"/{SIGNER_WORKFLOW}@")
    server_owner, _, name = repository.rpartition("/")
    server, _, owner = server_owner.rpartition("/")
    branch = ref.removeprefix("refs/heads/")
    signer = f"/{SIGNER_WORKFLOW}@"
    misses = [
        f"{server}/evil/{name}{signer}{ref}",
        f"{server}/{owner}x/{name}{signer}{ref}",
        f"{server}/{owner}/{name}x{signer}{ref}",
        f"{server}/{owner}/x{name}{signer}{ref}",
        f"{repository}/.github/workflows/deploy.yml@{ref}",
        f"{repository}{signer}refs/heads/evil",
        f"{repository}{signer}refs/heads/{branch}x",
        f"{repository}{signer}refs/heads/x{branch}",
        f"{repository}{signer}refs/tags/{branch}",
        f"{repository}{signer}refs/pull/1/merge",
        f"x{identity}",
        f"{identity}x",
        f"https://evil.example/{identity}",
        identity.replace(server, server + ".evil.example", 1),
    ]
    dots = [i for i, c in enumerate(identity) if c == "."]
    return misses + [identity[:i] + "x" + identity[i + 1 :] for i in dots]


def check(regexp: str, repository: str, branch: str) -> None:
    """Refuse a regexp that misses ci.yml on `branch` of `repository`, or matches another."""
    identity = expected(repository, branch)
    try:
        pattern = re.compile(regexp)
    except re.error as exc:
        raise ArgumentError("certificate_identity", f"is not a regexp ({exc})") from exc
    if not pattern.search(identity):
        problem = f"must match the identity of ci.yml on {branch}, {identity!r}"
        raise ArgumentError("certificate_identity", f"{problem}; got {regexp!r}")
    loose = [miss for miss in near_misses(identity) if pattern.search(miss)]
    if loose:
        problem = f"must trust only {identity!r} (escape each '.'); it also matches {loose[0]!r}"
        raise ArgumentError("certificate_identity", problem)

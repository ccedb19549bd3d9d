"""The verification policy for one digest, judged from what cosign printed (pure).

`verify-policy` runs three kinds of `cosign verify*` (pipeline.attestations builds
them and reads what they print) and hands their outcomes to `evaluate`, which
checks, for that one digest:

- `signature`: cosign verified a signature by the trusted key or identity;
- `sbom`: a verified SPDX attestation (the type `ci` attaches) on each platform image;
- `provenance`: a verified SLSA v1 provenance attestation of this module's build type;
- `provenance-subject`: the statement's subject is this very digest (an attestation
  copied from another image verifies as a signature, but describes something else);
- `provenance-repository`: the provenance names the expected source repository;
- `provenance-branch`: built from the protected branch (production only), from the
  revision named by its own source, and from `revision` when one is expected.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pipeline.attestations import (
    PROVENANCE_TYPE,
    SBOM_TYPE,
    Outcome,
    about,
    as_dict,
    digest_of,
    statements,
    subject_digests,
)
from pipeline.errors import ArgumentError, PipelineError
from pipeline.provenance import BUILD_TYPE, https_url

CHECKS = (
    "signature",
    "sbom",
    "provenance",
    "provenance-subject",
    "provenance-repository",
    "provenance-branch",
)
_PROVENANCE_CHECKS = CHECKS[3:]


class PolicyFailedError(PipelineError):
    """The digest failed the verification policy; the message is the report."""


@dataclass(frozen=True)
class Expectations:
    """What the provenance must say: who built the digest, from which branch."""

    repository: str
    """The source repository's https URL that must have built the image."""
    branch: str = "main"
    """The protected branch production images come from."""
    revision: str = ""
    """The commit the image must be built from (or its prefix), when the caller knows it."""
    env: str = "production"
    """production enforces the branch; staging accepts any branch of the repository."""

    def check(self) -> None:
        """Raise ArgumentError naming the flag that cannot express a policy."""
        https_url(self.repository, "source_repository")
        if not self.branch.strip() or self.branch.startswith("refs/"):
            raise ArgumentError(
                "branch", f"must be a branch name such as main, got {self.branch!r}"
            )
        if self.env not in ("staging", "production"):
            raise ArgumentError("env", f"must be staging or production, got {self.env!r}")


@dataclass(frozen=True)
class Check:
    """One rule of the policy and its verdict."""

    name: str
    passed: bool
    detail: str


@dataclass(frozen=True)
class PolicyReport:
    """Every check on one digest; it passes only when all of them do."""

    image: str
    checks: tuple[Check, ...]
    images: tuple[str, ...] = ()
    """The platform images (repository@sha256:...) whose SBOM attestation was checked."""

    @property
    def passed(self) -> bool:
        """True when every check passed."""
        return all(check.passed for check in self.checks)

    @property
    def failed(self) -> list[str]:
        """The names of the failed checks, in policy order."""
        return [check.name for check in self.checks if not check.passed]

    def render(self) -> str:
        """The short report: the verdict, then one line per check."""
        verdict = "passed" if self.passed else f"FAILED ({', '.join(self.failed)})"
        rows = [f"  {'ok' if c.passed else 'FAILED'} {c.name}: {c.detail}" for c in self.checks]
        return "\n".join([f"verify-policy {verdict} for {self.image}", *rows])

    def brief(self) -> str:
        """One line for a passing report: every check's name."""
        return f"verify-policy passed ({', '.join(c.name for c in self.checks)})"

    def or_raise(self) -> str:
        """The report when it passed; otherwise PolicyFailedError naming each failed check."""
        if not self.passed:
            raise PolicyFailedError(self.render())
        return self.render()


def evaluate(
    image: str,
    expect: Expectations,
    signature: Outcome,
    sboms: Mapping[str, Outcome],
    provenance: Outcome,
) -> PolicyReport:
    """Judge the three cosign outcomes for `image` (its SBOMs: one per platform image)."""
    checks = [_signature(signature), _sbom(sboms), *_provenance(image, expect, provenance)]
    return PolicyReport(image, tuple(checks), tuple(sboms))


def _signature(outcome: Outcome) -> Check:
    if outcome.exit_code != 0:
        return Check("signature", False, f"no signature by the trusted signer ({outcome.why})")
    return Check("signature", True, "signed by the trusted signer")


def _sbom(outcomes: Mapping[str, Outcome]) -> Check:
    missing = [
        f"{ref} ({outcome.why if outcome.exit_code else 'attested for another digest'})"
        for ref, outcome in outcomes.items()
        if outcome.exit_code != 0 or not about(statements(outcome, SBOM_TYPE), digest_of(ref))
    ]
    if missing or not outcomes:
        return Check("sbom", False, "no verified SPDX SBOM attestation for " + "; ".join(missing))
    return Check("sbom", True, f"verified SPDX SBOM attestation on {len(outcomes)} image(s)")


def _provenance(image: str, expect: Expectations, outcome: Outcome) -> list[Check]:
    if outcome.exit_code != 0:
        detail = f"no verified SLSA v1 provenance attestation ({outcome.why})"
        return [Check("provenance", False, detail), *_unchecked("no verified provenance")]
    ours = [s for s in statements(outcome, PROVENANCE_TYPE) if _build_type(s) == BUILD_TYPE]
    if not ours:
        detail = f"verified provenance, but none of build type {BUILD_TYPE}"
        return [Check("provenance", False, detail), *_unchecked("no provenance of ours")]
    found = Check("provenance", True, f"verified SLSA v1 provenance ({len(ours)} statement(s))")
    mine = about(ours, digest_of(image))
    if not mine:
        subjects = sorted({d for s in ours for d in subject_digests(s)})
        detail = f"provenance describes {', '.join(subjects)}, not {digest_of(image)}"
        return [found, Check("provenance-subject", False, detail), *_unchecked(detail)[1:]]
    subject = Check("provenance-subject", True, f"subject is {digest_of(image)}")
    return [found, subject, *_source_checks(mine, expect)]


def _unchecked(reason: str) -> list[Check]:
    return [Check(name, False, f"not checked: {reason}") for name in _PROVENANCE_CHECKS]


def _source_checks(candidates: list[dict[str, Any]], expect: Expectations) -> list[Check]:
    """The repository, then the branch and revision, of the statements about this digest."""
    wanted = normal_repository(expect.repository)
    sources = [_source(s) for s in candidates]
    ours = [s for s in sources if normal_repository(s.get("repository", "")) == wanted]
    if not ours:
        named = sorted({str(s.get("repository", "?")) for s in sources})
        detail = f"built from {', '.join(named)}, not {expect.repository}"
        return [Check("provenance-repository", False, detail), _branch_unchecked()]
    repository = Check("provenance-repository", True, f"built from {expect.repository}")
    return [repository, _branch(ours, expect)]


def _branch_unchecked() -> Check:
    return Check("provenance-branch", False, "not checked: not built from the repository")


def _branch(sources: list[dict[str, Any]], expect: Expectations) -> Check:
    ref = f"refs/heads/{expect.branch}"
    problems = [_source_problem(s, ref, expect) for s in sources]
    if "" in problems:
        at = next(s for s, p in zip(sources, problems, strict=True) if not p)
        return Check("provenance-branch", True, f"{at['ref']} at {at['revision']}")
    return Check("provenance-branch", False, "; ".join(problems))


def _source_problem(source: dict[str, Any], ref: str, expect: Expectations) -> str:
    """Why one statement's source is not acceptable; "" when it is."""
    if expect.env == "production" and source.get("ref") != ref:
        return f"built from {source.get('ref', 'no ref')}, not the protected {ref}"
    if not source.get("commit") or source.get("commit") != source.get("revision"):
        return "the source commit and the resolved git dependency disagree"
    if expect.revision and not str(source.get("revision")).startswith(expect.revision):
        return f"built from {source.get('revision')}, not the expected {expect.revision}"
    return ""


def _source(statement: dict[str, Any]) -> dict[str, Any]:
    """externalParameters.source, plus the gitCommit of the resolved source dependency."""
    definition = as_dict(as_dict(statement.get("predicate")).get("buildDefinition"))
    source = dict(as_dict(as_dict(definition.get("externalParameters")).get("source")))
    git_uri = f"git+{source.get('repository', '')}@{source.get('ref', '')}"
    for dependency in definition.get("resolvedDependencies") or []:
        if as_dict(dependency).get("uri") == git_uri:
            source["commit"] = as_dict(dependency.get("digest")).get("gitCommit")
    return source


def _build_type(statement: dict[str, Any]) -> object:
    return as_dict(as_dict(statement.get("predicate")).get("buildDefinition")).get("buildType")


def normal_repository(url: str) -> str:
    """A repository URL compared loosely: host case, a trailing slash or .git do not matter."""
    scheme, _, rest = str(url).strip().partition("://")
    host, _, path = rest.partition("/")
    return f"{scheme.lower()}://{host.lower()}/{path.rstrip('/').removesuffix('.git')}"

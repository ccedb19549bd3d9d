"""A function's arguments, grouped by what they mean, and checked before any side effect.

The Dagger CLI needs flat arguments; the steps take these groups instead. Each
`check()` raises ArgumentError naming the flag a user types, and `deploy` and `ci`
run every check before their first query: a bad argument leaves no stray branch,
no image nobody deploys. Pure: no engine is needed to build or check them.
"""

from dataclasses import dataclass, field

import dagger

from pipeline import gitops, platform_api, signer_identity
from pipeline.errors import ArgumentError
from pipeline.policy import DEFAULT_SEVERITY, environment_threshold
from pipeline.provenance import check_source
from pipeline.verification import Expectations

GITHUB_ISSUER = "https://token.actions.githubusercontent.com"
# The Argo CD poll interval; a wait shorter than one poll could never see a result.
POLL_SECONDS = 10


@dataclass(frozen=True)
class Login:
    """Registry credentials: a user name and a secret password (none: anonymous)."""

    username: str = ""
    password: dagger.Secret | None = None

    def check(self) -> None:
        """A password needs the user it belongs to."""
        if self.password is not None and not self.username:
            raise ArgumentError("username", "is required when --password is given")


@dataclass(frozen=True)
class Keys:
    """How to sign: a key pair (key, its password) or keyless (an OIDC token)."""

    private_key: dagger.Secret | None = None
    key_password: dagger.Secret | None = None
    oidc_token: dagger.Secret | None = None

    @property
    def given(self) -> bool:
        """True when a key or a token was given: the caller asked for signing."""
        return self.private_key is not None or self.oidc_token is not None

    def check(self) -> None:
        """Not both a key and a token."""
        if self.private_key is not None and self.oidc_token is not None:
            raise ArgumentError("private_key", "and --oidc-token are exclusive: sign one way")

    def keyless(self) -> bool:
        """True for keyless signing; exactly one of key and token must be given."""
        if not self.given:
            raise ArgumentError("private_key", "or --oidc-token: give exactly one to sign")
        self.check()
        return self.oidc_token is not None


@dataclass(frozen=True)
class Trust:
    """Whose signature `verify` accepts: a public key, or a keyless identity and issuer."""

    public_key: dagger.File | None = None
    identity: str = ""
    issuer: str = GITHUB_ISSUER

    @property
    def given(self) -> bool:
        """True when a key or an identity was given: the caller asked for verification."""
        return self.public_key is not None or bool(self.identity)

    def check(self) -> None:
        """Exactly one way to trust."""
        if (self.public_key is not None) == bool(self.identity):
            raise ArgumentError("public_key", "or --certificate-identity: give exactly one")

    def check_pinned(self, repository: str, branch: str) -> None:
        """A keyless identity that trusts ci.yml of `repository` run on `branch`, nothing else.

        `^https://github.com/ORG/REPO/.github/workflows/ci.yml@` alone would also trust
        a signature made by that workflow on any other branch or tag; `^.*@refs/heads/main$`
        any repository's. Anchored at both ends, then checked against the expected identity
        and its near misses (pipeline.signer_identity).
        """
        self.check()
        if not self.identity:
            return
        end = f"@refs/heads/{branch}$"
        if not (self.identity.startswith("^") and self.identity.endswith(end)):
            problem = f"must be anchored: start with ^ and end with {end} (a workflow on {branch})"
            raise ArgumentError("certificate_identity", f"{problem}, got {self.identity!r}")
        signer_identity.check(self.identity, repository, branch)


@dataclass(frozen=True)
class Stamp:
    """What a built image is labelled with (the Dockerfile's build arguments)."""

    version: str = "dev"
    revision: str = ""
    created: str = ""
    source_url: str = ""


@dataclass(frozen=True)
class Origin:
    """What a provenance says a build came from: the stamp, its platforms, git ref and CI run."""

    stamp: Stamp
    platforms: list[str] = field(default_factory=list)
    ref: str = ""
    run_url: str = ""

    def check(self) -> None:
        """The flags the provenance copies; an empty revision or ref is read from the checkout."""
        check_source(self.stamp.source_url, self.stamp.revision, self.ref, self.run_url)


@dataclass(frozen=True)
class Gate:
    """The severity gate's settings: `ci`'s threshold and production promotion's."""

    severity: str = DEFAULT_SEVERITY
    ignore_unfixed: bool = True
    production_severity: str = ""
    """Empty: MEDIUM, or `severity` when that is stricter; never laxer than `severity`."""

    def check(self) -> None:
        """Both thresholds are severities, and production's is not the laxer one."""
        self.threshold("production")

    def threshold(self, env: str) -> str:
        """The threshold an environment's gate fails at (production: the stricter one)."""
        return environment_threshold(env, self.severity, self.production_severity)

    def for_env(self, env: str) -> "Gate":
        """The gate as it applies in `env`: its threshold as the severity."""
        return Gate(self.threshold(env), self.ignore_unfixed)


@dataclass(frozen=True)
class Follow:
    """`deploy --wait`: the Argo CD to ask, its token, and how long the rollout may take."""

    server: str = ""
    token: dagger.Secret | None = None
    seconds: int = 900

    def check(self) -> None:
        """An https server, a token, and at least one poll's time."""
        platform_api.application_url(self.server, "any")
        if self.token is None:
            raise ArgumentError("argocd_token", "is needed with --argocd-server")
        if self.seconds < POLL_SECONDS:
            raise ArgumentError("wait_seconds", f"must be at least {POLL_SECONDS} (one poll)")


@dataclass(frozen=True)
class DeployRequest:
    """Everything `deploy` was asked to do."""

    env: str
    repository: str
    token: dagger.Secret
    branch: str = "main"
    revision: str = ""
    image: str = ""
    address: str = ""
    login: Login = field(default_factory=Login)
    trust: Trust = field(default_factory=Trust)
    argocd: Follow | None = None
    wait: bool = False
    rollback: bool = False
    webhook: dagger.Secret | None = None
    source_repository: str = ""
    gate: Gate = field(default_factory=Gate)
    skip_staging_check: bool = False
    """Production without asking Argo CD whether staging runs the digest (on purpose)."""

    @property
    def policy(self) -> Expectations | None:
        """What the provenance must say: always for production, for staging with a trust.

        The source repository defaults to --repository (manifests and source together).
        """
        if self.env != "production" and not self.trust.given:
            return None
        source = self.source_repository or self.repository
        return Expectations(source, self.branch, self.revision, self.env)

    @property
    def follow(self) -> Follow | None:
        """What `--wait` follows (staging only); None without --wait."""
        return self.argocd if self.wait else None

    def check(self) -> None:
        """Raise ArgumentError naming the first flag that cannot work."""
        env = gitops.require_env(self.env)
        gitops.require_repository(self.repository)
        if self.revision and not gitops.is_commit(self.revision):
            problem = "must be a commit (7 to 40 lower-case hex digits)"
            raise ArgumentError("revision", f"{problem}, got {self.revision!r}")
        self.login.check()
        if env == "production":
            self._check_production()
        else:
            self._check_staging()
        if self.argocd is not None:
            self.argocd.check()
        if self.policy is not None:
            self.policy.check()
        self.gate.check()
        self._check_staging_gate(env)

    def _check_staging_gate(self, env: str) -> None:
        """Production asks Argo CD whether staging runs the digest, unless told not to.

        Without this an unset ARGOCD_SERVER in the workflow would drop the check silently.
        """
        if env != "production":
            if self.skip_staging_check:
                raise ArgumentError("skip_staging_check", "applies to production")
            return
        if self.skip_staging_check and self.argocd is not None:
            problem = "and --argocd-server are exclusive: check staging's health, or skip it"
            raise ArgumentError("skip_staging_check", problem)
        if not self.skip_staging_check and self.argocd is None:
            problem = (
                "is needed for production (with --argocd-token): it checks that staging runs "
                "the digest Synced and Healthy; --skip-staging-check skips that on purpose"
            )
            raise ArgumentError("argocd_server", problem)

    def _check_production(self) -> None:
        for name, given in (("image", self.image), ("address", self.address)):
            if given:
                raise ArgumentError(name, "applies to staging; production promotes what it runs")
        if self.wait:
            raise ArgumentError("wait", "applies to staging; production lands with its PR")
        platform_api.pulls_url(self.repository)
        self.trust.check_pinned(self.source_repository or self.repository, self.branch)

    def _check_staging(self) -> None:
        if self.image and self.address:
            problem = "and --address are exclusive: a digest, or the tag to resolve"
            raise ArgumentError("image", problem)
        if self.image:
            gitops.split_ref(self.image)
        elif not self.address.strip():
            problem = "or --image is needed: the tag `ci` published, or a digest"
            raise ArgumentError("address", problem)
        if self.trust.given:
            self.trust.check()
        if self.wait and self.argocd is None:
            raise ArgumentError("argocd_server", "must be an https:// URL, got ''")


@dataclass(frozen=True)
class CiRequest:
    """Everything `ci` was asked to do."""

    address: str = ""
    platforms: list[str] = field(default_factory=list)
    login: Login = field(default_factory=Login)
    keys: Keys = field(default_factory=Keys)
    stamp: Stamp = field(default_factory=Stamp)
    gate: Gate = field(default_factory=Gate)
    run_url: str = ""
    webhook: dagger.Secret | None = None
    source_ref: str = ""

    @property
    def attests_provenance(self) -> bool:
        """True when `ci` publishes and signs: then it attests the SLSA provenance too."""
        return bool(self.address) and self.keys.given

    def origin(self, stamp: Stamp) -> Origin:
        """What this run's provenance describes, once the revision is known (`stamp`)."""
        return Origin(stamp, self.platforms, self.source_ref, self.run_url)

    def check(self) -> None:
        """The gate's severities, the login, the signers, and what the provenance will name."""
        self.gate.check()
        self.login.check()
        self.keys.check()
        if self.attests_provenance:
            self.origin(self.stamp).check()

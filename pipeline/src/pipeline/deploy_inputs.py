"""Everything `deploy` checks before its first side effect (pure).

A deploy that clones, publishes or pushes before it finds a bad argument leaves
debris: a stray branch, an image nobody deploys. So every argument is checked here,
first, and each message names the flag a user types.
"""

from dataclasses import dataclass

from pipeline import gitops, platform_api
from pipeline.errors import ArgumentError

# The Argo CD poll interval; a wait shorter than one poll could never see a result.
POLL_SECONDS = 10


@dataclass(frozen=True, slots=True)
class DeployInputs:
    """What decides whether a deploy may start (secrets only as present or absent)."""

    env: str
    repository: str
    image: str = ""
    address: str = ""
    private_key: bool = False
    oidc_token: bool = False
    public_key: bool = False
    certificate_identity: str = ""
    wait: bool = False
    argocd_server: str = ""
    argocd_token: bool = False
    wait_seconds: int = 900

    def check(self) -> None:
        """Raise ArgumentError naming the first flag that cannot work."""
        env = gitops.require_env(self.env)
        if not self.repository.strip():
            raise ArgumentError("repository", "must name the Git repository Argo CD follows")
        if env == "production":
            self._check_production()
        else:
            self._check_staging()

    def _check_production(self) -> None:
        for name, given in (("image", self.image), ("address", self.address)):
            if given:
                raise ArgumentError(name, "applies to staging; production promotes what it runs")
        if self.wait:
            raise ArgumentError("wait", "applies to staging; production lands with its PR")
        if self.public_key == bool(self.certificate_identity):
            raise ArgumentError("public_key", "or --certificate-identity: give exactly one")
        platform_api.pulls_url(self.repository)

    def _check_staging(self) -> None:
        if self.image:
            gitops.split_ref(self.image)
        elif not self.address.strip():
            raise ArgumentError("address", "is needed when no --image is given (what to publish)")
        if self.private_key and self.oidc_token:
            raise ArgumentError("private_key", "and --oidc-token are exclusive: sign one way")
        if self.wait:
            self._check_wait()

    def _check_wait(self) -> None:
        platform_api.application_url(self.argocd_server, "any")
        if not self.argocd_token:
            raise ArgumentError("argocd_token", "is needed with --wait")
        if self.wait_seconds < POLL_SECONDS:
            raise ArgumentError("wait_seconds", f"must be at least {POLL_SECONDS} (one poll)")

"""The main object: its options, declared once, and every function, each a few lines.

The work lives in `pipeline.steps` (one small object per concern, given a Toolbox);
the decisions in the pure modules. Functions here only group their arguments,
hand them over, and say what they return: finding `publish` means reading this file.
"""

from typing import Annotated

import dagger
from dagger import DefaultPath, Doc, Ignore, check, enum_type, function, object_type

from pipeline import gitops, images, own_tests
from pipeline.arguments import (
    Address,
    ArgoServer,
    ArgoToken,
    Attempts,
    Branch,
    CiAddress,
    Created,
    DbPassword,
    DeployImage,
    DeployWebhook,
    FulcioUrl,
    GolangImage,
    Identity,
    IgnoreUnfixed,
    Image,
    InCluster,
    Issuer,
    KeyPassword,
    NoTlog,
    OidcToken,
    Platform,
    Platforms,
    PolicySource,
    PrivateKey,
    ProductionSeverity,
    ProtectedBranch,
    PublicKey,
    RegistryPassword,
    RegistryUser,
    RekorUrl,
    ReleaseTag,
    Repository,
    RequestSeconds,
    Revision,
    Rollback,
    RunUrl,
    Sbom,
    Severity,
    SkipStagingCheck,
    SourceRef,
    SourceRepository,
    SourceRevision,
    SourceUrl,
    Token,
    TrivyDbRepository,
    TrivyIgnore,
    TrivyJavaDbRepository,
    TrivySkipDbUpdate,
    TrustedRoot,
    Url,
    Version,
    Wait,
    WaitSeconds,
    Webhook,
)  # fmt: skip
from pipeline.commands import TrivyDb
from pipeline.inputs import (
    GITHUB_ISSUER,
    CiRequest,
    DeployRequest,
    Follow,
    Gate,
    Keys,
    Login,
    Origin,
    Stamp,
    Trust,
)  # fmt: skip
from pipeline.source import SOURCE_IGNORE
from pipeline.steps.checks import Checks
from pipeline.steps.ci import Ci
from pipeline.steps.delivery import Delivery
from pipeline.steps.image import ImageBuilder
from pipeline.steps.provenance import Provenance
from pipeline.steps.scanner import Scanner, passed_or_raise
from pipeline.steps.signing import Signer
from pipeline.steps.verifier import Verifier
from pipeline.toolbox import Images, Toolbox
from pipeline.verification import Expectations

Environment = enum_type(gitops.Environment)


def _image(name: str) -> object:
    return Doc(f"{name} image; override to use a private mirror.")


@object_type
class Pipeline:
    """Test, build, scan, SBOM, publish, sign, verify and deploy a Python service."""

    source: Annotated[
        dagger.Directory,
        Doc("The service repository; omitted: this one (allowlisted files only)."),
        DefaultPath("/"),
        Ignore(SOURCE_IGNORE),
    ]
    git: Annotated[
        dagger.GitRef | None,
        Doc("The source's checkout; its commit is the revision when none is given."),
        DefaultPath("./.git"),
    ] = None
    python_image: Annotated[str, _image("Python")] = images.PYTHON
    postgres_image: Annotated[str, _image("PostgreSQL")] = images.POSTGRES
    trivy_image: Annotated[str, _image("Trivy")] = images.TRIVY
    syft_image: Annotated[str, _image("Syft")] = images.SYFT
    cosign_image: Annotated[str, _image("Cosign")] = images.COSIGN
    alpine_image: Annotated[str, _image("Alpine (shell for cosign)")] = images.ALPINE
    curl_image: Annotated[str, _image("curl (webhook, smoke, APIs)")] = images.CURL
    git_image: Annotated[str, _image("git (deploy)")] = images.GIT
    crane_image: Annotated[str, _image("crane (platforms of a pushed index)")] = images.CRANE
    rekor_url: RekorUrl = ""
    fulcio_url: FulcioUrl = ""
    trusted_root: TrustedRoot = None
    no_tlog: NoTlog = False
    trivy_db_repository: TrivyDbRepository = ""
    trivy_java_db_repository: TrivyJavaDbRepository = ""
    trivy_skip_db_update: TrivySkipDbUpdate = False

    def tools(self) -> Toolbox:
        """What every step is given: the source, the images, the trust settings."""
        return Toolbox(
            source=self.source,
            git=self.git,
            images=Images(
                python=self.python_image,
                postgres=self.postgres_image,
                trivy=self.trivy_image,
                syft=self.syft_image,
                cosign=self.cosign_image,
                alpine=self.alpine_image,
                curl=self.curl_image,
                git=self.git_image,
                crane=self.crane_image,
            ),
            trivy_db=TrivyDb(
                self.trivy_db_repository, self.trivy_java_db_repository, self.trivy_skip_db_update
            ),
            rekor_url=self.rekor_url,
            fulcio_url=self.fulcio_url,
            trusted_root=self.trusted_root,
            no_tlog=self.no_tlog,
        )

    # --- checks: need no image; `dagger check` runs them --------------------------------
    @function
    @check
    async def lint(self) -> str:
        """Run ruff (lint, format check) and mypy on the service; fail on any finding."""
        return await Checks(self.tools()).lint()

    @function
    @check
    async def test(self) -> str:
        """Run the unit tests with the 90% coverage gate; return the coverage report."""
        return await Checks(self.tools()).unit_tests()

    @function
    @check
    async def integration(self, db_password: DbPassword = None) -> str:
        """Run migrations and the integration tests against PostgreSQL bound as `db`."""
        return await Checks(self.tools()).integration(db_password)

    @function
    @check
    async def self_test(self, golang_image: GolangImage = own_tests.GOLANG) -> str:
        """Lint pipeline/ and run tests/pipeline and tests/k8s with their real tools."""
        return await Checks(self.tools()).self_test(golang_image)

    # --- the image -----------------------------------------------------------------------
    @function
    def build(
        self,
        platform: Platform = "",
        version: Version = "dev",
        revision: Revision = "",
        created: Created = "",
        source_url: SourceUrl = "",
    ) -> dagger.Container:
        """Build the service image from the repository's Dockerfile."""
        stamp = Stamp(version, revision, created, source_url)
        return ImageBuilder(self.tools()).build(platform, stamp)

    @function
    def build_all(
        self,
        platforms: Platforms = [],  # noqa: B006 (Dagger arguments are not mutated)
        version: Version = "dev",
        revision: Revision = "",
        created: Created = "",
        source_url: SourceUrl = "",
    ) -> list[dagger.Container]:
        """Build one image per platform (the variants of one multi-platform index)."""
        stamp = Stamp(version, revision, created, source_url)
        return ImageBuilder(self.tools()).build_all(platforms, stamp)

    @function
    def sbom(self, platform: Platform = "") -> dagger.File:
        """An SPDX JSON SBOM of the image, made by syft from its OCI tarball."""
        builder = ImageBuilder(self.tools())
        return builder.sbom_of(builder.build(platform))

    @function
    def serve(self, db_password: DbPassword = None) -> dagger.Service:
        """The API (the built image, migrated) with PostgreSQL: `serve up --ports 8000:8000`."""
        return ImageBuilder(self.tools()).served(db_password)

    # --- security gates ------------------------------------------------------------------
    @function
    async def scan(
        self,
        platform: Platform = "",
        severity: Severity = "HIGH",
        ignore_unfixed: IgnoreUnfixed = True,
        trivyignore: TrivyIgnore = None,
    ) -> dagger.Directory:
        """Scan the image tarball with Trivy (before any push); return JSON+SARIF; gate it."""
        tools = self.tools()
        image = ImageBuilder(tools).build(platform)
        gate = Gate(severity, ignore_unfixed)
        return passed_or_raise(*await Scanner(tools).scan_image(image, gate, trivyignore), "scan")

    @function
    async def audit(
        self,
        severity: Severity = "HIGH",
        ignore_unfixed: IgnoreUnfixed = True,
        trivyignore: TrivyIgnore = None,
    ) -> dagger.Directory:
        """Audit requirements.lock (vulnerabilities) and the source (secrets, misconfigurations)."""
        gate = Gate(severity, ignore_unfixed)
        reports = await Scanner(self.tools()).audit_source(gate, trivyignore)
        return passed_or_raise(*reports, "audit")

    @function
    async def evidence(
        self,
        platforms: Platforms = [],  # noqa: B006 (Dagger arguments are not mutated)
        severity: Severity = "HIGH",
        ignore_unfixed: IgnoreUnfixed = True,
        source_url: SourceUrl = "",
        revision: Revision = "",
        source_ref: SourceRef = "",
        version: Version = "dev",
        run_url: RunUrl = "",
    ) -> dagger.Directory:
        """The gates' reports, an SBOM per platform (with --source-url the provenance predicate)."""
        stamp = Stamp(version, revision, "", source_url)
        origin = Origin(stamp, platforms, source_ref, run_url) if source_url else None
        return await Ci(self.tools()).evidence(platforms, Gate(severity, ignore_unfixed), origin)

    # --- the registry: side effects, never cached ---------------------------------------
    @function(cache="never")
    async def publish(
        self,
        address: Address,
        platforms: Platforms = [],  # noqa: B006 (Dagger arguments are not mutated)
        username: RegistryUser = "",
        password: RegistryPassword = None,
        version: Version = "dev",
        revision: Revision = "",
        created: Created = "",
        severity: Severity = "HIGH",
        ignore_unfixed: IgnoreUnfixed = True,
    ) -> str:
        """Scan every variant, then push them as one image; return address@sha256:..."""
        login, stamp = Login(username, password), Stamp(version, revision, created)
        gate = Gate(severity, ignore_unfixed)
        return await Ci(self.tools()).publish(address, platforms, login, stamp, gate)

    @function(cache="never")
    async def sign(
        self,
        image: Image,
        private_key: PrivateKey = None,
        key_password: KeyPassword = None,
        oidc_token: OidcToken = None,
        username: RegistryUser = "",
        password: RegistryPassword = None,
    ) -> str:
        """Sign an image by digest with cosign (key pair, or keyless with an OIDC token)."""
        keys = Keys(private_key, key_password, oidc_token)
        return await Signer(self.tools(), Login(username, password)).sign(image, keys)

    @function(cache="never")
    async def attest(
        self,
        image: Image,
        sbom: Sbom,
        private_key: PrivateKey = None,
        key_password: KeyPassword = None,
        oidc_token: OidcToken = None,
        username: RegistryUser = "",
        password: RegistryPassword = None,
        source_url: SourceUrl = "",
        revision: Revision = "",
        source_ref: SourceRef = "",
        version: Version = "dev",
        platforms: Platforms = [],  # noqa: B006 (Dagger arguments are not mutated)
        run_url: RunUrl = "",
    ) -> str:
        """Attach the SBOM (with --source-url also the SLSA provenance) to an image digest."""
        keys, login = Keys(private_key, key_password, oidc_token), Login(username, password)
        if not source_url:
            return await Signer(self.tools(), login).attest(image, sbom, keys)
        origin = Origin(Stamp(version, revision, "", source_url), platforms, source_ref, run_url)
        return await Provenance(self.tools(), login).attest_with_sbom(image, sbom, keys, origin)

    @function(cache="never")
    async def verify(
        self,
        image: Image,
        public_key: PublicKey = None,
        certificate_identity: Identity = "",
        certificate_oidc_issuer: Issuer = GITHUB_ISSUER,
        username: RegistryUser = "",
        password: RegistryPassword = None,
    ) -> str:
        """Verify the image's cosign signature; fail when it is unsigned or wrongly signed."""
        trust = Trust(public_key, certificate_identity, certificate_oidc_issuer)
        return await Signer(self.tools(), Login(username, password)).verify(image, trust)

    @function(cache="never")
    async def verify_policy(
        self,
        image: Image,
        source_repository: SourceRepository,
        env: Environment = gitops.Environment.production,
        branch: ProtectedBranch = "main",
        revision: SourceRevision = "",
        public_key: PublicKey = None,
        certificate_identity: Identity = "",
        certificate_oidc_issuer: Issuer = GITHUB_ISSUER,
        username: RegistryUser = "",
        password: RegistryPassword = None,
    ) -> str:
        """Check a digest's signature, SBOM and provenance against the policy; a short report."""
        trust = Trust(public_key, certificate_identity, certificate_oidc_issuer)
        policy = Expectations(source_repository, branch, revision, gitops.require_env(env))
        verifier = Verifier(self.tools(), Login(username, password))
        return await verifier.verify_policy(image, trust, policy)

    # --- the whole pipeline --------------------------------------------------------------
    @function(cache="never")
    async def ci(
        self,
        address: CiAddress = "",
        platforms: Platforms = [],  # noqa: B006 (Dagger arguments are not mutated)
        username: RegistryUser = "",
        password: RegistryPassword = None,
        private_key: PrivateKey = None,
        key_password: KeyPassword = None,
        oidc_token: OidcToken = None,
        version: Version = "dev",
        revision: Revision = "",
        created: Created = "",
        source_url: SourceUrl = "",
        severity: Severity = "HIGH",
        ignore_unfixed: IgnoreUnfixed = True,
        run_url: RunUrl = "",
        webhook: Webhook = None,
        source_ref: SourceRef = "",
    ) -> str:
        """Lint, audit, test while building; scan, SBOM; with an address publish, sign, attest."""
        request = CiRequest(
            address, platforms, Login(username, password),
            Keys(private_key, key_password, oidc_token),
            Stamp(version, revision, created, source_url), Gate(severity, ignore_unfixed),
            run_url, webhook, source_ref,
        )  # fmt: skip
        return await Ci(self.tools()).run(request)

    # --- delivery: side effects, never cached -------------------------------------------
    @function(cache="never")
    async def deploy(
        self, env: Environment, repository: Repository, token: Token, image: DeployImage = "",
        address: ReleaseTag = "", username: RegistryUser = "", password: RegistryPassword = None,
        branch: Branch = "main", revision: SourceRevision = "", public_key: PublicKey = None,
        certificate_identity: Identity = "", certificate_oidc_issuer: Issuer = GITHUB_ISSUER,
        wait: Wait = False, argocd_server: ArgoServer = "", argocd_token: ArgoToken = None,
        wait_seconds: WaitSeconds = 900, rollback: Rollback = False,
        webhook: DeployWebhook = None, source_repository: PolicySource = "",
        severity: Severity = "HIGH", production_severity: ProductionSeverity = "",
        ignore_unfixed: IgnoreUnfixed = True, skip_staging_check: SkipStagingCheck = False,
    ) -> str:  # fmt: skip
        """Put the digest `ci` made into k8s/overlays/ENV: push (staging) or a PR (production)."""
        asked = argocd_server or wait
        argocd = Follow(argocd_server, argocd_token, wait_seconds) if asked else None
        request = DeployRequest(
            gitops.require_env(env), repository, token, branch, revision, image, address,
            Login(username, password),
            Trust(public_key, certificate_identity, certificate_oidc_issuer),
            argocd, wait, rollback, webhook, source_repository,
            Gate(severity, ignore_unfixed, production_severity), skip_staging_check,
        )  # fmt: skip
        return await Delivery(self.tools()).deploy(request)

    @function(cache="never")
    async def smoke(
        self,
        url: Url,
        attempts: Attempts = 10,
        request_seconds: RequestSeconds = 5,
        in_cluster: InCluster = False,
    ) -> str:
        """Check what the Ingress serves (a greeting, the 400 problem of a bad name); --in-cluster: /health/live, /health/ready, a greeting and /metrics."""  # noqa: E501 (one line in `dagger functions`)
        return await Delivery(self.tools()).smoke(url, attempts, request_seconds, in_cluster)

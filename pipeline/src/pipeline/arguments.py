"""Argument types shared by several functions, each documented once.

The CLI shows each default and marks required arguments itself: a `Doc` says what
the argument means (and what an empty value means), never its default again.
"""

from typing import Annotated

import dagger
from dagger import Doc

Platform = Annotated[str, Doc('Platform to build, e.g. "linux/arm64"; empty: the engine\'s own.')]
Platforms = Annotated[
    list[str],
    Doc('Platforms of the image, e.g. ["linux/amd64", "linux/arm64"]; empty: the engine\'s.'),
]
Version = Annotated[str, Doc("Version label and VERSION build argument.")]
Revision = Annotated[
    str,
    Doc("Git revision (GIT_SHA build argument, summary); empty: the source checkout's commit."),
]
SourceUrl = Annotated[str, Doc("Repository URL for the image's source label (SOURCE build arg).")]
Created = Annotated[str, Doc("RFC 3339 build time (CREATED build argument); empty: unset.")]
Severity = Annotated[
    str, Doc("Lowest severity failing the gate: UNKNOWN, LOW, MEDIUM, HIGH or CRITICAL.")
]
IgnoreUnfixed = Annotated[bool, Doc("Skip vulnerabilities that have no fixed version yet.")]
ProductionSeverity = Annotated[
    str,
    Doc(
        "Production's re-scan threshold, no laxer than --severity;"
        " empty: MEDIUM, or --severity when stricter."
    ),
]
TrivyIgnore = Annotated[
    dagger.File | None,
    Doc(
        "A .trivyignore.yaml of accepted findings, each with statement and expired_at;"
        " omitted: the source's .trivyignore.yaml, if any."
    ),
]
SourceRef = Annotated[
    str, Doc("Git ref built, e.g. refs/heads/main ($GITHUB_REF); empty: the checkout's ref.")
]
SourceRepository = Annotated[
    str, Doc("HTTPS URL of the source repository the provenance must name.")
]
ProtectedBranch = Annotated[str, Doc("Branch production images must be built from.")]
PolicySource = Annotated[
    str, Doc("HTTPS URL of the source repository the provenance must name; empty: --repository.")
]
Image = Annotated[str, Doc("Image reference by digest (name@sha256:...); tags are refused.")]
Address = Annotated[str, Doc('Registry address to push to, e.g. "ghcr.io/org/hello-api:1.2.0".')]
RegistryUser = Annotated[
    str, Doc("Registry user name; empty: no login (public or local registry).")
]
RegistryPassword = Annotated[
    dagger.Secret | None, Doc("Registry password or token, e.g. env://REGISTRY_TOKEN.")
]
PrivateKey = Annotated[
    dagger.Secret | None, Doc("Cosign private key (PEM), e.g. env://COSIGN_PRIVATE_KEY.")
]
KeyPassword = Annotated[
    dagger.Secret | None, Doc("Password of the cosign private key; omitted: an unencrypted key.")
]
OidcToken = Annotated[
    dagger.Secret | None,
    Doc("OIDC token (audience sigstore) for keyless signing, e.g. env://SIGSTORE_ID_TOKEN."),
]
DbPassword = Annotated[
    dagger.Secret | None,
    Doc("Password of the throw-away database; omitted: a fixed one, for this run only."),
]
CiAddress = Annotated[str, Doc("Registry address; when set, publish, sign and attest.")]
RunUrl = Annotated[str, Doc("Link to this run, for the notification.")]
Webhook = Annotated[dagger.Secret | None, Doc("Webhook URL (e.g. Slack) told when a step fails.")]
Sbom = Annotated[dagger.File, Doc("The SPDX JSON SBOM to attach (e.g. from `sbom`).")]
PublicKey = Annotated[
    dagger.File | None, Doc("Cosign public key; omitted: keyless (identity and issuer).")
]
Identity = Annotated[str, Doc("Keyless: regexp of the signer identity (workflow URL).")]
Issuer = Annotated[str, Doc("Keyless: OIDC issuer of the signer's token.")]
GolangImage = Annotated[
    str, Doc("Go image whose toolchain builds actionlint; override to use a private mirror.")
]
Url = Annotated[str, Doc("Base URL of the running service.")]
Attempts = Annotated[int, Doc("Tries per endpoint (errors, non-2xx).")]
RequestSeconds = Annotated[int, Doc("Seconds per request.")]
InCluster = Annotated[
    bool,
    Doc(
        "a Service or pod URL inside the cluster: check /health/live, /health/ready, "
        "a greeting and /metrics (the Ingress routes only /api)"
    ),
]

# deploy
Repository = Annotated[str, Doc("HTTPS Git URL of the repository Argo CD follows.")]
Token = Annotated[dagger.Secret, Doc("Token that may push and open pull requests.")]
DeployImage = Annotated[
    str, Doc("Staging: name@sha256:... to deploy; empty: the digest --address names now.")
]
ReleaseTag = Annotated[
    str,
    Doc("Staging without --image: the tag `ci` published (ghcr.io/org/api:SHA), resolved to"
        " its digest in the registry; nothing is built."),
]  # fmt: skip
Branch = Annotated[str, Doc("Branch Argo CD follows; production images must be built from it.")]
SourceRevision = Annotated[
    str, Doc("Commit the image must have been built from (its revision label); empty: any.")
]
Wait = Annotated[bool, Doc("Staging: follow Argo CD until it lands the commit; revert a failure.")]
ArgoServer = Annotated[
    str, Doc("Argo CD https:// URL: staging with --wait; production (required): staging runs it.")
]
ArgoToken = Annotated[dagger.Secret | None, Doc("Argo CD API token (with --argocd-server).")]
SkipStagingCheck = Annotated[
    bool,
    Doc("Production without --argocd-server: do not check staging runs it (on purpose)."),
]
WaitSeconds = Annotated[int, Doc("Seconds --wait allows the rollout.")]
Rollback = Annotated[
    bool,
    Doc("Allow moving the environment to a source revision that is not a descendant of the"
        " one it runs (a deliberate rollback)."),
]  # fmt: skip
DeployWebhook = Annotated[
    dagger.Secret | None,
    Doc("Webhook URL (e.g. Slack) told when the environment changes, fails or is reverted."),
]

# The constructor's trust settings (every signing and scanning function uses them)
RekorUrl = Annotated[
    str,
    Doc(
        "Rekor (transparency log) of a private Sigstore, e.g. https://rekor.internal.example;"
        " unset, cosign uses the public one."
    ),
]
FulcioUrl = Annotated[
    str,
    Doc(
        "Fulcio (keyless certificates) of a private Sigstore, e.g."
        " https://fulcio.internal.example; unset, cosign uses the public one."
    ),
]
TrustedRoot = Annotated[
    dagger.File | None,
    Doc(
        "Sigstore TrustedRoot JSON of a private Sigstore (its Fulcio CA, Rekor and CT log"
        " keys), e.g. from `cosign trusted-root create`."
    ),
]
NoTlog = Annotated[
    bool,
    Doc(
        "Sign and attest without a transparency log, verify without one. WEAKER: nothing"
        " records what was signed when, so a stolen key's signatures go unnoticed. For"
        " air-gapped registries, with a key pair only."
    ),
]
TrivyDbRepository = Annotated[
    str,
    Doc(
        "OCI repository of a Trivy vulnerability DB mirror, e.g."
        " registry.internal/aquasec/trivy-db:2; unset, Trivy's public ones."
    ),
]
TrivyJavaDbRepository = Annotated[
    str,
    Doc(
        "OCI repository of a Trivy Java DB mirror, e.g."
        " registry.internal/aquasec/trivy-java-db:1; unset, Trivy's public ones."
    ),
]
TrivySkipDbUpdate = Annotated[
    bool,
    Doc(
        "Scan with the Trivy databases already cached by the engine, downloading nothing."
        " WEAKER: vulnerabilities published since are missed. No cached database still"
        " fails scan and audit."
    ),
]

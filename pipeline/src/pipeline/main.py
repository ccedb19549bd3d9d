"""The main object: the source, declared once, the tool images and the trust settings."""

from typing import Annotated

import dagger
from dagger import DefaultPath, Doc, Ignore, object_type

from pipeline import images
from pipeline.delivery import Delivery
from pipeline.run import Run
from pipeline.source import SOURCE_IGNORE


def _image(name: str) -> object:
    return Doc(f"{name} image; override to use a private mirror.")


@object_type
class Pipeline(Run, Delivery):
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
    rekor_url: Annotated[
        str,
        Doc(
            "Rekor (transparency log) of a private Sigstore, e.g. https://rekor.internal.example;"
            " unset, cosign uses the public one."
        ),
    ] = ""
    fulcio_url: Annotated[
        str,
        Doc(
            "Fulcio (keyless certificates) of a private Sigstore, e.g."
            " https://fulcio.internal.example; unset, cosign uses the public one."
        ),
    ] = ""
    trusted_root: Annotated[
        dagger.File | None,
        Doc(
            "Sigstore TrustedRoot JSON of a private Sigstore (its Fulcio CA, Rekor and CT log"
            " keys), e.g. from `cosign trusted-root create`."
        ),
    ] = None
    no_tlog: Annotated[
        bool,
        Doc(
            "Sign and attest without a transparency log, verify without one. WEAKER: nothing"
            " records what was signed when, so a stolen key's signatures go unnoticed. For"
            " air-gapped registries, with a key pair only."
        ),
    ] = False
    trivy_db_repository: Annotated[
        str,
        Doc(
            "OCI repository of a Trivy vulnerability DB mirror, e.g."
            " registry.internal/aquasec/trivy-db:2; unset, Trivy's public ones."
        ),
    ] = ""
    trivy_java_db_repository: Annotated[
        str,
        Doc(
            "OCI repository of a Trivy Java DB mirror, e.g."
            " registry.internal/aquasec/trivy-java-db:1; unset, Trivy's public ones."
        ),
    ] = ""
    trivy_skip_db_update: Annotated[
        bool,
        Doc(
            "Scan with the Trivy databases already cached by the engine, downloading nothing."
            " WEAKER: vulnerabilities published since are missed. No cached database still"
            " fails scan and audit."
        ),
    ] = False

"""What makes an image promotable, pure: its platform images, its source revision.

`ci` signs the pushed index and attests one SPDX SBOM to each platform's own image
(pipeline.platforms), so promotion verifies the signature on the index and an
attestation on every image in it. The revision an image was built from is its OCI
label (the Dockerfile's GIT_SHA), read from one platform's configuration.
"""

import json
import re

from pipeline.errors import DeployFailedError, PipelineError
from pipeline.platforms import repository

REVISION_LABEL = "org.opencontainers.image.revision"
# Buildx-style attestation manifests in an index carry this platform; they are no image.
_NOT_AN_IMAGE = {"os": "unknown", "architecture": "unknown"}
COMMIT = re.compile(r"[0-9a-f]{7,40}")


def index_images(image: str, manifest: str) -> list[str]:
    """Every platform image (repository@sha256:...) in what `crane manifest image` printed.

    At least one: an index of attestation manifests only has nothing to run or label.
    """
    document = json.loads(manifest or "{}")
    if "manifests" not in document:
        return [image]
    images = [
        f"{repository(image)}@{entry['digest']}"
        for entry in document["manifests"]
        if {k: entry.get("platform", {}).get(k) for k in _NOT_AN_IMAGE} != _NOT_AN_IMAGE
    ]
    if not images:
        msg = f"{image} is an index without a platform image (attestation manifests only)"
        raise PipelineError(f"{msg}: nothing `ci` built to run or promote")
    return images


def image_revision(image: str, config: str) -> str:
    """The source revision in an image configuration's labels; refuses an image without one."""
    labels = (json.loads(config or "{}").get("config") or {}).get("Labels") or {}
    revision = str(labels.get(REVISION_LABEL) or "")
    if not COMMIT.fullmatch(revision):
        msg = f"{image} has no commit in its {REVISION_LABEL} label ({revision!r}):"
        raise DeployFailedError(f"{msg} only images `ci` built from a commit are promoted")
    return revision


def same_revision(image: str, built_from: str, asked: str) -> str:
    """The image's revision, when it is the one the caller named (or none was named)."""
    if asked and not (built_from.startswith(asked) or asked.startswith(built_from)):
        msg = f"{image} was built from {built_from[:12]}, not from --revision {asked}"
        raise DeployFailedError(msg)
    return built_from


def staging_problem(ref: str, sync: str, health: str, images: tuple[str, ...]) -> str:
    """Why staging, as Argo CD reports it, does not vouch for `ref` ("" when it does)."""
    digest = ref.rpartition("@")[2]
    if not any(image.endswith(f"@{digest}") for image in images):
        return f"staging does not run it (Argo CD reports {', '.join(images) or 'no image'})"
    if (sync, health) != ("Synced", "Healthy"):
        return f"staging runs it {sync} and {health}, not Synced and Healthy"
    return ""

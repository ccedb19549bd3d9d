"""Which image of a pushed index is which platform (pure: reads what `crane manifest` prints).

Consumers look for a platform's SBOM on that platform's own image digest (`cosign
download attestation --platform`, `verify-attestation` on the digest a node pulls),
so each SBOM is attested there, never one SBOM on the whole index.
"""

import json

from pipeline.commands import DIGEST_MARK
from pipeline.errors import PipelineError

# Buildx-style attestation manifests in an index carry this platform; they are no image.
_NOT_AN_IMAGE = "unknown/unknown"


class PlatformMismatchError(PipelineError):
    """The pushed index and the SBOMs made before the push name different platforms."""


def platform_images(image: str, manifest: str, platforms: list[str]) -> dict[str, str]:
    """Each platform's own image (repository@sha256:...) in what `image` names.

    `manifest` is the JSON that `crane manifest image` prints: an index, or a plain
    image manifest. Platform "" stands for the engine's own, when only one was built.
    """
    document = json.loads(manifest)
    if "manifests" not in document:
        return _single(image, platforms)
    pushed = {
        _platform(entry.get("platform", {})): entry["digest"]
        for entry in document["manifests"]
        if _platform(entry.get("platform", {})) != _NOT_AN_IMAGE
    }
    if platforms == [""] and len(pushed) == 1:
        return {"": f"{repository(image)}@{next(iter(pushed.values()))}"}
    wanted = {_normal(p): p for p in platforms}
    if set(wanted) != set(pushed):
        msg = f"{image} holds {sorted(pushed)}, but SBOMs were made for {sorted(wanted)}"
        raise PlatformMismatchError(msg)
    return {wanted[p]: f"{repository(image)}@{digest}" for p, digest in pushed.items()}


def repository(image: str) -> str:
    """The repository of a reference, without tag or digest (registry ports are kept)."""
    name = image.split(DIGEST_MARK, 1)[0]
    head, slash, last = name.rpartition("/")
    return f"{head}{slash}{last.split(':', 1)[0]}"


def _single(image: str, platforms: list[str]) -> dict[str, str]:
    if len(platforms) != 1:
        msg = f"{image} is a single image, but SBOMs were made for {sorted(platforms)}"
        raise PlatformMismatchError(msg)
    return {platforms[0]: image}


def _platform(spec: dict[str, str]) -> str:
    parts = [spec.get("os", "unknown"), spec.get("architecture", "unknown"), spec.get("variant")]
    return _normal("/".join(p for p in parts if p))


def _normal(platform: str) -> str:
    # linux/arm64 and linux/arm64/v8 name the same platform (containerd normalises both).
    return platform.removesuffix("/v8") if "/arm64/" in platform else platform

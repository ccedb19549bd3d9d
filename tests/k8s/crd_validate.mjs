// Validates custom resources against the CRD schemas compiled into @kubernetes-models/*.
// Usage: node crd_validate.mjs NODE_MODULES_DIR < manifests.json (a JSON list).
// Prints one line per invalid or unknown object; exits 1 if there is any.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

const MODELS = {
  "argoproj.io/v1alpha1/Rollout": "argo-rollouts/argoproj.io/v1alpha1/Rollout.js",
  "argoproj.io/v1alpha1/AnalysisTemplate": "argo-rollouts/argoproj.io/v1alpha1/AnalysisTemplate.js",
  "argoproj.io/v1alpha1/Application": "argo-cd/argoproj.io/v1alpha1/Application.js",
  "argoproj.io/v1alpha1/AppProject": "argo-cd/argoproj.io/v1alpha1/AppProject.js",
  "external-secrets.io/v1/ExternalSecret":
    "external-secrets/external-secrets.io/v1/ExternalSecret.js",
};

const [modulesDir] = process.argv.slice(2);
const manifests = JSON.parse(readFileSync(0, "utf8"));
let failed = 0;
for (const manifest of manifests) {
  const key = `${manifest.apiVersion}/${manifest.kind}`;
  const where = `${manifest.kind}/${manifest.metadata?.name}`;
  if (!(key in MODELS)) {
    console.log(`${where}: no schema for ${key}`);
    failed++;
    continue;
  }
  const url = pathToFileURL(join(modulesDir, "@kubernetes-models", MODELS[key])).href;
  const Model = (await import(url))[manifest.kind];
  try {
    new Model(manifest).validate();
  } catch (error) {
    console.log(`${where}: ${error.message}`);
    failed++;
  }
}
process.exit(failed ? 1 : 0);

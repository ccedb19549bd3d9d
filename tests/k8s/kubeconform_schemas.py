"""JSON schemas in kubeconform's layout, made offline from what scripts/tools/k8s.sh installs.

- Built-in kinds: kubernetes-validate's strict schemas for one Kubernetes version. They
  point at `/api/_definitions.json`, which resolves against their `$id` to a web address;
  here the `$id`s go and the references become relative files, so nothing is fetched.
- Custom resources: the CRD schemas (OpenAPI v3, as the API server validates them) that
  the last @kubernetes-models releases still ship as data, before later ones compiled them
  into code: argo-rollouts 0.3.2 (Rollout, AnalysisTemplate) and argo-cd 2.5.0
  (Application, AppProject). OpenAPI's `nullable` becomes a JSON Schema type, metadata
  refers to the Kubernetes ObjectMeta, and every object with declared properties gets
  `additionalProperties: false` (what kubeconform's openapi2jsonschema does for -strict),
  except where the CRD keeps unknown fields.

Layout: `core/{kind}-{group}-{version}.json` and `crd/{group}/{kind}_{version}.json`, the
defaults of kubeconform's `-schema-location` templates (LOCATIONS).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

# kubeconform -schema-location templates, relative to the output folder.
CORE_LOCATION = "core/{{ .ResourceKind }}{{ .KindSuffix }}.json"
CRD_LOCATION = "crd/{{ .Group }}/{{ .ResourceKind }}_{{ .ResourceAPIVersion }}.json"
# Custom kinds with a CRD schema here: (npm package, module inside it).
CRD_MODULES = {
    "argoproj.io/v1alpha1/Rollout": ("argo-rollouts", "argoproj.io/v1alpha1/Rollout.js"),
    "argoproj.io/v1alpha1/AnalysisTemplate": (
        "argo-rollouts",
        "argoproj.io/v1alpha1/AnalysisTemplate.js",
    ),
    "argoproj.io/v1alpha1/Application": ("argo-cd", "argoproj.io/v1alpha1/Application.js"),
    "argoproj.io/v1alpha1/AppProject": ("argo-cd", "argoproj.io/v1alpha1/AppProject.js"),
}
# Those packages drop every key named "description" (documentation), which also drops
# the real string field `description`: put it back where the CRD declares it (Argo CD's
# AppProjectSpec.Description and ProjectRole.Description).
DESCRIPTION_FIELDS = {
    "argoproj.io/v1alpha1/AppProject": [("spec",), ("spec", "roles", "items")],
}
_DEFINITIONS_REF = "/api/_definitions.json#"
_SCHEMA_LITERAL = re.compile(r"^const schema = (\{.*?^\});$", re.DOTALL | re.MULTILINE)
_MODEL_REF = re.compile(r"^(io\.k8s\.[\w.]+)#$")
Schema = dict[str, Any]


def write_core(source: Path, out: Path) -> None:
    """kubernetes-validate's schemas of one version, references made local files."""
    (out / "core").mkdir(parents=True, exist_ok=True)
    for path in source.glob("*.json"):
        text = path.read_text().replace(_DEFINITIONS_REF, "_definitions.json#")
        schema = json.loads(text)
        schema.pop("$id", None)
        (out / "core" / path.name).write_text(json.dumps(schema))


def write_crds(models: Path, definitions: Schema, out: Path) -> list[str]:
    """The CRD schemas of CRD_MODULES under out/crd; returns the kinds written."""
    for key, (package, module) in CRD_MODULES.items():
        group, version, kind = key.split("/")
        raw = read_model_schema(models / package / module)
        for field in DESCRIPTION_FIELDS.get(key, []):
            _object_at(raw, field)["properties"]["description"] = {"type": "string"}
        schema = crd_schema(raw, definitions)
        path = out / "crd" / group / f"{kind.lower()}_{version}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(schema))
    return list(CRD_MODULES)


def read_model_schema(module: Path) -> Schema:
    """The `const schema = {...};` literal of a @kubernetes-models module (JSON syntax)."""
    found = _SCHEMA_LITERAL.search(module.read_text())
    assert found, f"{module}: no schema literal (a compiled release?)"
    return dict(json.loads(found.group(1)))


def _object_at(schema: Schema, path: tuple[str, ...]) -> Schema:
    """The schema of a nested field: each step a property name or "items"."""
    for step in path:
        schema = schema[step] if step == "items" else schema["properties"][step]
    return schema


def crd_schema(schema: Schema, definitions: Schema) -> Schema:
    """A standalone strict JSON schema: own $defs for the Kubernetes types it refers to."""
    converted = _convert(schema)
    needed = _referenced_definitions(converted, definitions)
    defs = {name: definitions[name] for name in sorted(needed)}
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **converted, "$defs": defs}


def _convert(node: Any) -> Any:
    """Recursively: nullable -> null type, model refs -> $defs refs, strict objects."""
    if isinstance(node, list):
        return [_convert(item) for item in node]
    if not isinstance(node, dict):
        return node
    node = {key: _convert(value) for key, value in node.items()}
    ref = _MODEL_REF.match(str(node.get("$ref", "")))
    if ref:
        node["$ref"] = f"#/$defs/{ref.group(1)}"
    if node.pop("nullable", False) and isinstance(node.get("type"), str):
        node["type"] = [node["type"], "null"]
    open_object = node.get("x-kubernetes-preserve-unknown-fields") or "additionalProperties" in node
    if node.get("properties") and not open_object:
        node["additionalProperties"] = False
    return node


def _referenced_definitions(schema: Schema, definitions: Schema) -> set[str]:
    """Names of the $defs a schema needs, following references inside them too."""
    pending, seen = _local_refs(schema), set()
    while pending:
        name = pending.pop()
        if name not in seen:
            seen.add(name)
            pending |= _local_refs(definitions[name])
    return seen


def _local_refs(node: Any) -> set[str]:
    """The `#/$defs/NAME` references anywhere in a schema."""
    text = json.dumps(node)
    return set(re.findall(r'"\$ref": "#/\$defs/([^"]+)"', text))

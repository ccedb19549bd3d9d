"""What the controllers make of the manifests, as plain functions the tests apply.

Each mirrors the documented rule of the component that reads the field:
- label selectors: Kubernetes `matchLabels` / `matchExpressions`;
- sync order: Argo CD runs phases (PreSync, Sync, PostSync) in turn and, inside a phase,
  waves in ascending order; a resource without a hook annotation belongs to Sync;
- Ingress paths: Kubernetes `Exact` and `Prefix` matching (element by element);
- analysis: Argo Rollouts' `EvaluateResult` (utils/evaluate): a measurement is Failed
  when successCondition is false and there is no failureCondition, Inconclusive when
  both conditions are false, Error when evaluating a condition fails.
"""

from __future__ import annotations

import math
import re
from typing import Any

from tests.k8s.manifests import Manifest

HOOK = "argocd.argoproj.io/hook"
WAVE = "argocd.argoproj.io/sync-wave"
DELETE_POLICY = "argocd.argoproj.io/hook-delete-policy"
PHASES = ("PreSync", "Sync", "PostSync")


def annotations_of(doc: Manifest) -> dict[str, str]:
    """The object's annotations (empty when it has none)."""
    return dict(doc["metadata"].get("annotations") or {})


def sync_order(doc: Manifest) -> tuple[int, int]:
    """(phase, wave) in which Argo CD applies the object: smaller runs first."""
    hook = annotations_of(doc).get(HOOK, "Sync").split(",")[0].strip()
    return PHASES.index(hook), int(annotations_of(doc).get(WAVE, "0"))


def selects(selector: Manifest, labels: dict[str, str]) -> bool:
    """Whether a LabelSelector (matchLabels and matchExpressions) matches the labels."""
    wanted = selector.get("matchLabels") or {}
    if any(labels.get(key) != value for key, value in wanted.items()):
        return False
    return all(_expression_holds(e, labels) for e in selector.get("matchExpressions") or [])


def _expression_holds(expression: Manifest, labels: dict[str, str]) -> bool:
    """One matchExpressions requirement (In, NotIn, Exists, DoesNotExist)."""
    key, operator = expression["key"], expression["operator"]
    values = list(expression.get("values") or [])
    return {
        "In": lambda: labels.get(key) in values,
        "NotIn": lambda: labels.get(key) not in values,
        "Exists": lambda: key in labels,
        "DoesNotExist": lambda: key not in labels,
    }[operator]()


def pod_labels(doc: Manifest) -> dict[str, str]:
    """The labels of the pods a Rollout or Job creates."""
    return dict(doc["spec"]["template"]["metadata"]["labels"])


def routes(ingress: Manifest, path: str) -> bool:
    """Whether some rule of the Ingress sends a request for this path to a backend."""
    return any(
        _path_matches(rule_path["pathType"], rule_path["path"], path)
        for rule in ingress["spec"]["rules"]
        for rule_path in rule["http"]["paths"]
    )


def _path_matches(path_type: str, rule: str, path: str) -> bool:
    """Kubernetes Ingress matching: Exact compares whole paths, Prefix whole elements."""
    if path_type == "Exact":
        return path == rule
    assert path_type == "Prefix", f"{path_type} paths mean what the controller decides"
    rule_parts = [p for p in rule.split("/") if p]
    return [p for p in path.split("/") if p][: len(rule_parts)] == rule_parts


# A PromQL selector's braces, which may hold Argo Rollouts' {{args.x}} placeholders.
_SELECTOR = re.compile(r"(\w+)\{((?:[^{}]|\{\{[^}]*\}\})*)\}")


def series_selectors(query: str, metric: str) -> list[str]:
    """The label matchers (text between the braces) of each selector of that metric."""
    return [matchers for name, matchers in _SELECTOR.findall(query) if name == metric]


# The subset of the expr language (github.com/expr-lang/expr) these conditions use, and
# its Python spelling. Anything else fails the test that reads it, by name.
_TOKEN = re.compile(r'\s+|&&|\|\||[=!<>]=|[<>()\[\],!]|\d+(?:\.\d+)?|"[^"]*"|[A-Za-z_]\w*')
_SPELLING = {"&&": " and ", "||": " or ", "!": " not ", "true": "True", "false": "False"}
_NAMES = {"result", "len", "isNaN", "True", "False"}


def to_python(condition: str) -> str:
    """The condition as a Python expression; fails on syntax outside the subset."""
    tokens = _TOKEN.findall(condition)
    assert "".join(tokens) == condition, f"{condition!r}: syntax this test cannot read"
    python = "".join(_SPELLING.get(t, t) for t in tokens)
    names = set(re.findall(r"[A-Za-z_]\w*", re.sub(r'"[^"]*"', "", python)))
    assert names <= _NAMES | {"and", "or", "not"}, f"{condition!r}: unknown {names - _NAMES}"
    return python


def holds(condition: str, result: Any) -> bool:
    """The condition evaluated on a measured result, as the Rollouts controller does."""
    env = {"result": result, "len": len, "isNaN": math.isnan}
    value = eval(to_python(condition), {"__builtins__": {}}, env)  # noqa: S307 - checked subset
    assert isinstance(value, bool), f"{condition!r} gave {value!r}, not a boolean"
    return value


def phase(metric: Manifest, result: Any) -> str:
    """The phase Argo Rollouts gives one measurement of the metric with this result."""
    success, failure = metric.get("successCondition"), metric.get("failureCondition")
    try:
        succeeded = holds(success, result) if success else False
        failed = holds(failure, result) if failure else False
    except (IndexError, TypeError):
        return "Error"  # e.g. result[0] of an empty vector: counts toward consecutiveErrorLimit
    if not success and not failure:
        return "Successful"
    failed = failed if failure else not succeeded
    succeeded = succeeded if success else not failed
    if failed:
        return "Failed"
    return "Successful" if succeeded else "Inconclusive"

"""Read a Trivy JSON report and apply the severity gate (pure functions).

The gate fails on findings at or above its threshold, and on every accepted risk of
`.trivyignore.yaml` past its date (pipeline.vuln_exceptions). The threshold can be
stricter for production promotion than for CI (`environment_threshold`).
"""

import json
from dataclasses import dataclass
from typing import Any

from pipeline.errors import ArgumentError
from pipeline.vuln_exceptions import AcceptedRisk, ExceptionReview, expired_lines, in_use

SEVERITIES = ("UNKNOWN", "LOW", "MEDIUM", "HIGH", "CRITICAL")
# The gate's defaults: `ci`, `scan`, `audit` and staging at HIGH; promotion to
# production at MEDIUM (or --severity, when that is stricter still), so what reaches
# users was held to the stricter bar.
DEFAULT_SEVERITY = "HIGH"
DEFAULT_PRODUCTION_SEVERITY = "MEDIUM"
# Trivy's finding lists, and the key holding each finding's identifier.
_KINDS = {"Vulnerabilities": "VulnerabilityID", "Misconfigurations": "ID", "Secrets": "RuleID"}


@dataclass(frozen=True, slots=True)
class Finding:
    """One vulnerability, misconfiguration or secret reported by Trivy."""

    kind: str
    ident: str
    severity: str
    target: str
    title: str

    def line(self) -> str:
        """The finding as one readable line."""
        return f"{self.severity} {self.ident} in {self.target}: {self.title}"


@dataclass(frozen=True, slots=True)
class GateResult:
    """The gate's verdict and the findings that decided it."""

    threshold: str
    failing: tuple[Finding, ...]
    total: int
    expired: tuple[AcceptedRisk, ...] = ()
    accepted: tuple[AcceptedRisk, ...] = ()
    """The exceptions still valid: a passing verdict says when the next one expires."""

    @property
    def passed(self) -> bool:
        """True when no finding reaches the threshold and no accepted risk has expired."""
        return not self.failing and not self.expired

    def message(self, step: str) -> str:
        """A one-paragraph verdict naming every failing finding and every expired exception."""
        if self.passed:
            note = in_use(self.accepted)
            verdict = f"{self.total} findings, none at or above {self.threshold}"
            return f"{step}: passed ({verdict}{'; ' + note if note else ''})"
        head = f"{len(self.failing)} of {self.total} findings at or above {self.threshold}"
        if self.expired:
            ids = ", ".join(risk.ident for risk in self.expired)
            head = f"{len(self.expired)} expired exception(s) ({ids}); {head}"
        findings = [f"  - {f.line()}" for f in self.failing]
        return "\n".join([f"{step}: {head}:", *expired_lines(self.expired), *findings])


def check_severity(threshold: str) -> str:
    """Normalise a severity name, naming the argument when it is not one."""
    value = threshold.strip().upper()
    if value not in SEVERITIES:
        choices = ", ".join(SEVERITIES)
        raise ArgumentError("severity", f"must be one of {choices}, got {threshold!r}")
    return value


def parse_report(text: str) -> list[Finding]:
    """Every finding in a Trivy JSON report (misconfigurations only when they FAIL)."""
    report = json.loads(text) if text.strip() else {}
    return [f for result in report.get("Results") or [] for f in _findings(result)]


def _findings(result: dict[str, Any]) -> list[Finding]:
    found = []
    for kind, key in _KINDS.items():
        for item in result.get(kind) or []:
            if kind == "Misconfigurations" and item.get("Status", "FAIL") != "FAIL":
                continue
            title = item.get("Title") or item.get("PkgName") or item.get("Category") or ""
            found.append(
                Finding(
                    kind,
                    item.get(key, "?"),
                    item.get("Severity", "UNKNOWN"),
                    result.get("Target", "?"),
                    title,
                )
            )
    return found


def gate(
    findings: list[Finding], threshold: str, exceptions: ExceptionReview | None = None
) -> GateResult:
    """Fail on every finding at or above the threshold, and on every expired exception."""
    level = SEVERITIES.index(check_severity(threshold))
    failing = tuple(f for f in findings if _rank(f.severity) >= level)
    expired = exceptions.expired if exceptions is not None else ()
    valid = tuple(r for r in exceptions.accepted if r not in expired) if exceptions else ()
    return GateResult(check_severity(threshold), failing, len(findings), expired, valid)


def environment_threshold(env: str, severity: str = DEFAULT_SEVERITY, production: str = "") -> str:
    """The gate's threshold for an environment: `production` for it, `severity` elsewhere.

    Production's bar may not be laxer than the other one: promotion only tightens. An
    empty `production` is DEFAULT_PRODUCTION_SEVERITY, or `severity` if that is stricter.
    """
    base = check_severity(severity)
    default = SEVERITIES[min(SEVERITIES.index(base), SEVERITIES.index(DEFAULT_PRODUCTION_SEVERITY))]
    strict = _checked(production, "production_severity") if production.strip() else default
    if SEVERITIES.index(strict) > SEVERITIES.index(base):
        problem = f"must be at least as strict as --severity ({base}), got {strict}"
        raise ArgumentError("production_severity", problem)
    return strict if env == "production" else base


def _checked(threshold: str, argument: str) -> str:
    try:
        return check_severity(threshold)
    except ArgumentError as exc:
        raise ArgumentError(argument, str(exc).removeprefix("--severity ")) from exc


def _rank(severity: str) -> int:
    return SEVERITIES.index(severity) if severity in SEVERITIES else 0

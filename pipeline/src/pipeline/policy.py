"""Read a Trivy JSON report and apply the severity gate (pure functions)."""

import json
from dataclasses import dataclass
from typing import Any

from pipeline.errors import ArgumentError

SEVERITIES = ("UNKNOWN", "LOW", "MEDIUM", "HIGH", "CRITICAL")
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

    @property
    def passed(self) -> bool:
        """True when no finding reaches the threshold."""
        return not self.failing

    def message(self, step: str) -> str:
        """A one-paragraph verdict naming every failing finding."""
        head = f"{step}: {len(self.failing)} of {self.total} findings at or above {self.threshold}"
        if self.passed:
            return f"{step}: passed ({self.total} findings, none at or above {self.threshold})"
        return "\n".join([head + ":", *(f"  - {f.line()}" for f in self.failing)])


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


def gate(findings: list[Finding], threshold: str) -> GateResult:
    """Fail on every finding whose severity is at or above the threshold."""
    level = SEVERITIES.index(check_severity(threshold))
    failing = tuple(f for f in findings if _rank(f.severity) >= level)
    return GateResult(check_severity(threshold), failing, len(findings))


def _rank(severity: str) -> int:
    return SEVERITIES.index(severity) if severity in SEVERITIES else 0

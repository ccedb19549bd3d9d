"""Exceptions that expire (pipeline.vuln_exceptions) and the gate's verdict on them.

The report is the documented fixture in Trivy's real JSON format (fixtures/README.md);
`today` is injected, so every date below is fixed.
"""

import re
from datetime import date
from pathlib import Path

import pytest
from pipeline.errors import ArgumentError
from pipeline.policy import Finding, environment_threshold, gate, parse_report
from pipeline.steps.scanner import GateFailedError
from pipeline.summary import StepResult, failure_detail, render_summary
from pipeline.vuln_exceptions import ExceptionFileError, parse, review

from tests.pipeline.tools import ROOT

FIXTURES = Path(__file__).parent / "fixtures"
REPORT = (FIXTURES / "trivy-image-report.json").read_text()
TODAY = date(2026, 11, 29)
ACCEPTED = """
vulnerabilities:
  - id: CVE-2024-6345
    statement: setuptools is never imported at run time (accepted by the platform team)
    expired_at: {expiry}
    purls: ["pkg:pypi/setuptools@65.5.0"]
"""


def accepted(expiry: str) -> str:
    """The exception file with one accepted HIGH vulnerability, expiring on `expiry`."""
    return ACCEPTED.format(expiry=expiry)


def findings(*, honoured: bool) -> list[Finding]:
    """The fixture's Python and libssl3 findings; Trivy drops the accepted one while it holds."""
    wanted = {"CVE-2024-2511"} | (set() if honoured else {"CVE-2024-6345"})
    return [f for f in parse_report(REPORT) if f.ident in wanted]


def test_a_valid_entry_passes_the_gate() -> None:
    """While the exception holds, Trivy hides the HIGH finding and the HIGH gate passes."""
    result = gate(findings(honoured=True), "HIGH", review(accepted("2027-01-31"), TODAY))
    assert result.passed, result.message("scan")


def test_a_passing_gate_says_which_exception_expires_next() -> None:
    """The summary row of a passing gate shows the exceptions it relied on, soonest first."""
    sooner = "  - id: CVE-2024-0002\n    statement: s\n    expired_at: 2026-12-15\n"
    text = accepted("2027-01-31") + sooner
    message = gate(findings(honoured=True), "HIGH", review(text, TODAY)).message("scan")
    assert message == (
        "scan: passed (1 findings, none at or above HIGH;"
        " 2 accepted exception(s), next expiring 2026-12-15 (CVE-2024-0002))"
    )


def test_an_expired_entry_fails_the_gate_and_names_it() -> None:
    """Past its date the entry fails the gate, named with its statement and expiry."""
    result = gate(findings(honoured=False), "HIGH", review(accepted("2026-11-01"), TODAY))
    lines = result.message("audit").splitlines()
    assert not result.passed
    assert (
        lines[0]
        == "audit: 1 expired exception(s) (CVE-2024-6345); 1 of 2 findings at or above HIGH:"
    )
    assert lines[1] == (
        "  - expired exception CVE-2024-6345 (vulnerability, expired_at 2026-11-01):"
        " setuptools is never imported at run time (accepted by the platform team)"
    )


def test_an_expired_entry_fails_even_when_the_finding_is_gone() -> None:
    """A stale exception is a review nobody did: it fails with no finding left at all."""
    assert not gate([], "HIGH", review(accepted("2026-11-01"), TODAY)).passed


def test_an_entry_expires_on_its_date_as_trivy_stops_honouring_it() -> None:
    """Trivy ignores an entry from 00:00 UTC on expired_at: the gate fails from that day on."""
    assert review(accepted("2026-11-29"), TODAY).expired
    assert not review(accepted("2026-11-30"), TODAY).expired


def test_the_summary_names_the_expired_entry() -> None:
    """The ci summary's row and its failure section carry the entry's id, statement, expiry."""
    message = gate([], "HIGH", review(accepted("2026-01-31"), TODAY)).message("scan")
    step = StepResult("scan", False, failure_detail(GateFailedError(message)))
    summary = render_summary([step], revision="abc123")
    assert "| scan | FAILED | scan: 1 expired exception(s) (CVE-2024-6345)" in summary
    assert "expired_at 2026-01-31): setuptools is never imported at run time" in summary


@pytest.mark.parametrize(("entry", "named"), [
    ("  - id: CVE-1\n    expired_at: 2027-01-31\n", "vulnerabilities[0] (CVE-1) has no statement"),
    ("  - id: CVE-2\n    statement: fine\n", "vulnerabilities[0] (CVE-2) has no expired_at"),
    ("  - id: CVE-3\n    statement: ok\n    expired_at: soon\n", "expired_at must be a date"),
    ("  - statement: fine\n    expired_at: 2027-01-31\n", "vulnerabilities[0] has no id"),
    ("  - id: CVE-4\n    statement: x\n    expired_at: 2027-01-31\n    until: 1\n", "key(s) until"),
])  # fmt: skip
def test_an_incomplete_entry_is_an_error_naming_it(entry: str, named: str) -> None:
    """Each exception must say why and until when; the error names the entry."""
    with pytest.raises(ExceptionFileError, match=re.escape(named)):
        parse("vulnerabilities:\n" + entry)


def test_the_second_entry_is_named_by_its_position_and_id() -> None:
    """The position in its section and the id locate a bad entry in a long file."""
    text = accepted("2027-01-31") + "  - id: CVE-2024-9999\n    expired_at: 2027-01-31\n"
    with pytest.raises(ExceptionFileError, match=r"vulnerabilities\[1\] \(CVE-2024-9999\)"):
        parse(text)


def test_the_flat_format_is_refused_with_the_reason() -> None:
    """A line-per-id .trivyignore cannot say why or until when."""
    with pytest.raises(ExceptionFileError, match=r"flat \.trivyignore format has no statement"):
        parse("CVE-2024-6345\nCVE-2023-4863\n")


def test_an_unknown_section_is_refused() -> None:
    """A misspelt section would silently accept nothing: refused."""
    with pytest.raises(ExceptionFileError, match="unknown section"):
        parse("vulnerabilites: []\n")


def test_an_empty_file_accepts_nothing() -> None:
    """No file, or an empty one: no exceptions, nothing expired."""
    assert review("", TODAY).accepted == ()
    assert review("vulnerabilities: []\n", TODAY).accepted == ()


def test_every_section_is_held_to_the_same_rules() -> None:
    """Misconfigurations and secrets expire too, with the kind named."""
    text = "misconfigurations:\n  - id: DS-0002\n    statement: s\n    expired_at: 2026-01-01\n"
    (risk,) = review(text, TODAY).expired
    assert risk.line() == "DS-0002 (misconfiguration, expired_at 2026-01-01): s"


def test_the_repository_exception_file_is_well_formed() -> None:
    """The reviewed file at the root parses: every entry has a statement and an expiry."""
    parse((ROOT / ".trivyignore.yaml").read_text())


@pytest.mark.parametrize(("env", "threshold"), [("staging", "HIGH"), ("production", "MEDIUM")])
def test_production_promotion_has_the_stricter_default(env: str, threshold: str) -> None:
    """Defaults: HIGH for ci and staging, MEDIUM for promotion to production."""
    assert environment_threshold(env) == threshold


@pytest.mark.parametrize(("severity", "threshold"), [("LOW", "LOW"), ("CRITICAL", "MEDIUM")])
def test_the_production_default_is_never_laxer_than_severity(severity: str, threshold: str) -> None:
    """Unset, production's bar is MEDIUM, or --severity when that is stricter."""
    assert environment_threshold("production", severity) == threshold
    assert environment_threshold("staging", severity) == severity


def test_a_laxer_production_threshold_is_refused() -> None:
    """Promotion only tightens the gate: production above --severity names its flag."""
    with pytest.raises(ArgumentError, match="--production-severity must be at least as strict"):
        environment_threshold("production", "HIGH", "CRITICAL")
    with pytest.raises(ArgumentError, match="--production-severity must be one of"):
        environment_threshold("production", "HIGH", "SEVERE")

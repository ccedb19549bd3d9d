"""The pure decisions: reading Trivy reports, the severity gate, the summary."""

import json

import pytest
from pipeline.errors import ArgumentError
from pipeline.policy import Finding, check_severity, gate, parse_report
from pipeline.summary import StepResult, failed_steps, notification, render_summary

from tests.pipeline.plan_helpers import REPORT


def test_parse_report_reads_every_kind_of_finding() -> None:
    """Vulnerabilities, failed misconfigurations and secrets become findings; passes do not."""
    kinds = [f.kind for f in parse_report(REPORT)]
    assert kinds.count("Vulnerabilities") == 4
    assert kinds.count("Misconfigurations") == 1


def test_parse_report_of_an_empty_scan() -> None:
    """A report with no results (or an empty file) has no findings."""
    assert parse_report('{"SchemaVersion": 2}') == []
    assert parse_report("") == []


@pytest.mark.parametrize(
    ("threshold", "failing"), [("CRITICAL", 1), ("HIGH", 3), ("MEDIUM", 4), ("LOW", 5)]
)
def test_gate_counts_findings_at_or_above_the_threshold(threshold: str, failing: int) -> None:
    """The fixture's known findings: 1 CRITICAL, 2 HIGH, 1 MEDIUM, 1 LOW."""
    assert len(gate(parse_report(REPORT), threshold).failing) == failing


def test_gate_message_lists_each_failing_finding() -> None:
    """The failure names the severity, id and target of every failing finding."""
    message = gate(parse_report(REPORT), "HIGH").message("scan")
    assert message.startswith("scan: 3 of 5 findings at or above HIGH:")
    assert "  - CRITICAL CVE-2023-4863 in image.tar (debian 12.7)" in message


def test_gate_passes_and_says_so() -> None:
    """No finding at the threshold: passed, with the count in the message."""
    result = gate([Finding("Vulnerabilities", "CVE-1", "LOW", "x", "t")], "high")
    assert result.passed
    assert result.message("scan") == "scan: passed (1 findings, none at or above HIGH)"


def test_unknown_severity_names_the_argument() -> None:
    """A misspelt threshold is refused, naming the flag `--severity`."""
    with pytest.raises(ArgumentError, match="--severity must be one of"):
        check_severity("urgent")


def test_summary_is_a_table_with_the_digest() -> None:
    """The summary shows each step, its result, and the image digest."""
    text = render_summary([StepResult("lint", True), StepResult("scan", False, "2 findings\nmore")],
                          revision="abc", digest="r@sha256:1")  # fmt: skip
    assert "# ci FAILED at abc" in text
    assert "| scan | FAILED | 2 findings |" in text
    assert "image: r@sha256:1" in text


def test_notification_names_steps_revision_and_run() -> None:
    """One Slack-compatible message: failed steps, revision, run link."""
    steps = [StepResult("lint", True), StepResult("audit", False)]
    text = json.loads(notification(failed_steps(steps), revision="abc", run_url="https://r/1"))[
        "text"
    ]
    assert text == "ci failed at abc: audit. Run: https://r/1"

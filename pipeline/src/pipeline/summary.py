"""The CI summary and the failure notification (pure functions)."""

import json
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class StepResult:
    """What one step of `ci` did: its name, whether it passed, and one line of detail."""

    name: str
    passed: bool
    detail: str = ""


def render_summary(steps: list[StepResult], *, revision: str, digest: str = "") -> str:
    """A readable Markdown summary: what ran, the gate results, the digest."""
    verdict = "passed" if all(s.passed for s in steps) else "FAILED"
    rows = [f"| {s.name} | {'ok' if s.passed else 'FAILED'} | {_cell(s.detail)} |" for s in steps]
    lines = [
        f"# ci {verdict} at {revision or 'unknown revision'}",
        "",
        "| step | result | detail |",
        "|---|---|---|",
        *rows,
    ]
    failures = [f"## {s.name}\n\n{s.detail.strip()}\n" for s in steps if not s.passed]
    return "\n".join([*lines, "", f"image: {digest or 'not published'}", "", *failures])


def _cell(text: str) -> str:
    first = text.strip().splitlines()[0] if text.strip() else ""
    return first.replace("|", "\\|")[:200]


def failed_steps(steps: list[StepResult]) -> list[str]:
    """The names of the steps that failed, in order."""
    return [s.name for s in steps if not s.passed]


def notification(failed: list[str], *, revision: str, run_url: str) -> str:
    """The one JSON message posted to the webhook (Slack-compatible `text`)."""
    where = revision or "unknown revision"
    text = f"ci failed at {where}: {', '.join(failed)}. Run: {run_url or 'local'}"
    return json.dumps({"text": text})

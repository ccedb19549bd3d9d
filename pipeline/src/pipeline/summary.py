"""The CI summary, the failure notification, and what a step's outcome says (pure)."""

import json
import shlex
from dataclasses import dataclass

import dagger

from pipeline.errors import PipelineError

# How much of a failed tool's output the summary keeps: enough for a pytest failure
# list or a ruff report, not a whole log.
TAIL_LINES = 30
COMMAND_CHARS = 80


@dataclass(frozen=True, slots=True)
class StepResult:
    """What one step of `ci` did: its name, whether it passed, and its detail.

    The detail's first line is its headline (the summary table's cell); the rest
    is shown under the table for failed steps.
    """

    name: str
    passed: bool
    detail: str = ""


def passed_detail(output: object) -> str:
    """A passing step's headline: its output's last line (pytest's `84 passed in 3s`)."""
    if not isinstance(output, str):
        return ""
    lines = [line.strip(" =") for line in output.splitlines() if line.strip(" =")]
    return lines[-1] if lines else ""


def failure_detail(error: BaseException) -> str:
    """Why a step failed: for a failed command its tool's own last lines, else the message.

    A failed exec's `str()` is only `exit code: N [traceparent:...]`; the tool's words
    are in its stderr (or stdout, where tools like pytest and ruff report).
    """
    if not isinstance(error, dagger.ExecError):
        known = isinstance(error, PipelineError | dagger.QueryError)
        return str(error).strip() if known else f"{type(error).__name__}: {error}"
    output = error.stderr if error.stderr.strip() else error.stdout
    tail = [line for line in output.splitlines() if line.strip()][-TAIL_LINES:]
    headline = tail[-1].strip(" =") if tail else "no output"
    exited = f"`{_command(error.command)}` exited {error.exit_code}"
    return "\n".join(
        [headline, "", exited + ":", "", *tail] if len(tail) > 1 else [headline, "", exited + "."]
    )


def _command(argv: list[str]) -> str:
    """A command as a short line: scripts (sh -ec '...') are cut after their first line."""
    line = shlex.join(argv).splitlines()[0] if argv else "a command"
    return line if len(line) <= COMMAND_CHARS else line[: COMMAND_CHARS - 1] + "…"


def render_summary(steps: list[StepResult], *, revision: str, digest: str = "") -> str:
    """A readable Markdown summary: what ran, the gate results, the digest."""
    verdict = "passed" if all(s.passed for s in steps) else "FAILED"
    rows = [f"| {s.name} | {'ok' if s.passed else 'FAILED'} | {_cell(s.detail)} |" for s in steps]
    lines = [
        f"# ci {verdict} at {revision}",
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
    text = f"ci failed at {revision}: {', '.join(failed)}. Run: {run_url or 'local'}"
    return json.dumps({"text": text})

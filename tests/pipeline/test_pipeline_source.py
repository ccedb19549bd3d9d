"""The source the pipeline uploads: the allowlist, less everything git ignores.

Plain checks of pipeline.source's lists (module mode's `Ignore`, client mode's
`exclude`); the paths are judged by a small .dockerignore matcher written here.
"""

import re

import pytest
from pipeline.source import ALLOWLIST, GITIGNORED, SOURCE_IGNORE

from tests.pipeline.tools import ROOT


def _as_ignore(line: str) -> str:
    """A .gitignore line in .dockerignore form: a name without a slash matches at any depth."""
    pattern = line.strip().rstrip("/")
    return pattern.lstrip("/") if "/" in pattern else f"**/{pattern}"


def _gitignore() -> list[str]:
    lines = (ROOT / ".gitignore").read_text().splitlines()
    return [line for line in lines if line.strip() and not line.startswith("#")]


def _regex(pattern: str) -> re.Pattern[str]:
    """.dockerignore syntax: ** any folders, * and ? within one name, [...] a class."""
    names = [
        "(?:[^/]+/)*" if name == "**" else re.sub(r"\\\*", "[^/]*", re.escape(name)) + "/"
        for name in pattern.strip("/").split("/")
    ]
    text = "".join(names).removesuffix("/").replace(r"\?", "[^/]").replace(r"\[", "[")
    return re.compile(text.replace(r"\]", "]"))


def uploaded(path: str) -> bool:
    """Whether `path` is sent: the last pattern matching it or a parent folder decides."""
    parents = ["/".join(path.split("/")[:depth]) for depth in range(1, path.count("/") + 2)]
    verdict = True
    for pattern in SOURCE_IGNORE:
        regex = _regex(pattern.removeprefix("!"))
        if any(regex.fullmatch(parent) for parent in parents):
            verdict = pattern.startswith("!")
    return verdict


@pytest.mark.parametrize("line", _gitignore())
def test_every_gitignore_line_has_its_entry(line: str) -> None:
    """Each pattern of .gitignore is re-stated in GITIGNORED."""
    assert _as_ignore(line) in GITIGNORED


def test_gitignored_restates_the_gitignore_and_nothing_else() -> None:
    """No entry is left behind when a line leaves .gitignore."""
    assert sorted(GITIGNORED) == sorted(map(_as_ignore, _gitignore()))


def test_what_git_ignores_comes_last_so_it_wins() -> None:
    """Later patterns win: the re-includes cannot bring back an ignored file."""
    assert [*ALLOWLIST, *GITIGNORED] == SOURCE_IGNORE
    assert not [p for p in GITIGNORED if p.startswith("!")]


@pytest.mark.parametrize(
    "path",
    [
        "service/hello.db",
        "service/__pycache__/app.cpython-311.pyc",
        "tests/pipeline/.pytest_cache/v/cache",
        "pipeline/sdk/pyproject.toml",
        "k8s/node_modules/x/index.js",
        ".venv/bin/python",
        "docs/pipeline.md",
        ".git/HEAD",
    ],
)
def test_ignored_or_unlisted_files_are_not_uploaded(path: str) -> None:
    """A git-ignored file under an allowlisted folder stays home, as does anything unlisted."""
    assert not uploaded(path)


@pytest.mark.parametrize(
    "path",
    [
        "service/app.py",
        "tests/unit/test_app.py",
        "requirements-dev.lock",
        "pipeline/src/pipeline/main.py",
        "scripts/tools/lib.bash",
        ".github/workflows/ci.yml",
        "dagger.json",
        "k8s/base/kustomization.yaml",
        ".trivyignore.yaml",
    ],
)
def test_what_the_steps_read_is_uploaded(path: str) -> None:
    """The service, its tests, the locks, the accepted risks, and what `self-test` reads."""
    assert uploaded(path)

"""What of the repository the pipeline reads: one allowlist for module and client mode.

Module mode applies it as the `Ignore` of the `source` argument (`DefaultPath("/")`);
client mode (`python -m pipeline`) as the `exclude` of the host directory it uploads.
Both use .dockerignore syntax: exclude everything, then re-include what steps read.
"""

from typing import Final

# Only what the steps read is uploaded. The README is part of the image (package
# metadata) but not of the checks' input (pipeline.steps.python_env.CODE), so editing it or the
# docs does not invalidate the test steps' cache. pipeline/, scripts/, .github/,
# dagger.json and .gitignore are what `self-test` reads (the module's own tests, their
# tools, the workflows).
ALLOWLIST: Final = [
    "*",
    "!service/",
    "!tests/",
    "!pyproject.toml",
    "!requirements.lock",
    "!requirements-dev.lock",
    "!README.md",
    "!Dockerfile",
    "!.dockerignore",
    "!.trivyignore.yaml",
    "!k8s/",
    "!pipeline/",
    "!scripts/",
    "!.github/",
    "!dagger.json",
    "!.gitignore",
]
# The repository's .gitignore, re-stated (the module cannot read it before the upload):
# nothing git ignores is uploaded, even under an allowlisted folder (service/hello.db).
# Last, so they win over the allowlist's re-includes. A .gitignore name without a
# slash matches at any depth (**/NAME); one with a slash is anchored at the root.
# tests/pipeline/test_pipeline_source.py checks the two lists agree.
GITIGNORED: Final = [
    "**/__pycache__",
    "**/*.py[cod]",
    "**/.venv",
    "**/.tools",
    "**/.pytest_cache",
    "**/.ruff_cache",
    "**/.mypy_cache",
    "**/.coverage",
    "**/coverage.xml",
    "**/htmlcov",
    "**/dist",
    "**/build",
    "**/*.egg-info",
    "**/hello.db",
    "**/uv.lock",
    "**/node_modules",
    "pipeline/sdk",
]
SOURCE_IGNORE: Final = [*ALLOWLIST, *GITIGNORED]

"""The hello-world-api pipeline: lint, test, build, scan, SBOM, publish, sign and verify.

Every step is one function; `ci` runs them all, the same way on a laptop
(`dagger call ci`) and in a one-line CI job. Another Python service repository
can call it with its own `--source` (see docs/pipeline.md for what it expects).
"""

from pipeline.main import Pipeline

__all__ = ["Pipeline"]

"""What every step is given: the source, its checkout, the tool images and the trust settings.

`Pipeline` (main.py) builds one Toolbox from its constructor options; the step objects
in `pipeline.steps` receive it explicitly instead of reading attributes of a shared
base class, so each step shows what it uses.
"""

from dataclasses import dataclass

import dagger

from pipeline.commands import Sigstore, TrivyDb

TRUSTED_ROOT = "/in/trusted_root.json"


@dataclass(frozen=True)
class Images:
    """The tool images, each pinned in pipeline.images and overridable for a mirror."""

    python: str
    postgres: str
    trivy: str
    syft: str
    cosign: str
    alpine: str
    curl: str
    git: str
    crane: str


@dataclass(frozen=True)
class Toolbox:
    """One run's inputs that are not a function's own arguments."""

    source: dagger.Directory
    git: dagger.GitRef | None
    images: Images
    trivy_db: TrivyDb
    rekor_url: str = ""
    fulcio_url: str = ""
    trusted_root: dagger.File | None = None
    no_tlog: bool = False

    def sigstore(self) -> Sigstore:
        """The Sigstore settings as the cosign builders take them (the root as its path)."""
        root = TRUSTED_ROOT if self.trusted_root else ""
        return Sigstore(self.rekor_url, self.fulcio_url, root, self.no_tlog)

"""Client mode's results (pipeline.client.results), pure: where files go, what is shown."""

import dagger
from dagger.mod import Module
from pipeline.client.results import export_path, fields

mod = Module()  # not the default module: nothing here is registered with the pipeline


@mod.object_type
class Report:
    """A returned object: its summary is printed, its directories exported."""

    summary: str = mod.field()
    evidence_dir: dagger.Directory | None = mod.field(default=None)
    hidden: str = "not a field"


def test_an_exported_file_keeps_its_suffixes() -> None:
    """`sbom` returns sbom.spdx.json: exported as ./sbom.spdx.json."""
    assert export_path("sbom", "sbom.spdx.json") == "sbom.spdx.json"
    assert export_path("report", "") == "report"


def test_a_returned_objects_fields_are_its_dagger_fields() -> None:
    """Only `dagger.field()` attributes, by their typed (kebab-case) names."""
    assert fields(Report(summary="ok")) == {"summary": "ok", "evidence-dir": None}
    assert fields("a string") == {}

"""The security gates: Trivy on the image tarball (scan) and on the source (audit)."""

import re
from dataclasses import dataclass, field
from datetime import date

import dagger
from dagger import dag

from pipeline import commands
from pipeline.commands import TRIVY_CACHE, TrivyDb
from pipeline.errors import PipelineError
from pipeline.inputs import Gate
from pipeline.policy import GateResult, check_severity, gate, parse_report
from pipeline.toolbox import Toolbox
from pipeline.vuln_exceptions import IGNORE_FILE, ExceptionReview, review, utc_today

# What trivy 0.76's fatal error says when a database cannot be had: "init error: DB
# error: ..." for the vulnerability DB, "Java DB error: ..." for the Java one.
_DB_ERRORS = ("DB error", "Java DB")
_LOG_PREFIX = re.compile(r"^(\S+\s+)?(FATAL|ERROR|WARN|INFO)\s+(Fatal error\s+)?")
_MIRROR_HINT = (
    "Point --trivy-db-repository (and --trivy-java-db-repository) at a mirror the engine"
    " reaches, or pass --trivy-skip-db-update to scan with the database already cached."
)
_CACHE_HINT = (
    "--trivy-skip-db-update uses the cached database, and the cache has none yet:"
    " run once where the repository is reachable."
)
# Trivy compares each exception's expired_at with its own clock: a new value every day
# keeps yesterday's exec (and its verdict on the exceptions) from being replayed.
EXCEPTIONS_DAY = "TRIVY_EXCEPTIONS_DAY"


class GateFailedError(PipelineError):
    """A security gate found findings at or above its threshold."""


class TrivyDatabaseError(PipelineError):
    """Trivy could not get a vulnerability database: no scan ran, so nothing passed."""


@dataclass(frozen=True)
class Scanner:
    """Trivy gates: reports of an image or of the source, and the gate's verdict on them.

    `today` is read when the Scanner is made, i.e. on every call of a function (never
    from a cache): an exception expires on its date even if nothing else changed.
    """

    tools: Toolbox
    today: date = field(default_factory=utc_today)

    def ignore_file(self, given: dagger.File | None) -> dagger.File:
        """The accepted risks: the given file, else the source's .trivyignore.yaml, else none."""
        if given is not None:
            return given
        found = self.tools.source.filter(include=[IGNORE_FILE])
        with_default = dag.directory().with_new_file(IGNORE_FILE, "").with_directory(".", found)
        return with_default.file(IGNORE_FILE)

    async def exceptions(self, ignore: dagger.File) -> ExceptionReview:
        """The exception file checked (every entry has a statement and an expiry) for today."""
        return review(await ignore.contents(), self.today)

    def trivy(self, ignore: dagger.File) -> dagger.Container:
        """Trivy with its vulnerability DB in a LOCKED cache (one writer at a time)."""
        return (
            dag.container()
            .from_(self.tools.images.trivy)
            .with_mounted_cache(
                TRIVY_CACHE, dag.cache_volume("trivy-db"), sharing=dagger.CacheSharingMode.LOCKED
            )
            .with_file(f"/scan/{IGNORE_FILE}", ignore)
            .with_env_variable(EXCEPTIONS_DAY, self.today.isoformat())
            .with_workdir("/scan")
            .with_directory("/scan/out", dag.directory())
        )

    async def scan_image(
        self, image: dagger.Container, gate_args: Gate, ignore: dagger.File | None = None
    ) -> tuple[dagger.Directory, GateResult]:
        """The reports of one image (from its tarball, before any push) and the verdict."""
        check_severity(gate_args.severity)
        ignore_file = self.ignore_file(ignore)
        db = self.tools.trivy_db
        scan = commands.trivy_image(
            "image.tar", "out/image.json", ignore_unfixed=gate_args.ignore_unfixed, db=db
        )
        scanned = (
            self.trivy(ignore_file)
            .with_file("/scan/image.tar", image.as_tarball())
            .with_exec(scan)
            .with_exec(commands.trivy_sarif("out/image.json", "out/image.sarif"))
        )
        findings = parse_report(await report(scanned, "out/image.json", db))
        exceptions = await self.exceptions(ignore_file)
        return scanned.directory("out"), gate(findings, gate_args.severity, exceptions)

    async def audit_source(
        self, gate_args: Gate, ignore: dagger.File | None = None
    ) -> tuple[dagger.Directory, GateResult]:
        """The dependency (requirements.lock) and source reports and the verdict on both."""
        check_severity(gate_args.severity)
        ignore_file = self.ignore_file(ignore)
        # Trivy recognises pip lock files by the name requirements.txt.
        lock = self.tools.source.file("requirements.lock")
        deps = dag.directory().with_file("requirements.txt", lock)
        db = self.tools.trivy_db
        vulnerabilities = commands.trivy_fs(
            "/deps", "out/dependencies.json", "vuln", ignore_unfixed=gate_args.ignore_unfixed, db=db
        )
        source = commands.trivy_fs("/src", "out/source.json", "misconfig,secret", db=db)
        scanned = (
            self.trivy(ignore_file)
            .with_directory("/deps", deps)
            .with_directory("/src", self.tools.source)
            .with_exec(vulnerabilities)
            .with_exec(source)
            .with_exec(commands.trivy_sarif("out/dependencies.json", "out/dependencies.sarif"))
            .with_exec(commands.trivy_sarif("out/source.json", "out/source.sarif"))
        )
        texts = [
            await report(scanned, f"out/{name}.json", db) for name in ("dependencies", "source")
        ]
        findings = [f for t in texts for f in parse_report(t)]
        exceptions = await self.exceptions(ignore_file)
        return scanned.directory("out"), gate(findings, gate_args.severity, exceptions)


async def report(scanned: dagger.Container, path: str, db: TrivyDb) -> str:
    """A report trivy wrote; a missing database fails clearly instead of as `exit code: 1`."""
    try:
        return await scanned.file(path).contents()
    except dagger.ExecError as exc:
        message = database_failure(exc.stderr or exc.stdout, db)
        if message is None:
            raise
        raise TrivyDatabaseError(message) from exc


def database_failure(output: str, db: TrivyDb) -> str | None:
    """Why trivy had no database, naming the repository; None when that is not why it failed."""
    fatal = output[output.rfind("FATAL") :]  # earlier lines are progress, not the cause
    if not any(mark in fatal for mark in _DB_ERRORS):
        return None
    java = "Java DB" in fatal
    what = "Java database" if java else "vulnerability database"
    lines = [line.strip() for line in fatal.splitlines() if line.strip()]
    last = _LOG_PREFIX.sub("", lines[-1]).removeprefix("* ").replace("\t", " ")
    hint = _CACHE_HINT if db.skip_update else _MIRROR_HINT
    return f"trivy could not get its {what} from {db.source(java)}: {last}\n{hint}"


def passed_or_raise(reports: dagger.Directory, result: GateResult, step: str) -> dagger.Directory:
    """The reports when the gate passed; otherwise an error listing the failing findings."""
    if not result.passed:
        raise GateFailedError(result.message(step))
    return reports

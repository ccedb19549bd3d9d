"""`ci` composes every step; `evidence` keeps their reports; `serve` runs the API locally."""

from collections.abc import Awaitable
from typing import Annotated, Any

import anyio
import dagger
from dagger import Doc, dag, function

from pipeline import commands
from pipeline.arguments import (
    Created,
    DbPassword,
    IgnoreUnfixed,
    KeyPassword,
    OidcToken,
    Platforms,
    PrivateKey,
    RegistryPassword,
    RegistryUser,
    Revision,
    Severity,
    SourceUrl,
    Version,
)
from pipeline.checks import Checks
from pipeline.effects import always_run
from pipeline.errors import PipelineError
from pipeline.revision import source_commit
from pipeline.security import passed_or_raise
from pipeline.summary import (
    StepResult,
    failed_steps,
    failure_detail,
    notification,
    passed_detail,
    render_summary,
)
from pipeline.supply_chain import SupplyChain

# The revision a summary names when neither --revision nor a git checkout says one.
UNKNOWN_REVISION = "an unknown revision (pass --revision)"


class PipelineFailedError(PipelineError):
    """A step of `ci` failed; the message is the summary."""


class Record:
    """The steps run so far and their results."""

    def __init__(self) -> None:
        self.steps: list[StepResult] = []

    @property
    def ok(self) -> bool:
        """True while no step has failed."""
        return not failed_steps(self.steps)

    async def run(self, name: str, step: Awaitable[Any]) -> Any:
        """Await one step and record it; any failure is recorded, never lost with the others."""
        try:
            result = await step
        except Exception as exc:  # every failure becomes a row of the summary
            self.steps.append(StepResult(name, False, failure_detail(exc)))
            return None
        self.steps.append(StepResult(name, True, passed_detail(result)))
        return result


class Run(SupplyChain, Checks):
    """The whole pipeline, and the service for local work."""

    git: dagger.GitRef | None

    @function(cache="never")
    async def ci(
        self,
        address: Annotated[str, Doc("Registry address; when set, publish, sign and attest.")] = "",
        platforms: Platforms = [],  # noqa: B006 (Dagger arguments are not mutated)
        username: RegistryUser = "",
        password: RegistryPassword = None,
        private_key: PrivateKey = None,
        key_password: KeyPassword = None,
        oidc_token: OidcToken = None,
        version: Version = "dev",
        revision: Revision = "",
        created: Created = "",
        source_url: SourceUrl = "",
        severity: Severity = "HIGH",
        ignore_unfixed: IgnoreUnfixed = True,
        run_url: Annotated[str, Doc("Link to this run, for the notification.")] = "",
        webhook: Annotated[
            dagger.Secret | None, Doc("Webhook URL (e.g. Slack) told when a step fails.")
        ] = None,
    ) -> str:
        """Lint, audit, test while building; scan, SBOM; with an address publish, sign, attest."""
        revision = await self.revision_of(revision)
        record = Record()
        variants = self.build_all(platforms, version, revision, created, source_url)
        async with anyio.create_task_group() as group:
            group.start_soon(record.run, "lint", self.lint())
            group.start_soon(record.run, "test", self.test())
            group.start_soon(record.run, "integration", self.integration())
            audit = self.audit_source(severity, ignore_unfixed, None)
            group.start_soon(record.run, "audit", _gate("audit", audit))
            group.start_soon(record.run, "build", _sync_all(variants))
        sboms = self.platform_sboms(platforms, variants)
        if record.ok:
            for platform, variant in zip(platforms or [""], variants, strict=True):
                scan = self.scan_image(variant, severity, ignore_unfixed, None)
                await record.run(f"scan {platform}".strip(), _gate("scan", scan))
            await record.run("sbom", _sync_all(list(sboms.values()), "SBOM"))
        digest = ""
        if address and record.ok:
            pushed = await record.run("publish", self.push(address, variants, username, password))
            digest = pushed or ""
        if digest and (private_key or oidc_token):
            keys = {"private_key": private_key, "key_password": key_password}
            keys |= {"oidc_token": oidc_token, "username": username, "password": password}
            await record.run("sign", self.sign(digest, **keys))
            await record.run("attest", _count(self.attest_all(digest, sboms, **keys), "SBOM"))
        if not record.ok and webhook is not None:
            failed = failed_steps(record.steps)
            await record.run("notify", self.notify(webhook, failed, revision, run_url))
        summary = render_summary(record.steps, revision=revision, digest=digest)
        if not record.ok:
            raise PipelineFailedError(summary)
        return summary

    @function
    async def evidence(
        self,
        platforms: Platforms = [],  # noqa: B006 (Dagger arguments are not mutated)
        severity: Severity = "HIGH",
        ignore_unfixed: IgnoreUnfixed = True,
    ) -> dagger.Directory:
        """The gates' reports (JSON, SARIF) and an SBOM per platform, whatever the verdict."""
        variants = self.build_all(platforms)
        audit, _ = await self.audit_source(severity, ignore_unfixed, None)
        out = dag.directory().with_directory("audit", audit)
        for platform, variant in zip(platforms or ["default"], variants, strict=True):
            name = platform.replace("/", "-")
            scan, _ = await self.scan_image(variant, severity, ignore_unfixed, None)
            out = out.with_directory(f"scan-{name}", scan)
            out = out.with_file(f"sbom-{name}.spdx.json", self.sbom_of(variant))
        return out

    async def revision_of(self, revision: str) -> str:
        """The given revision, else the commit of the source's checkout."""
        return revision or await source_commit(self.git) or UNKNOWN_REVISION

    async def notify(
        self, webhook: dagger.Secret, failed: list[str], revision: str, run_url: str
    ) -> str:
        """Post one message naming the failed steps; the URL stays a secret."""
        await (
            dag.container()
            .from_(self.curl_image)
            .with_new_file(
                "/message.json", notification(failed, revision=revision, run_url=run_url)
            )
            .with_(always_run)
            .with_secret_variable("WEBHOOK_URL", webhook)
            .with_exec(commands.webhook_post("/message.json"))
            .sync()
        )
        return "webhook told"

    @function
    def serve(self, db_password: DbPassword = None) -> dagger.Service:
        """The API (the built image, migrated) with PostgreSQL: `serve up --ports 8000:8000`."""
        return (
            self.build()
            .with_(self.with_database(db_password, app_env="development"))
            .with_exec(["hello-api", "migrate"])
            .with_exposed_port(8000)
            .as_service(args=["hello-api", "serve"])
        )


async def _gate(step: str, reports: Awaitable[tuple[dagger.Directory, Any]]) -> str:
    directory, result = await reports
    passed_or_raise(directory, result, step)
    return str(result.message(step))


async def _sync_all(objects: list[Any], what: str = "image") -> str:
    for each in objects:
        await each.sync()
    return f"{len(objects)} {what}(s) made"


async def _count(step: Awaitable[list[str]], what: str) -> str:
    return f"{len(await step)} {what}(s) attested"

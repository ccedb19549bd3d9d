"""`ci` composes every step; `serve` runs the API with PostgreSQL for local work."""

from collections.abc import Awaitable
from typing import Annotated, Any

import anyio
import dagger
from dagger import Doc, dag, field, function, object_type

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
from pipeline.security import GateFailedError, passed_or_raise
from pipeline.summary import StepResult, failed_steps, notification, render_summary
from pipeline.supply_chain import SupplyChain


class PipelineFailedError(PipelineError):
    """A step of `ci` failed; the message is the summary."""


@object_type
class CiReport:
    """What `ci` hands back: the summary and the evidence (reports, SBOM, digest)."""

    summary: str = field()
    evidence: dagger.Directory = field()


class Record:
    """The steps run so far, their results and the evidence they produced."""

    def __init__(self) -> None:
        self.steps: list[StepResult] = []
        self.evidence = dag.directory()

    @property
    def ok(self) -> bool:
        """True while no step has failed."""
        return not failed_steps(self.steps)

    async def run(self, name: str, step: Awaitable[Any]) -> Any:
        """Await one step; record it as passed or failed (with the error's first line)."""
        try:
            result = await step
        except (dagger.QueryError, GateFailedError, ValueError) as exc:
            self.steps.append(StepResult(name, False, str(exc)))
            return None
        self.steps.append(StepResult(name, True, result if isinstance(result, str) else ""))
        return result


class Run(SupplyChain, Checks):
    """The whole pipeline, and the service for local work."""

    @function(cache="never")
    async def ci(
        self,
        address: Annotated[
            str, Doc('Registry address; when set, publish, sign and attest. Default "".')
        ] = "",
        platforms: Platforms = [],  # noqa: B006 (Dagger arguments are not mutated)
        username: RegistryUser = "",
        password: RegistryPassword = None,
        private_key: PrivateKey = None,
        key_password: KeyPassword = None,
        oidc_token: OidcToken = None,
        version: Version = "dev",
        revision: Revision = "unknown",
        created: Created = "",
        source_url: SourceUrl = "",
        severity: Severity = "HIGH",
        ignore_unfixed: IgnoreUnfixed = True,
        run_url: Annotated[str, Doc('Link to this run, for the notification. Default "".')] = "",
        webhook: Annotated[
            dagger.Secret | None,
            Doc("Webhook URL (e.g. Slack) told when a step fails. Default: none."),
        ] = None,
    ) -> CiReport:
        """Lint, audit, test while building; scan, SBOM; with an address publish, sign, attest."""
        record = Record()
        variants = self.build_all(platforms, version, revision, created, source_url)
        async with anyio.create_task_group() as group:
            group.start_soon(record.run, "lint", self.lint())
            group.start_soon(record.run, "test", self.test())
            group.start_soon(record.run, "integration", self.integration())
            group.start_soon(
                record.run,
                "audit",
                self._gate(record, "audit", self.audit_source(severity, ignore_unfixed, None)),
            )
            group.start_soon(record.run, "build", _sync_all(variants))
        if record.ok:
            for index, variant in enumerate(variants):
                scan = self.scan_image(variant, severity, ignore_unfixed, None)
                await record.run(
                    f"scan {platforms[index] if platforms else ''}".strip(),
                    self._gate(record, f"scan-{index}", scan),
                )
            sbom = self.sbom_of(variants[0])
            await record.run("sbom", sbom.sync())
            record.evidence = record.evidence.with_file("sbom.spdx.json", sbom)
        digest = ""
        if address and record.ok:
            digest = (
                await record.run("publish", self.push(address, variants, username, password)) or ""
            )
            record.evidence = record.evidence.with_new_file("digest.txt", digest + "\n")
        if digest and (private_key or oidc_token):
            keys = {
                "private_key": private_key,
                "key_password": key_password,
                "oidc_token": oidc_token,
            }
            await record.run(
                "sign", self.sign(digest, **keys, username=username, password=password)
            )
            await record.run(
                "attest", self.attest(digest, sbom, **keys, username=username, password=password)
            )
        summary = render_summary(record.steps, revision=revision, digest=digest)
        print(summary)
        if not record.ok:
            await self.notify(webhook, failed_steps(record.steps), revision, run_url)
            raise PipelineFailedError(summary)
        return CiReport(
            summary=summary, evidence=record.evidence.with_new_file("summary.md", summary)
        )

    async def _gate(
        self, record: Record, name: str, reports: Awaitable[tuple[dagger.Directory, Any]]
    ) -> str:
        directory, result = await reports
        record.evidence = record.evidence.with_directory(name, directory)
        passed_or_raise(directory, result, name)
        return result.message(name)

    async def notify(
        self, webhook: dagger.Secret | None, failed: list[str], revision: str, run_url: str
    ) -> None:
        """Post one message naming the failed steps; the URL stays a secret."""
        if webhook is None:
            return
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


async def _sync_all(variants: list[dagger.Container]) -> str:
    for variant in variants:
        await variant.sync()
    return f"{len(variants)} platform(s)"

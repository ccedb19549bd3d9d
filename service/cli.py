"""`hello-api`: run the server or apply the database migrations."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

import structlog

from service import __version__
from service.settings import ConfigError, Settings


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `hello-api` console script."""
    parser = argparse.ArgumentParser(prog="hello-api", description=__doc__)
    parser.add_argument("--version", action="version", version=__version__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("serve", help="serve HTTP on $PORT until SIGTERM")
    commands.add_parser("migrate", help="apply database migrations, then exit")
    args = parser.parse_args(argv)
    try:
        settings = Settings.from_env()
    except ConfigError as exc:
        print(f"hello-api: configuration error: {exc}", file=sys.stderr)
        return 2
    return _migrate(settings) if args.command == "migrate" else _serve(settings)


def _serve(settings: Settings) -> int:
    from service.app import create_app
    from service.server import ServeError, serve

    try:
        serve(create_app(settings), settings)
    except ServeError as exc:
        print(f"hello-api: {exc}", file=sys.stderr)
        return 2
    return 0


def _migrate(settings: Settings) -> int:
    # Imported here: Alembic is ~0.1-0.3 s of start-up that `serve` never needs.
    from service import migrations
    from service.observability import logging

    logging.configure(settings.log_level)
    log = structlog.get_logger("service.migrate")
    url = settings.database.url
    log.info("migrating", database=url.render_as_string(hide_password=True))
    try:
        done = migrations.upgrade(settings.database)
    except Exception as exc:
        log.error("migration failed", error=f"{type(exc).__name__}: {exc}")
        return 1
    if done.action == "ahead":
        # A rollback: the previous release's Job against the newer schema (expand/contract).
        log.info(
            "database is ahead of this code; left untouched",
            database_revision=list(done.database),
            code_revision=list(done.code),
        )
        return 0
    log.info("migrated", revision=list(done.code))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The `bozor` command."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy.ext.asyncio import AsyncSession

from bozor import localtime
from bozor.clikit import run as _run
from bozor.clikit import settings_or_exit as _settings
from bozor.clikit import with_session as _with_session
from bozor.featurekit import Feature
from bozor.settings import Settings, SettingsError, load_settings

# The core's commands; `create_cli` adds the enabled features' (`Feature.cli`).
app = typer.Typer(no_args_is_help=True)
db_app = typer.Typer(help="Database schema and data.", no_args_is_help=True)
app.add_typer(db_app, name="db")
apikey_app = typer.Typer(help="API keys of integrators.", no_args_is_help=True)
app.add_typer(apikey_app, name="apikey")


def _configure_logging(level: str, settings: Settings | None = None) -> None:
    from bozor.observability import logs

    if settings is None:
        logs.configure(level)
    else:
        logs.configure(
            level,
            settings.log_format,
            file=settings.log_file,
            max_bytes=settings.log_max_bytes,
            backups=settings.log_backups,
        )


def _stop_on_signals(stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)


def _serve(roles: frozenset[str]) -> None:
    from bozor.runtime import serve

    settings = _settings(for_bot=True)
    _configure_logging(settings.log_level, settings)

    async def main() -> None:
        stop = asyncio.Event()
        _stop_on_signals(stop)
        await serve(settings, stop=stop, roles=roles)

    try:
        _run(main())
    except SettingsError as exc:
        for line in str(exc).splitlines():  # several features' settings may be wrong at once
            typer.echo(f"error: {line}", err=True)
        raise typer.Exit(2) from None


@app.command()
def run() -> None:
    """Run everything in one process: the bot, the HTTP server and background jobs."""
    _serve(frozenset({"bot", "api", "worker"}))


@app.command()
def bot() -> None:
    """Only receive and answer updates (long polling, or webhooks on HTTP_PORT)."""
    _serve(frozenset({"bot"}))


@app.command()
def api() -> None:
    """Only serve the REST API on HTTP_PORT."""
    _serve(frozenset({"api"}))


@app.command()
def worker() -> None:
    """Only run background work: the outbox, webhook deliveries and scheduled jobs."""
    _serve(frozenset({"worker"}))


@app.command()
def demo(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    emulator_port: Annotated[int, typer.Option(help="Port of the Bot API emulator.")] = 8081,
    http_port: Annotated[int, typer.Option(help="Port of Bozor's HTTP server.")] = 8080,
    data_dir: Annotated[
        Path | None, typer.Option(help="Keep the demo database here (default: a temp folder).")
    ] = None,
) -> None:
    """Try Bozor without Telegram: the bundled emulator, the bot and sample people."""
    from bozor.demo.runner import run_demo

    _configure_logging("WARNING")

    async def main() -> None:
        stop = asyncio.Event()
        _stop_on_signals(stop)
        await run_demo(
            host=host,
            emulator_port=emulator_port,
            http_port=http_port,
            stop=stop,
            data_dir=data_dir,
        )

    _run(main())


@app.command()
def emulator(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8081,
    rate_limits: Annotated[
        bool,
        typer.Option(
            "--rate-limits",
            help="Enforce Telegram's flood limits (30/s, 1/s per chat, 20/min per group): 429.",
        ),
    ] = False,
    fault: Annotated[
        list[str] | None,
        typer.Option(
            help="A share of a method's calls fails: METHOD:CODE[:json|html|reset]:RATE, "
            "e.g. sendMessage:502:html:0.05 (repeatable).",
        ),
    ] = None,
) -> None:
    """Run the Telegram Bot API emulator alone (point TELEGRAM_API_URL at it)."""
    from bozor.emulator import FaultSpec, run_emulator

    try:
        faults = [FaultSpec.parse(text) for text in fault or ()]
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--fault") from None
    _configure_logging("INFO")
    run_emulator(host, port, rate_limits=rate_limits, faults=faults)


@db_app.command("upgrade")
def db_upgrade(revision: Annotated[str, typer.Argument()] = "head") -> None:
    """Apply migrations up to REVISION (default: the newest)."""
    from bozor import migrate
    from bozor.db import create_engine

    settings = _settings(auto_migrate=False)

    async def main() -> None:
        engine = create_engine(settings.database_url)
        try:
            await migrate.upgrade(engine, revision)
            typer.echo(f"database at {await migrate.current_revision(engine)}")
        finally:
            await engine.dispose()

    _run(main())


@db_app.command("current")
def db_current() -> None:
    """Show the schema revision of the database and the newest one available."""
    from bozor import migrate
    from bozor.db import create_engine

    settings = _settings()

    missing = _missing_sqlite_file(settings.database_url)
    if missing is not None:
        typer.echo(f"current: none (no database at {missing})  newest: {migrate.head_revision()}")
        raise typer.Exit(1)

    async def main() -> None:
        engine = create_engine(settings.database_url)
        try:
            current = await migrate.current_revision(engine)
            typer.echo(f"current: {current or 'empty'}  newest: {migrate.head_revision()}")
        finally:
            await engine.dispose()

    _run(main())


def _missing_sqlite_file(database_url: str) -> Path | None:
    """The file a SQLite URL names when it does not exist (opening it would create it)."""
    from sqlalchemy import make_url

    url = make_url(database_url)
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return None
    path = Path(url.database)
    return None if path.exists() else path


@db_app.command("revision")
def db_revision(message: Annotated[str, typer.Argument(help="What the change is.")]) -> None:
    """For developers: write a migration from the difference between models and database."""
    from bozor import migrate
    from bozor.db import create_engine

    settings = _settings()

    async def main() -> None:
        engine = create_engine(settings.database_url)
        try:
            await migrate.autogenerate(engine, message)
        finally:
            await engine.dispose()

    _run(main())


@db_app.command("backup")
def db_backup(
    path: Annotated[
        Path | None,
        typer.Argument(help="Where to write it (default: bozor-backup-<UTC time>.sqlite3)."),
    ] = None,
) -> None:
    """Copy the SQLite database to PATH, consistently, while Bozor runs (SQLite's online backup).
    For PostgreSQL use pg_dump (see docs/deployment.md)."""
    from bozor.backup import BackupError, backup_sqlite

    settings = _settings(auto_migrate=False)
    try:
        written = backup_sqlite(settings.database_url, path)
    except BackupError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    typer.echo(f"backup written to {written}")


@db_app.command("clear")
def db_clear(
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask (for scripts).")] = False,
) -> None:
    """Delete all data from every table, keeping the schema and its revision. Asks to type
    the database's name first."""
    from sqlalchemy import MetaData, text
    from sqlalchemy.engine import make_url

    from bozor import migrate
    from bozor.db import create_engine

    settings = _settings(auto_migrate=False)
    url = make_url(settings.database_url)
    word = Path(url.database or "").name or "clear"
    if not yes:
        typer.echo(
            f"This deletes every row of every table in {url.render_as_string(hide_password=True)}."
        )
        if typer.prompt(f"Type {word} to confirm", default="", show_default=False) != word:
            typer.echo("Not confirmed: nothing deleted.", err=True)
            raise typer.Exit(1)

    async def main() -> None:
        engine = create_engine(settings.database_url)
        try:
            async with engine.begin() as connection:
                metadata = MetaData()
                # Not what the models leave to the migrations (SQLite's full-text tables:
                # reflecting a virtual table fails, and triggers empty it with its rows).
                await connection.run_sync(
                    metadata.reflect, only=lambda name, _: migrate.include_name(name, "table", None)
                )
                tables = [t for t in metadata.sorted_tables if t.name != "alembic_version"]
                if not tables:
                    pass
                elif engine.dialect.name == "postgresql":
                    names = ", ".join(f'"{t.name}"' for t in tables)
                    await connection.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
                else:
                    for table in reversed(tables):  # children before parents
                        await connection.execute(table.delete())
                    sequences = await connection.scalar(
                        text("SELECT count(*) FROM sqlite_master WHERE name = 'sqlite_sequence'")
                    )
                    if sequences:
                        await connection.execute(text("DELETE FROM sqlite_sequence"))
            typer.echo(f"cleared {len(tables)} tables")
        finally:
            await engine.dispose()

    _run(main())


@app.command("secret-key")
def secret_key() -> None:
    """Print a new key for ENCRYPTION_KEYS (put it first to rotate; keep the old ones after)."""
    from bozor.crypto import new_key

    typer.echo(new_key())


@apikey_app.command("create")
def apikey_create(
    name: Annotated[str, typer.Argument(help="Who the key is for.")],
    scope: Annotated[
        list[str] | None,
        typer.Option(help="A feature's scope (referrals: integration calls) or admin; repeatable."),
    ] = None,
) -> None:
    """Create a key; it is shown once and only its hash is stored."""
    from bozor.apikeys import service as keys_service
    from bozor.errors import DomainError
    from bozor.features import FEATURES

    features_scopes = [name for feature in FEATURES for name in feature.api_scopes]
    known = {*keys_service.SCOPES, *features_scopes}
    scopes = scope or features_scopes[:1] or ["admin"]

    async def work(session: AsyncSession) -> None:
        try:
            created = await keys_service.create(
                session=session, name=name, scopes=scopes, known=known
            )
        except DomainError:
            listed = ", ".join(sorted(known))
            typer.echo(f"error: a name and known scopes are needed ({listed})", err=True)
            raise typer.Exit(2) from None
        typer.echo(f"key {created.key.id} '{created.key.name}' scopes: {created.key.scopes}")
        typer.echo(created.secret)
        typer.echo("Store it now: it cannot be shown again.", err=True)

    _with_session(work)


@apikey_app.command("list")
def apikey_list() -> None:
    """Every key with its scopes and state (never the secret)."""
    from bozor.apikeys import service as keys_service

    async def work(session: AsyncSession) -> None:
        keys = await keys_service.list_keys(session=session)
        if not keys:
            typer.echo("no API keys yet; `bozor apikey create NAME` makes one")
        for key in keys:
            state = f"revoked {localtime.day(key.revoked_at)}" if key.revoked_at else "active"
            used = localtime.show(key.last_used_at) if key.last_used_at else "never"
            typer.echo(
                f"{key.id:>4}  bzr_{key.prefix}_…  {key.name:<24} {key.scopes:<18} "
                f"{state:<18} last used {used}"
            )

    _with_session(work)


@apikey_app.command("revoke")
def apikey_revoke(key_id: Annotated[int, typer.Argument(help="The key's number.")]) -> None:
    """Stop a key from working, at once."""
    from bozor.apikeys import service as keys_service
    from bozor.errors import NotFoundError

    async def work(session: AsyncSession) -> None:
        try:
            key = await keys_service.revoke(session=session, key_id=key_id)
        except NotFoundError:
            typer.echo(f"error: no key {key_id}", err=True)
            raise typer.Exit(2) from None
        typer.echo(f"key {key.id} '{key.name}' revoked")

    _with_session(work)


def create_cli(features: Sequence[Feature]) -> typer.Typer:
    """The `bozor` command: the core's sub-commands and those of the given features."""
    root = typer.Typer(help="Bozor: a Telegram bot platform and its API.", no_args_is_help=True)
    root.add_typer(app)  # no name: the core's commands, at the top
    for feature in features:
        for name, make in feature.cli.items():
            root.add_typer(make(), name=name)
    return root


def main() -> None:
    from bozor import features

    try:
        enabled = features.enabled(load_settings())
    except SettingsError:  # every command that needs the settings says what is wrong
        enabled = list(features.FEATURES)
    create_cli(enabled)()

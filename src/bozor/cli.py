"""The `bozor` command."""

from __future__ import annotations

import asyncio
import signal
import sys
from collections.abc import Awaitable, Callable, Coroutine
from pathlib import Path
from typing import Annotated, Any

import typer
from sqlalchemy.ext.asyncio import AsyncSession

from bozor import localtime
from bozor.settings import Settings, SettingsError, load_settings

app = typer.Typer(
    help="Bozor: referrals, prize draws, a gift-card shop and classifieds.", no_args_is_help=True
)
db_app = typer.Typer(help="Database schema and data.", no_args_is_help=True)
app.add_typer(db_app, name="db")
apikey_app = typer.Typer(help="API keys of integrators.", no_args_is_help=True)
app.add_typer(apikey_app, name="apikey")
shop_app = typer.Typer(help="The shop: card codes, keys.", no_args_is_help=True)
app.add_typer(shop_app, name="shop")
lottery_app = typer.Typer(help="Prize draws: verification, imports.", no_args_is_help=True)
app.add_typer(lottery_app, name="lottery")


def _settings(*, for_bot: bool = False, **overrides: Any) -> Settings:
    try:
        settings = load_settings(**overrides)
        if for_bot:
            settings.check_bot_ready()
        localtime.use(settings.timezone)  # the times this command prints
        return settings
    except SettingsError as exc:
        for line in str(exc).splitlines():
            typer.echo(f"error: {line}", err=True)
        raise typer.Exit(2) from None


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


def _run(main: Coroutine[Any, Any, None]) -> None:
    try:
        import uvloop
    except ImportError:  # pragma: no cover - platforms without uvloop
        asyncio.run(main)
    else:
        uvloop.run(main)


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
        typer.echo(f"error: {exc}", err=True)
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
    from bozor.demo import run_demo

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
                await connection.run_sync(metadata.reflect)
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


def _with_session(work: Callable[[AsyncSession], Awaitable[None]]) -> None:
    """Run `work` in one committed transaction on the configured database (migrated first)."""
    from bozor import migrate
    from bozor.db import create_engine, create_session_factory, session_scope

    settings = _settings()

    async def main() -> None:
        engine = create_engine(settings.database_url)
        try:
            if settings.auto_migrate:
                await migrate.upgrade(engine)
            async with session_scope(create_session_factory(engine)) as session:
                await work(session)
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
        typer.Option(help="referrals (integration calls) and/or admin; repeatable."),
    ] = None,
) -> None:
    """Create a key; it is shown once and only its hash is stored."""
    from bozor.apikeys import service as keys_service
    from bozor.errors import DomainError

    scopes = scope or ["referrals"]

    async def work(session: AsyncSession) -> None:
        try:
            created = await keys_service.create(session=session, name=name, scopes=scopes)
        except DomainError:
            known = ", ".join(keys_service.SCOPES)
            typer.echo(f"error: a name and known scopes are needed ({known})", err=True)
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


@lottery_app.command("verify")
def lottery_verify(
    lottery_id: Annotated[int, typer.Argument(help="The lottery's number.")],
) -> None:
    """Recompute a drawn lottery's winners from its published data (seed, participant list,
    external value); print OK, or exactly what differs (exit code 1)."""
    from bozor.errors import DomainError, NotFoundError
    from bozor.i18n import Translator
    from bozor.lotteries import draws, service

    async def work(session: AsyncSession) -> None:
        try:
            report = await draws.verify(session=session, lottery_id=lottery_id)
        except NotFoundError:  # the translated text points to a bot command
            typer.echo(
                f"error: there is no lottery #{lottery_id} (the dashboard's Lotteries page "
                "lists them)",
                err=True,
            )
            raise typer.Exit(2) from None
        except DomainError as exc:
            typer.echo(f"error: {Translator('en')(exc.code, **exc.params)}", err=True)
            raise typer.Exit(2) from None
        lottery = await service.get(session=session, lottery_id=lottery_id)
        typer.echo(f"lottery {lottery.id} '{lottery.title}'")
        typer.echo(f"seed             {lottery.seed}")
        typer.echo(f"seed hash        {lottery.seed_hash}")
        if lottery.external_name or lottery.external_value:
            typer.echo(f"external value   {lottery.external_name}: {lottery.external_value}")
        typer.echo(f"participants     {lottery.participants_count}")
        typer.echo(f"list hash        {lottery.participants_hash}")
        for (round_, place), number in sorted(report.expected.items()):
            typer.echo(f"round {round_} place {place}: {number}")
        if report.ok:
            typer.echo("OK: the recorded winners follow from the published data")
            return
        if not report.seed_hash_ok:
            typer.echo("DIFFERS: the seed does not hash to the published seed hash")
        if not report.participants_hash_ok:
            typer.echo(
                f"DIFFERS: the participant list hashes to {report.participants_hash}, "
                f"not the published {lottery.participants_hash}"
            )
        for line in report.differences():
            typer.echo(f"DIFFERS: {line}")
        raise typer.Exit(1)

    _with_session(work)


@lottery_app.command("import")
def lottery_import(
    file: Annotated[Path, typer.Argument(help="CSV or TXT: `account` or `card account` per line.")],
    lottery: Annotated[
        int | None, typer.Option("--lottery", help="Enter the accounts in this open lottery.")
    ] = None,
) -> None:
    """Add (or bind to a card, or re-activate) the accounts of a file, as /add_accounts does:
    any bad line and nothing is saved. Owners are told of accounts added to their card."""
    from bozor.errors import DomainError
    from bozor.i18n import Translator
    from bozor.lotteries import notify, service

    english = Translator("en")
    try:
        text = file.read_bytes().decode("utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        typer.echo(f"error: cannot read {file}: {exc}", err=True)
        raise typer.Exit(2) from None
    try:
        lines = service.parse_lines(text)
    except DomainError as exc:
        typer.echo(f"error: {english(exc.code, **exc.params)}", err=True)
        raise typer.Exit(1) from None
    distinct = len({line.number for line in lines})

    async def work(session: AsyncSession) -> None:
        try:
            with typer.progressbar(length=distinct, label="importing", file=sys.stderr) as bar:
                result = await service.import_accounts(
                    session=session,
                    lines=lines,
                    lottery_id=lottery,
                    actor=None,
                    progress=bar.update,
                )
            for user_id, numbers in result.notify.items():
                await notify.accounts_added(session=session, user_id=user_id, numbers=numbers)
        except DomainError as exc:
            typer.echo(f"error: {english(exc.code, **exc.params)}; nothing saved", err=True)
            raise typer.Exit(1) from None
        typer.echo(
            f"{len(lines)} lines: {result.added} accounts added, {result.bound} bound or "
            f"re-activated, {result.joined} entered in lottery {lottery or '-'}"
        )

    _with_session(work)


@shop_app.command("import-codes")
def shop_import_codes(
    file: Annotated[Path, typer.Argument(help="TXT (one code per line) or CSV (a code column).")],
    product: Annotated[int, typer.Option("--product", help="The product (denomination) id.")],
) -> None:
    """Add a file's codes to a product's stock, encrypted; codes seen before (in the file or
    already stored) are rejected and listed by line."""
    from bozor.errors import DomainError
    from bozor.i18n import Translator
    from bozor.shop import codes

    english = Translator("en")
    settings = _settings()
    try:
        lines = codes.parse(codes.decode_upload(file.read_bytes()))
    except OSError as exc:
        typer.echo(f"error: cannot read {file}: {exc.strerror}", err=True)
        raise typer.Exit(2) from None
    except DomainError as exc:
        typer.echo(f"error: {english(exc.code, **exc.params)}", err=True)
        raise typer.Exit(2) from None

    async def work(session: AsyncSession) -> None:
        try:
            with typer.progressbar(length=len(lines), label="importing", file=sys.stderr) as bar:
                report = await codes.import_codes(
                    session=session,
                    settings=settings,
                    product_id=product,
                    lines=lines,
                    actor="cli",
                    progress=bar.update,
                )
        except DomainError as exc:
            typer.echo(f"error: {english(exc.code, **exc.params)}; nothing saved", err=True)
            raise typer.Exit(1) from None
        typer.echo(f"{report.lines} codes read, {report.added} added")
        for label, numbers in (
            ("repeated in the file", report.duplicates_in_file),
            ("already known", report.already_known),
            ("invalid", report.invalid),
        ):
            if numbers:
                typer.echo(f"rejected, {label}: lines {', '.join(map(str, numbers))}")

    _with_session(work)


@shop_app.command("reencrypt-codes")
def shop_reencrypt_codes() -> None:
    """After putting a new key first in ENCRYPTION_KEYS: re-encrypt every stored code with it,
    so that the old key can then be removed."""
    from bozor.shop import codes

    settings = _settings()

    async def work(session: AsyncSession) -> None:
        done = await codes.reencrypt(session=session, settings=settings)
        typer.echo(f"{done} codes re-encrypted with the newest key")

    _with_session(work)


def main() -> None:
    app()

"""`bozor lottery ...`: verify a draw from its published data, import accounts."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy.ext.asyncio import AsyncSession

from bozor.clikit import with_session


def create_cli() -> typer.Typer:
    """The `lottery` sub-commands."""
    app = typer.Typer(help="Prize draws: verification, imports.", no_args_is_help=True)
    app.command("verify")(lottery_verify)
    app.command("import")(lottery_import)
    return app


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

    with_session(work)


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
    from bozor.lotteries import operations, service

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
                result = await operations.import_accounts(
                    session=session,
                    lines=lines,
                    lottery_id=lottery,
                    actor=None,
                    progress=bar.update,
                )
        except DomainError as exc:
            typer.echo(f"error: {english(exc.code, **exc.params)}; nothing saved", err=True)
            raise typer.Exit(1) from None
        typer.echo(
            f"{len(lines)} lines: {result.added} accounts added, {result.bound} bound or "
            f"re-activated, {result.joined} entered in lottery {lottery or '-'}"
        )

    with_session(work)

"""`bozor shop ...`: import card codes, re-encrypt them after a key rotation."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy.ext.asyncio import AsyncSession

from bozor.clikit import settings_or_exit, with_session


def create_cli() -> typer.Typer:
    """The `shop` sub-commands."""
    app = typer.Typer(help="The shop: card codes, keys.", no_args_is_help=True)
    app.command("import-codes")(shop_import_codes)
    app.command("reencrypt-codes")(shop_reencrypt_codes)
    return app


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
    settings = settings_or_exit()
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

    with_session(work)


def shop_reencrypt_codes() -> None:
    """After putting a new key first in ENCRYPTION_KEYS: re-encrypt every stored code with it,
    so that the old key can then be removed."""
    from bozor.shop import codes

    settings = settings_or_exit()

    async def work(session: AsyncSession) -> None:
        done = await codes.reencrypt(session=session, settings=settings)
        typer.echo(f"{done} codes re-encrypted with the newest key")

    with_session(work)

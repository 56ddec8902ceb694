"""`/translate`: an admin gives a category's or a product's name and description in a language
(`/translate product 5 ru 10 долларов` and, on the next lines, the description). The default
language's text is the plain one; the others are translations buyers of that language see."""

from __future__ import annotations

from aiogram.filters import CommandObject
from aiogram.methods import SendMessage
from aiogram.types import Message
from sqlalchemy.ext.asyncio import AsyncSession

from bozor.errors import InvalidInputError
from bozor.i18n import LANGUAGES, Translator
from bozor.settings import Settings
from bozor.shop.service import catalogue

KINDS = ("category", "product")


def parse(args: str) -> tuple[str, int, str, str, str | None]:
    """`<category|product> <id> <language> <name>` then the description, if any, on the next
    lines: (kind, id, language, name, description or None when not given)."""
    first, _, rest = args.strip().partition("\n")
    parts = first.split(maxsplit=3)
    if (
        len(parts) != 4
        or parts[0].lower() not in KINDS
        or not (parts[1].isascii() and parts[1].isdigit() and len(parts[1]) < 19)
        or parts[2].lower() not in LANGUAGES
    ):
        raise InvalidInputError("shop.translate.usage", languages=", ".join(LANGUAGES))
    description = rest.strip() or None
    return parts[0].lower(), int(parts[1]), parts[2].lower(), parts[3].strip(), description


async def translate(
    message: Message,
    command: CommandObject,
    session: AsyncSession,
    t: Translator,
    settings: Settings,
) -> SendMessage:
    kind, item_id, language, name, description = parse(command.args or "")
    actor = f"tg:{message.chat.id}"
    described = {language: description} if description is not None else None
    if kind == "category":
        await catalogue.update_category(
            session=session,
            category_id=item_id,
            name={language: name},
            description=described,
            actor=actor,
            default_language=settings.default_language,
        )
    else:
        await catalogue.update_product(
            session=session,
            product_id=item_id,
            title={language: name},
            description=described,
            actor=actor,
            default_language=settings.default_language,
        )
    return message.answer(
        t(f"shop.translate.{kind}_done", id=item_id, language=language, name=name)
    )

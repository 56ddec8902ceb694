"""Driving the "Post an ad" dialogue and the review buttons through the emulator. Ads made
through the service are `tests.factories`' (`published` is re-exported here)."""

from __future__ import annotations

import io
import re
from typing import Any

from PIL import Image, ImageDraw
from tests.factories import published

from bozor.testing import Harness, eventually

__all__ = ["published"]


def picture(seed: int, size: int = 64) -> bytes:
    """A JPEG whose content depends on `seed` (different seeds: different dHashes)."""
    image = Image.new("RGB", (size, size), "white")
    draw = ImageDraw.Draw(image)
    for i in range(8):
        x = (seed * 37 + i * 53) % size
        y = (seed * 91 + i * 29) % size
        draw.rectangle((x, y, min(size, x + 8 + i * 3), min(size, y + 20)), fill=(i * 30, 0, 0))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


async def say(bozor: Harness, user_id: int, text: str, contains: str | None = None) -> str:
    sent = await bozor.driver.send_message(user_id, text)
    answer = await bozor.driver.wait_for_message(
        user_id, after_message_id=sent["message_id"], contains=contains
    )
    return str(answer.get("text") or answer.get("caption") or "")


async def last_with(bozor: Harness, chat_id: int, contains: str) -> dict[str, Any]:
    """The latest bot message in the chat containing `contains`."""
    messages = [
        m
        for m in await bozor.driver.bot_messages(chat_id)
        if contains in str(m.get("text") or m.get("caption") or "")
    ]
    assert messages, f"no bot message containing {contains!r} in {chat_id}"
    return messages[-1]


async def press(bozor: Harness, user_id: int, message: dict[str, Any], data: str) -> str:
    """Press an inline button; the text of the callback answer (empty if none)."""
    query = await bozor.driver.press_button(
        user_id, message["message_id"], callback_data=data, chat_id=message["chat"]["id"]
    )
    answer = await bozor.driver.callback_answer(query)
    return str((answer or {}).get("text") or "")


async def fill_dialogue(
    bozor: Harness,
    user_id: int,
    *,
    title: str = "iPhone 12, 128 GB",
    description: str = "Good condition, with the box and a charger.",
    price: str = "7 500 000",
    photos: list[bytes] | None = None,
    region: str = "Fergana",
) -> str:
    """Answer every step up to the preview; the preview's caption (or text)."""
    d = bozor.driver
    await say(bozor, user_id, "/post_ad", contains="Choose the category")
    pick = await last_with(bozor, user_id, "Choose the category")
    await press(bozor, user_id, pick, "adc:electronics")
    await d.wait_for_message(user_id, contains="Title", after_message_id=pick["message_id"])
    await say(bozor, user_id, title, contains="Description")
    await say(bozor, user_id, description, contains="Price")
    await say(bozor, user_id, price, contains="Photos")
    if photos and len(photos) > 1:
        album = await d.send_album(user_id, photos)
        await d.wait_for_message(
            user_id, contains="Contact", after_message_id=album[-1]["message_id"], timeout=10
        )
    else:
        if photos:
            sent_photo = await d.send_photo(user_id, photos[0])
            await d.wait_for_message(
                user_id, contains="Photo 1 of 10", after_message_id=sent_photo["message_id"]
            )
            await say(bozor, user_id, "✅ Done", contains="Contact")
        else:
            await say(bozor, user_id, "No photos", contains="Contact")
    sent_contact = await d.send_contact(user_id, "+998901234567")
    await d.wait_for_message(
        user_id, contains="Region", after_message_id=sent_contact["message_id"]
    )
    sent = await d.send_message(user_id, region)
    await d.wait_for_message(
        user_id, contains="Is everything right?", after_message_id=sent["message_id"]
    )
    previews = [
        m
        for m in await d.bot_messages(user_id)
        if m["message_id"] > sent["message_id"] and "📌" in str(m.get("caption") or m.get("text"))
    ]
    return str(previews[0].get("caption") or previews[0].get("text"))


async def send_preview(bozor: Harness, user_id: int) -> int:
    """Press Send under the preview; the new ad's id."""
    question = await last_with(bozor, user_id, "Is everything right?")
    await press(bozor, user_id, question, "adf:send")
    answer = await bozor.driver.wait_for_message(
        user_id, contains="under review", after_message_id=question["message_id"], timeout=15
    )
    match = re.search(r"#(\d+)", str(answer["text"]))
    assert match is not None
    return int(match.group(1))


async def post_ad(bozor: Harness, user_id: int, **kwargs: Any) -> int:
    await fill_dialogue(bozor, user_id, **kwargs)
    return await send_preview(bozor, user_id)


async def review_message(bozor: Harness, admin_id: int, ad_id: int) -> dict[str, Any]:
    return await bozor.driver.wait_for_message(
        admin_id, contains=f"Ad #{ad_id} (version", timeout=10
    )


async def shown(bozor: Harness, chat_id: int, message_id: int, contains: str) -> dict[str, Any]:
    """The message `message_id` once (edited to) containing `contains`."""
    found: dict[str, Any] = {}

    async def check() -> bool:
        for m in await bozor.driver.bot_messages(chat_id):
            if m["message_id"] == message_id and contains in str(m.get("text") or ""):
                found.update(m)
                return True
        return False

    await eventually(check, timeout=10)
    return found

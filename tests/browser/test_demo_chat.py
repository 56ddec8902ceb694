"""The demo's web chat in a real browser: a referral between two personas, and a lottery
winner confirming with the button; the bot behind it runs as in production."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

pytestmark = [pytest.mark.xdist_group("browser"), pytest.mark.timeout(240)]


async def test_a_referral_from_one_persona_to_another(
    demo: Any, open_page: Callable[..., Awaitable[Any]], shoot: Callable[..., Awaitable[None]]
) -> None:
    from playwright.async_api import expect

    page = await open_page()
    await page.goto(demo.chat_url + "#persona=alice")
    await expect(page.get_by_test_id("banner")).to_contain_text("BOT_TOKEN")
    await expect(page.get_by_test_id("chat-title")).to_have_text("Bozor")
    keyboard = page.get_by_test_id("reply-keyboard")
    await keyboard.get_by_role("button", name=re.compile("Friends$")).click()  # its submenu
    await keyboard.get_by_role("button", name=re.compile("Invite friends")).click()
    # Alice's invitation link (a draw's results, arriving meanwhile, link to ?start=verify_…)
    link = (
        page.get_by_test_id("messages")
        .locator("a[href*='?start=']:not([href*='?start=verify'])")
        .last
    )
    await expect(link).to_be_visible()
    await link.click()
    await expect(page.get_by_test_id("open-as")).to_be_visible()
    await expect(page.get_by_test_id("open-as-admin")).to_contain_text("admin")
    await expect(page.get_by_test_id("open-as-jasur")).to_contain_text("new")
    await page.get_by_test_id("open-as-jasur").click()
    messages = page.get_by_test_id("messages")
    await expect(messages).to_contain_text("Alice taklifi")  # Jasur reads Uzbek
    await expect(page.get_by_test_id("persona-jasur")).not_to_contain_text("new")
    await page.get_by_test_id("persona-alice").click()
    await expect(messages).to_contain_text(re.compile(r"Jasur.*joined through your link"))
    favicon = await page.request.get(demo.emulator_url + "/favicon.ico")
    assert favicon.ok
    await shoot(page, "demo-referral.png")


async def test_a_winner_confirms_with_the_button(
    demo: Any, open_page: Callable[..., Awaitable[Any]], shoot: Callable[..., Awaitable[None]]
) -> None:
    from playwright.async_api import expect

    page = await open_page(width=400, height=860)  # a phone
    await page.goto(demo.chat_url + "#persona=bobur")
    messages = page.get_by_test_id("messages")
    await expect(messages).to_contain_text("Welcome draw")
    # Bobur's first account won a place in the seeded "Welcome draw".
    confirm = messages.locator("button[data-callback]", has_text="00-00-00-00-01-00-00").last
    await confirm.click()
    # The bot answers the button with an alert, shown as a toast (Bobur reads Uzbek).
    await expect(page.get_by_test_id("toast")).to_contain_text("Tasdiqlandi")
    await shoot(page, "demo-lottery-phone.png")
    # The channel, as its readers see it: the draw results were announced there.
    await page.get_by_test_id("back").click()
    await page.locator("[data-channel]").first.click()
    await expect(messages).to_contain_text("Welcome draw")


async def test_photos_an_album_and_a_contact_reach_the_bot(
    demo: Any, open_page: Callable[..., Awaitable[Any]], tmp_path: Path
) -> None:
    import segno
    from playwright.async_api import expect

    files = []
    for i in range(2):
        path = tmp_path / f"photo{i}.png"
        segno.make(f"photo {i}").save(str(path), kind="png", scale=4)
        files.append(str(path))
    page = await open_page()
    await page.goto(demo.chat_url + "#persona=timur")
    await page.get_by_test_id("text").fill("/start")
    await page.get_by_test_id("send").click()
    messages = page.get_by_test_id("messages")
    await expect(messages).to_contain_text("Timur")  # the bot's welcome
    await page.get_by_test_id("text").fill("Two photos")
    await page.get_by_test_id("attach").set_input_files(files)
    album = messages.locator(".msg.out .album img")
    await expect(album).to_have_count(2)
    await expect(messages.locator(".msg.out", has_text="Two photos")).to_have_count(1)
    await page.get_by_test_id("share-contact").click()
    await expect(messages.locator(".msg.out .card")).to_contain_text("Timur")
    # The album really went through the Bot API emulator: the bot can fetch both files.
    src = await album.first.get_attribute("src")
    assert src is not None
    answer = await page.request.get(demo.emulator_url + src)
    assert answer.ok and (await answer.body()).startswith(b"\x89PNG")

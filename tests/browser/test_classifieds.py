"""Classifieds in a real browser: Alice posts an ad with a photo in the demo's web chat, through
the dialogue's buttons; the admin approves it in the dashboard's review queue; the ad appears
in the channel and Alice gets the link — the bot behind it runs as in production."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from bozor.classifieds.demo import picture

pytestmark = [pytest.mark.xdist_group("browser"), pytest.mark.timeout(240)]
TITLE = "Nikon D3500 camera with a lens"


async def test_an_ad_from_the_web_chat_approved_in_the_dashboard(
    demo: Any,
    open_page: Callable[..., Awaitable[Any]],
    shoot: Callable[..., Awaitable[None]],
    tmp_path: Path,
) -> None:
    from playwright.async_api import expect

    photo = tmp_path / "camera.jpg"
    photo.write_bytes(picture(2026, TITLE))
    chat = await open_page()
    await chat.goto(demo.chat_url + "#persona=alice")
    messages = chat.get_by_test_id("messages")
    keyboard = chat.get_by_test_id("reply-keyboard")

    async def answer(text: str, then: str) -> None:
        await chat.get_by_test_id("text").fill(text)
        await chat.get_by_test_id("send").click()
        await expect(messages).to_contain_text(then)

    await keyboard.get_by_role("button", name=re.compile("Classifieds$")).click()  # its submenu
    await keyboard.get_by_role("button", name=re.compile("Post an ad")).click()
    await messages.locator("button[data-callback='adc:electronics']").last.click()
    await expect(messages).to_contain_text("2/7 · Title")
    await answer(TITLE, "3/7 · Description")
    await answer("18-55 mm lens, 2 batteries, a bag. About 3 000 shots.", "4/7 · Price")
    await answer("4 500 000", "5/7 · Photos")
    await chat.get_by_test_id("attach").set_input_files(str(photo))
    await expect(messages).to_contain_text("Photo 1 of 10 added")
    await keyboard.get_by_role("button", name="✅ Done").click()
    await expect(messages).to_contain_text("6/7 · Contact")
    await keyboard.get_by_role("button", name=re.compile("Share my phone")).click()
    await expect(messages).to_contain_text("7/7 · Region")
    await keyboard.get_by_role("button", name="Fergana").click()
    await expect(messages).to_contain_text("Is everything right?")
    await messages.locator("button[data-callback='adf:send']").last.click()
    submitted = messages.locator(".msg", has_text="is under review").last
    await expect(submitted).to_be_visible()
    found = re.search(r"Your ad #(\d+)", await submitted.inner_text())
    assert found is not None
    ad_id = found.group(1)

    dashboard = await open_page()
    await dashboard.goto(demo.http_url + "/dashboard/classifieds")
    await dashboard.get_by_test_id("secret").fill("demo")  # the demo's DASHBOARD_PASSWORD
    await dashboard.get_by_test_id("signin").click()
    card = dashboard.get_by_test_id(f"ad-{ad_id}")
    await expect(card).to_contain_text(TITLE)
    await expect(card).to_contain_text("4 500 000 UZS")
    await expect(card).to_contain_text("Alice, @alice")
    image = card.locator("img")
    await expect(image).to_have_count(1)
    await image.scroll_into_view_if_needed()
    # 480 px, as stored; decode() waits while a busy machine is still fetching the picture.
    assert await image.evaluate("img => img.decode().then(() => img.naturalWidth)") == 480
    # The seeded queue: photos, and one ad with pre-screening findings.
    await expect(dashboard.get_by_test_id("review-queue")).to_contain_text("nearly the same photo")
    await shoot(dashboard, "dashboard-classifieds.png", full_page=True)
    await dashboard.get_by_test_id(f"approve-{ad_id}").click()
    await expect(dashboard.get_by_test_id("notice")).to_contain_text(f"Ad #{ad_id} approved")
    await expect(dashboard.get_by_test_id(f"ad-{ad_id}")).to_have_count(0)

    await chat.locator("[data-channel]").first.click()
    post = messages.locator(".msg", has_text=TITLE).last
    await expect(post).to_contain_text("4 500 000 UZS")
    await expect(post.locator("img")).to_have_count(1)
    await post.scroll_into_view_if_needed()
    await shoot(chat, "demo-classifieds-channel.png")
    await chat.get_by_test_id("persona-alice").click()
    await expect(messages).to_contain_text(
        re.compile(rf"#{ad_id} .{TITLE}. is published in the channel: https://t\.me/")
    )
    # The post's link opens the post in the demo's channel view, not a broken tab.
    await messages.locator("a[href^='https://t.me/']").last.click()
    await expect(chat.get_by_test_id("chat-title")).to_have_text("Bozor News")
    await expect(messages.locator(".msg", has_text=TITLE).last).to_be_in_viewport()

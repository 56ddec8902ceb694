"""`GET /control/bots/{token}/watch`: several chats' new bot messages in one long poll (the
web chat's unread counts). It answers at once without versions or when a chat already moved
on, waits while none of the chats changes, and wakes when the bot writes to one of them."""

from __future__ import annotations

import asyncio

import httpx
from aiogram import Bot
from tests.emulator.conftest import TOKEN

from bozor.emulator import Emulator, EmulatorDriver


async def test_one_long_poll_watches_several_chats(
    emu: Emulator, bot: Bot, driver: EmulatorDriver
) -> None:
    ann, ben = await driver.create_user("Ann"), await driver.create_user("Ben")
    await driver.mark_started([ann, ben])
    await bot.send_message(ann, "hello Ann")
    watch = f"/control/bots/{TOKEN}/watch"
    async with httpx.AsyncClient(base_url=emu.url, timeout=30) as control:
        now = (await control.get(watch, params={"chats": f"{ann},{ben}", "after": "0,0"})).json()
        assert [(c["id"], c["from_bot"]) for c in now["chats"]] == [(ann, 1), (ben, 0)]
        versions = ",".join(str(c["version"]) for c in now["chats"])
        waiting = asyncio.create_task(
            control.get(
                watch,
                params={
                    "chats": f"{ann},{ben}",
                    "after": "0,0",
                    "versions": versions,
                    "timeout": "25",
                },
            )
        )
        # Nothing changed: it waits (an answer within half a second would be a bug).
        done, _ = await asyncio.wait({waiting}, timeout=0.5)
        assert not done
        await bot.send_message(ben, "hello Ben")
        woken = (await asyncio.wait_for(waiting, 20)).json()
        assert [(c["id"], c["from_bot"]) for c in woken["chats"]] == [(ann, 1), (ben, 1)]
        # Nothing new since these versions: after the (short) timeout, the same answer.
        versions = ",".join(str(c["version"]) for c in woken["chats"])
        same = await control.get(
            watch,
            params={
                "chats": f"{ann},{ben}",
                "after": "1,0",
                "versions": versions,
                "timeout": "0.2",
            },
        )
        assert [c["from_bot"] for c in same.json()["chats"]] == [0, 1]
        bad = await control.get(watch, params={"chats": f"{ann},{ben}", "after": "0"})
        assert bad.status_code == 400

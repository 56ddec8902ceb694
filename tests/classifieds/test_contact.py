""" "Contact the seller" through the emulator: the deep link, the relayed message (no phone or
username of the buyer), the seller's answer, refusals, the rate limit, and referral links
still working beside it."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select, update

from bozor.classifieds.models import Ad, AdState
from bozor.classifieds.search_models import ContactMessage
from bozor.referrals.models import Referral
from bozor.testing import Harness

from .helpers import fill_dialogue, press, published, say


@pytest.fixture
def bozor_overrides(bozor_overrides: dict[str, Any]) -> dict[str, Any]:
    return {**bozor_overrides, "classifieds_contact_hourly": 3}


async def _start(bozor: Harness, user_id: int, payload: str, contains: str) -> str:
    """/start with a payload; the bot's answer containing `contains` (other messages, such as
    the outbox's notices, may arrive in between)."""
    sent = await bozor.driver.send_start(user_id, payload)
    answer = await bozor.driver.wait_for_message(
        user_id, after_message_id=sent["message_id"], contains=contains, timeout=10
    )
    return str(answer["text"])


async def _reply_markup_data(message: dict[str, Any]) -> list[str]:
    rows = (message.get("reply_markup") or {}).get("inline_keyboard", [])
    return [str(b.get("callback_data")) for row in rows for b in row]


async def test_buyer_writes_seller_answers_nothing_private_revealed(bozor: Harness) -> None:
    alice = await bozor.user("Alice", username="alice_sells")
    bob = await bozor.user("Bob", username="bob_private")
    await bozor.start(alice)
    [ad_id] = await published(bozor, alice, ["Armchair"])

    prompt = await _start(bozor, bob, f"contact_{ad_id}", "Write your message")
    assert "Armchair" in prompt and "will not see your phone" in prompt
    done = await say(bozor, bob, "Is it still available? <b>tomorrow</b>", contains="Sent")
    assert "Their answer will come here" in done

    relayed = await bozor.driver.wait_for_message(alice, contains="A buyer", timeout=15)
    assert "Is it still available? <b>tomorrow</b>" in relayed["text"]  # as typed, not markup
    assert "Bob" in relayed["text"] and f"#{ad_id}" in relayed["text"]
    assert "bob_private" not in relayed["text"] and "forward_origin" not in relayed
    [reply] = [d for d in await _reply_markup_data(relayed) if d.startswith("cm:r:")]

    await press(bozor, alice, relayed, reply)
    await bozor.driver.wait_for_message(alice, contains="Write your answer", timeout=10)
    await say(bozor, alice, "Yes, come at 5.", contains="Sent")
    answer = await bozor.driver.wait_for_message(bob, contains="answers", timeout=15)
    assert "Yes, come at 5." in answer["text"] and "alice_sells" not in answer["text"]
    assert "+998" not in answer["text"] and "+998" not in relayed["text"]

    # the state is over: the next text is not relayed
    assert "Sent" not in await say(bozor, bob, "hello?")
    async with bozor.db() as session:
        assert await session.scalar(select(func.count()).select_from(ContactMessage)) == 2


async def test_refused_for_closed_and_own_ads_and_beyond_the_rate(bozor: Harness) -> None:
    alice = await bozor.user("Alice")
    bob = await bozor.user("Bob")
    await bozor.start(alice)
    await bozor.start(bob)
    ads = await published(bozor, alice, ["Table", "Chair", "Bed"])
    [in_review] = await published(bozor, alice, ["Lamp"], approve=False)
    async with bozor.db() as session:
        await session.execute(update(Ad).where(Ad.id == ads[1]).values(state=AdState.SOLD))
        await session.commit()

    for ad_id in (in_review, ads[1], 999_999):
        await _start(bozor, bob, f"contact_{ad_id}", "can't be answered")
    await _start(bozor, alice, f"contact_{ads[0]}", "your own ad")

    for n in range(3):
        await _start(bozor, bob, f"contact_{ads[n % 2 * 2]}", "Write your message")
        await say(bozor, bob, f"Message {n}", contains="Sent")
    await _start(bozor, bob, f"contact_{ads[0]}", "Write your message")
    assert "messages in the last hour" in await say(bozor, bob, "Message 4", contains="hour")
    async with bozor.db() as session:
        assert await session.scalar(select(func.count()).select_from(ContactMessage)) == 3
    # still writing: /cancel ends it
    assert "Not sent" in await say(bozor, bob, "/cancel", contains="Not sent")


async def test_the_ad_draft_survives_a_contact_and_referral_links_still_work(
    bozor: Harness,
) -> None:
    alice = await bozor.user("Alice")
    await bozor.start(alice)
    [ad_id] = await published(bozor, alice, ["Sofa"])
    carol = await bozor.user("Carol")
    await bozor.start(carol)
    # half-way through posting her own ad, Carol writes to a seller, then goes on
    await fill_dialogue(bozor, carol)
    await _start(bozor, carol, f"contact_{ad_id}", "Write your message")
    await say(bozor, carol, "Photo of the back?", contains="Sent")
    await say(bozor, carol, "/post_ad", contains="did not finish")

    code = await bozor.referral_code(alice)
    dave = await bozor.user("Dave")
    await bozor.start(dave, code)
    async with bozor.db() as session:
        assert await session.scalar(select(func.count()).select_from(Referral)) == 1

"""Sample ads for `bozor demo`, one or more in every state, made through the classifieds
services so they obey the same rules as real ones: submitted (pre-screened, the admins told),
decided by the demo's admin (posted to the channel, the owner told with the link or the
reason), then sold, withdrawn, or expired by unanswered sold-checks; a few wait for review,
one of them with a pre-screening finding. Photos are small generated pictures the advertisers
send to the bot (that is where Telegram's file ids come from), kept in media storage.
Timestamps are then moved back over the past weeks."""

from __future__ import annotations

import asyncio
import io
import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from aiogram.types import User as TelegramUser
from PIL import Image, ImageDraw, ImageFont
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bozor.audit.models import AuditRecord
from bozor.classifieds import audit, jobs, service
from bozor.classifieds.bot.admin import admin_name
from bozor.classifieds.models import Ad, AdState, ChannelPost
from bozor.classifieds.photos import keep
from bozor.classifieds.schemas import AdDraft, PhotoIn
from bozor.classifieds.settings import ClassifiedsSettings
from bozor.demo.personas import DEMO_ADMIN_ID
from bozor.demo.seeding import DemoContext, Person
from bozor.media.storage import create_storage

POSTS_TIMEOUT = 60.0  # seconds to wait for the outbox to post the approved ads


@dataclass(frozen=True, slots=True)
class Sample:
    owner: str  # a persona key, or "crowd:<n>"
    fate: str  # review, published, rejected, sold, withdrawn, expired
    category: str
    title: str
    description: str
    price: int | None
    currency: str | None
    region: str
    photos: tuple[int, ...] = ()  # picture numbers; the same number is the same picture
    reason: str | None = None  # a rejection: a code of the list, or the admin's words
    days_ago: float = 1.0


SAMPLES: tuple[Sample, ...] = (
    Sample("crowd:0", "published", "vehicles", "Chevrolet Cobalt 2021, 40 000 km",
           "One owner, serviced at the dealer, winter tyres included. Beige, automatic.",
           12_500, "USD", "Andijan", (1, 2), days_ago=6),
    Sample("olga", "published", "home", "Детская коляска Chicco 2 в 1",
           "Люлька и прогулочный блок, дождевик в комплекте. Состояние отличное.",
           1_800_000, "UZS", "Tashkent", days_ago=2),
    Sample("crowd:10", "published", "electronics", "Samsung Galaxy S21, 128 GB",
           "Phantom grey, no scratches, with the box and a charger. Battery 89%.",
           3_900_000, "UZS", "Fergana", (3,), days_ago=1),
    Sample("crowd:18", "published", "home", "Wooden dining table with six chairs",
           "Solid walnut, 180 × 90 cm. A few marks on the top, the chairs are like new.",
           None, None, "Namangan", (4, 5), days_ago=4),
    Sample("crowd:1", "sold", "home", "Janome sewing machine",
           "Janome 1143, works perfectly, with a pedal and a set of presser feet.",
           1_200_000, "UZS", "Kokand", (6,), days_ago=9),
    Sample("crowd:11", "withdrawn", "clothes", "Winter jacket, size M",
           "Down jacket, dark blue, worn one season. Warm and light.",
           450_000, "UZS", "Margilan", (7,), days_ago=8),
    Sample("crowd:2", "expired", "vehicles", "Four used tyres R15",
           "Michelin 195/65 R15, about 5 mm of tread left, no repairs.",
           800_000, "UZS", "Fergana", (8,), days_ago=14),
    Sample("bobur", "rejected", "electronics", "iPhone 14 Pro",
           "Sotiladi. Yaxshi holatda.", 2_000, "USD", "Samarkand",
           reason="incomplete", days_ago=3),
    Sample("crowd:12", "rejected", "other", "Puppies for sale",
           "Cute puppies, two months old, ready to go to a new home.",
           500_000, "UZS", "Bukhara",
           reason="Please add photos of the puppies and say which breed they are.", days_ago=2),
    Sample("crowd:3", "review", "realty", "2-room flat in Fergana, 54 m²",
           "3rd floor of 5, renovated, furnished. Near the central park and schools.",
           48_000, "USD", "Fergana", (9, 10), days_ago=0.2),
    Sample("crowd:19", "review", "electronics", "Mountain bike Trek Marlin 5",
           "Size L, 2022, new tyres and brake pads. Ridden on weekends only.",
           4_200_000, "UZS", "Andijan", (11,), days_ago=0.1),
    Sample("crowd:4", "review", "vehicles", "Chevrolet Cobalt 2021, 40 000 km, urgent",
           "One owner, serviced at the dealer, winter tyres included. Beige, automatic.",
           9_000, "USD", "Andijan", (1,), days_ago=0.05),  # Aziz's photo and text: a finding
    Sample("crowd:13", "review", "services", "English lessons for children",
           "Qualified teacher, 6 years of experience. Lessons online or at your home.",
           None, None, "Tashkent", days_ago=0.3),
)  # fmt: skip
BANNED = ("crowd:5", "The same ad every day: spam")


def _person(ctx: DemoContext, key: str) -> Person:
    if key.startswith("crowd:"):
        return ctx.crowd[int(key.removeprefix("crowd:"))]
    return ctx.personas[key]


def picture(number: int, label: str) -> bytes:
    """A small JPEG: blocks of colour decided by `number` (so photos differ to the duplicate
    check unless their number is the same) and a label."""
    rng = random.Random(number)
    image = Image.new("RGB", (480, 360), tuple(rng.randrange(150, 256) for _ in range(3)))
    draw = ImageDraw.Draw(image)
    for _ in range(7):
        x, y = rng.randrange(0, 400), rng.randrange(0, 280)
        box = (x, y, x + rng.randrange(60, 220), y + rng.randrange(40, 160))
        colour = tuple(rng.randrange(0, 200) for _ in range(3))
        (draw.ellipse if rng.random() < 0.5 else draw.rectangle)(box, fill=colour)
    try:
        font: ImageFont.ImageFont | ImageFont.FreeTypeFont = ImageFont.load_default(size=26)
    except TypeError:  # Pillow before 10.1
        font = ImageFont.load_default()
    draw.rectangle((0, 310, 480, 360), fill=(255, 255, 255))
    draw.text((14, 318), label[:32], fill=(23, 33, 43), font=font)
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=85)
    return buffer.getvalue()


async def _send_photos(ctx: DemoContext, person: Person, sample: Sample) -> list[PhotoIn]:
    """The advertiser sends the photos to the bot (as in the dialogue); they are kept in media
    storage with the file ids Telegram gave them."""
    storage = create_storage(ctx.settings)
    kept = []
    for number in sample.photos:
        data = picture(number, sample.title)
        sent = await ctx.driver.send_photo(person.telegram_id, data)
        await ctx.driver.wait_for_message(
            person.telegram_id, after_message_id=sent["message_id"], timeout=30
        )
        size = sent["photo"][-1]
        kept.append(
            await keep(
                storage, data, file_id=size["file_id"], file_unique_id=size.get("file_unique_id")
            )
        )
    return kept


def _draft(sample: Sample, person: Person, photos: list[PhotoIn], n: int) -> AdDraft:
    return AdDraft(
        category=sample.category,
        title=sample.title,
        description=sample.description,
        price=sample.price,
        currency=sample.currency,
        contact_phone=None if person.username else f"+99890{3_000_000 + n:07d}",
        contact_username=person.username,
        region=sample.region,
        photos=photos,
    )


async def seed(ctx: DemoContext) -> None:
    admin = ctx.personas["admin"]
    by = admin_name(
        TelegramUser(
            id=DEMO_ADMIN_ID, is_bot=False, first_name=admin.first_name, username=admin.username
        )
    )
    photos = {i: await _send_photos(ctx, _person(ctx, s.owner), s) for i, s in enumerate(SAMPLES)}
    ids: dict[int, int] = {}
    async with ctx.db() as session:
        for i, sample in enumerate(SAMPLES):
            ids[i] = await _submit_and_decide(ctx, session, sample, photos[i], i, by)
        await session.commit()
    closing = [ids[i] for i, s in enumerate(SAMPLES) if s.fate in ("sold", "withdrawn", "expired")]
    await _posted(ctx, closing)  # closed once their channel post exists, which then shows it
    # When each ad was sent and decided: spread over the past weeks.
    times = {}
    for i, sample in enumerate(SAMPLES):
        submitted = ctx.now - timedelta(days=sample.days_ago)
        times[i] = (submitted, submitted + timedelta(hours=ctx.rng.uniform(0.3, 5)))
    async with ctx.db() as session:
        for i, sample in enumerate(SAMPLES):
            owner = await ctx.user(session, _person(ctx, sample.owner))
            if sample.fate == "sold":
                await service.mark_sold(session=session, ad_id=ids[i], user=owner)
            elif sample.fate == "withdrawn":
                await service.withdraw(session=session, ad_id=ids[i], user=owner)
            elif sample.fate == "expired":
                await _expire(ctx, session, ids[i], published=times[i][1])
        banned = await ctx.user(session, _person(ctx, BANNED[0]))
        await service.ban(session=session, user=banned, reason=BANNED[1], by=by)
        for i in ids:
            await _backdate(ctx, session, ids[i], *times[i])
        await session.commit()
    ctx.hints.append("demo.classifieds.hint")
    for fate in ("review", "published", "rejected", "sold", "withdrawn", "expired"):
        ctx.facts[f"classifieds:{fate}"] = [ids[i] for i, s in enumerate(SAMPLES) if s.fate == fate]


async def _submit_and_decide(
    ctx: DemoContext, session: AsyncSession, sample: Sample, photos: list[PhotoIn], n: int, by: str
) -> int:
    """The ad sent for review and, unless it is to wait, decided by the demo's admin."""
    person = _person(ctx, sample.owner)
    user = await ctx.user(session, person)
    ad = await service.submit(
        session=session, settings=ctx.settings, user=user, draft=_draft(sample, person, photos, n)
    )
    if sample.fate != "review":
        approve = sample.fate != "rejected"
        await service.decide(
            session=session,
            ad_id=ad.id,
            approve=approve,
            admin_name=by,
            admin_chat_id=None,
            channel=ClassifiedsSettings.of(ctx.settings).channel_id,
            reason=None
            if approve
            else service.rejection_reason(listed=sample.reason, typed=sample.reason),
        )
    return ad.id


async def _posted(ctx: DemoContext, ad_ids: list[int]) -> None:
    """Wait until the outbox has posted these (approved) ads to the channel."""
    if ClassifiedsSettings.of(ctx.settings).channel_id is None or not ad_ids:
        return
    async with asyncio.timeout(POSTS_TIMEOUT):
        while True:
            async with ctx.db() as session:
                posted = await session.scalar(
                    select(func.count(func.distinct(ChannelPost.ad_id))).where(
                        ChannelPost.ad_id.in_(ad_ids)
                    )
                )
            if posted == len(ad_ids):
                return
            await asyncio.sleep(0.2)


async def _expire(ctx: DemoContext, session: AsyncSession, ad_id: int, published: datetime) -> None:
    """Published long ago and its owner never answered "Sold?": the sold-check job, run on the
    days it would have run, expires it."""
    await session.execute(update(Ad).where(Ad.id == ad_id).values(published_at=published))
    period = timedelta(days=ClassifiedsSettings.of(ctx.settings).sold_check_days)
    for n in range(1, ClassifiedsSettings.of(ctx.settings).max_unanswered + 2):
        await jobs.sold_checks(
            session=session, settings=ctx.settings, now=published + n * period + timedelta(hours=1)
        )


async def _backdate(
    ctx: DemoContext, session: AsyncSession, ad_id: int, submitted: datetime, decided: datetime
) -> None:
    ad = await session.get(Ad, ad_id)
    assert ad is not None
    values: dict[str, object] = {"submitted_at": submitted, "created_at": submitted}
    if ad.decided_at is not None:
        values |= {"decided_at": decided, "updated_at": decided}
        await session.execute(
            update(AuditRecord)
            .where(AuditRecord.area == audit.AREA, AuditRecord.target == audit.target(ad_id))
            .values(at=decided)
        )
        await session.execute(
            update(ChannelPost).where(ChannelPost.ad_id == ad_id).values(created_at=decided)
        )
    if ad.state in (AdState.PUBLISHED, AdState.SOLD, AdState.WITHDRAWN):
        values |= {"published_at": decided, "last_posted_at": decided}
    if ad.state in (AdState.SOLD, AdState.WITHDRAWN):
        closed = decided + (ctx.now - decided) * ctx.rng.uniform(0.3, 0.8)
        values |= {"closed_at": closed, "updated_at": closed}
    elif ad.state == AdState.EXPIRED:
        values |= {"last_posted_at": decided, "updated_at": ad.closed_at}
    await session.execute(update(Ad).where(Ad.id == ad_id).values(**values))

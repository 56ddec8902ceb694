"""The people of the demo: personas played from the browser, and a quiet crowd."""

from __future__ import annotations

from dataclasses import dataclass

DEMO_TOKEN = "1000000001:DEMO-bozor-token-not-secret-000000"
DEMO_BOT_USERNAME = "bozor_demo_bot"
DEMO_ADMIN_ID = 100_000_999
DEMO_CHANNEL_USERNAME = "bozor_demo_news"


@dataclass(frozen=True, slots=True)
class Persona:
    """Someone the visitor can be in the web chat."""

    key: str
    name: str
    language: str
    role: str = "member"  # or "admin" (listed in ADMIN_IDS)
    # Started the bot before the visitor arrives (has history and sample data); a persona who
    # has not is a newcomer who can still be invited through someone's link.
    started: bool = True
    user_id: int | None = None  # None: the emulator picks the next id


PERSONAS: tuple[Persona, ...] = (
    Persona("alice", "Alice", "en"),
    Persona("bobur", "Bobur", "uz"),
    Persona("olga", "Olga", "ru"),
    Persona("jasur", "Jasur", "uz", started=False),
    Persona("timur", "Timur", "ru", started=False),
    Persona("admin", "Admin", "en", role="admin", user_id=DEMO_ADMIN_ID),
)

# The crowd: members who joined over the past weeks; they fill the figures, nobody plays them.
CROWD_NAMES = (
    ("Aziz", "uz"), ("Malika", "uz"), ("Sardor", "uz"), ("Nigora", "uz"), ("Otabek", "uz"),
    ("Dilnoza", "uz"), ("Rustam", "uz"), ("Zarina", "uz"), ("Sherzod", "uz"), ("Madina", "uz"),
    ("Ivan", "ru"), ("Anna", "ru"), ("Sergey", "ru"), ("Elena", "ru"), ("Dmitry", "ru"),
    ("Natalia", "ru"), ("Pavel", "ru"), ("Yulia", "ru"), ("John", "en"), ("Emma", "en"),
    ("Liam", "en"), ("Sophia", "en"), ("Bekzod", "uz"), ("Kamola", "uz"), ("Farhod", "uz"),
    ("Gulnora", "uz"), ("Alexei", "ru"), ("Maria", "ru"), ("Noah", "en"), ("Olivia", "en"),
    ("Jamshid", "uz"), ("Shahnoza", "uz"), ("Viktor", "ru"), ("Irina", "ru"), ("Ulugbek", "uz"),
    ("Lola", "uz"),
)  # fmt: skip

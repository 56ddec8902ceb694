"""What a person sees in a chat with the bot, checked the way a careful tester would look at it.

`Visit` plays one person in one language: it sends commands and menu buttons, presses every
inline button it is shown, and keeps every text, button label and toast. `problems()` then
lists what is wrong with them:

- a raw translation key (`shop.status.paid`), an unformatted `{placeholder}`, an enum's name
  (`REFUND_DUE`), a raw status word (`(delivered)`, or any in a Russian/Uzbek chat), `None`,
  a stored field's name (`seed_hash=…`), a program's name for a thing in a Russian/Uzbek chat
  (`club_card`);
- English in a Russian or Uzbek chat: a line, button or toast that is an English catalogue text
  whose translation in the chat's language differs (so proper names, codes and texts that are
  the same in every language never count);
- a button that does nothing: no answer to its callback query (the client's spinner);
- a call Telegram refuses (a toast over 200 characters, a message over 4,096, a no-op edit…):
  the emulator refuses it as Telegram does and keeps it in its stats.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import pkgutil
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cache
from typing import Any

import bozor
from bozor.emulator import EmulatorDriver, EmulatorError
from bozor.i18n import DEFAULT_LANGUAGE, LANGUAGES, catalogue
from bozor.telegram_limits import TOAST
from bozor.testing import eventually

ANSWER_TIMEOUT = 20.0  # generous: the machine may be busy; an answer normally takes ms
# The texts of an ad as the channel shows it (in the channel's language, DEFAULT_LANGUAGE),
# which its seller and the admins see in their previews on purpose.
CHANNEL_POST = ("ads.category.",)
SETTLE = 1.5  # how long a press may take to show its effect before the next is made
MAX_PRESSES = 120  # per visit: a bound on exploring buttons that make new buttons
PLACEHOLDER = re.compile(r"\{[a-z_][a-z0-9_]*\}")
DOTTED = re.compile(r"(?<![\w./@-])[a-z][a-z0-9_]*(?:\.[a-z0-9_]+)+(?![\w/-])")
WORD = re.compile(r"[A-Za-z_]+")
# Where a line joins texts: "Category: Electronics", "#3 · Sofa — 100 000", "#home Home".
SEPARATORS = re.compile(r"\s+[—·|]\s+|:\s+|#\w+\s+|[()«»“”]")
COMMAND = re.compile(r"(?<![\w/])/[a-z_]{2,}\b")
# A stored field shown as it is stored: `seed_hash=…`, `places=2` (a link's `?start=` is no text).
FIELD = re.compile(r"(?<![\w/?&.#@-])[a-z][a-z0-9]*(?:_[a-z0-9]+)*=(?!=)")
# A program's name for a thing (`club_card`, `external_value`) in a Russian or Uzbek text.
IDENTIFIER = re.compile(r"(?<![\w/?&.#@<'=-])[a-z][a-z0-9]*(?:_[a-z0-9]+)+(?![\w>/.'-])")
# Entities whose text is a code, a link or a name, never a translated text.
VERBATIM = {"code", "pre", "url", "text_link", "mention", "bot_command", "email", "phone_number"}


# ------------------------------------------------------------------------- what is known


@cache
def _enums() -> tuple[type[StrEnum], ...]:
    """Every StrEnum in Bozor (its modules imported once, wherever they live today)."""
    for module in pkgutil.walk_packages(bozor.__path__, "bozor."):
        # __main__ runs the CLI; migrations run only inside Alembic.
        if not module.name.endswith("__main__") and ".migrations" not in module.name:
            importlib.import_module(module.name)
    found: list[type[StrEnum]] = []
    pending: list[type[StrEnum]] = list(StrEnum.__subclasses__())
    while pending:
        kind = pending.pop()
        pending.extend(kind.__subclasses__())
        if kind.__module__.startswith("bozor."):
            found.append(kind)
    return tuple(found)


@cache
def status_words() -> frozenset[str]:
    """The values of Bozor's enums (`paid`, `club_card`…) that read as words."""
    return frozenset(
        str(member.value)
        for kind in _enums()
        for member in kind
        if re.fullmatch(r"[a-z][a-z_]{2,}", str(member.value))
    )


@cache
def enum_names() -> frozenset[str]:
    """The names of Bozor's enum members (`CLUB_CARD`, `TOTAL_WINS`…)."""
    # Short names without an underscore are acronyms a text may well use (CSV, TXT).
    return frozenset(
        member.name
        for kind in _enums()
        for member in kind
        if "_" in member.name or len(member.name) > 4
    )


@cache
def keys() -> frozenset[str]:
    """Every translation key and every section of keys (`shop.status`)."""
    found: set[str] = set()
    for language in LANGUAGES:
        for key in catalogue(language):
            parts = key.split(".")
            found.update(".".join(parts[:i]) for i in range(2, len(parts) + 1))
    return frozenset(found)


@dataclass(frozen=True)
class Template:
    """An English catalogue text as a pattern (placeholders match anything)."""

    key: str
    english: str
    whole: re.Pattern[str]  # the text is all of a line, label or toast
    inside: re.Pattern[str] | None  # long enough to be recognised inside another text


def _literal_letters(text: str) -> int:
    return sum(len(word) for word in WORD.findall(PLACEHOLDER.sub(" ", text)))


def _pattern(text: str) -> str:
    pieces = PLACEHOLDER.split(text.strip())
    return "(?:.+?)".join(re.escape(piece) for piece in pieces)


def _entries(language: str) -> Iterator[tuple[str, str]]:
    for key, entry in catalogue(language).items():
        if isinstance(entry, dict):
            for category, text in entry.items():
                yield f"{key}.{category}", text
        else:
            yield key, entry


@cache
def english_templates(language: str) -> tuple[Template, ...]:
    """English texts that `language` translates differently, line by line."""
    translated = dict(_entries(language))
    templates = []
    for key, english in _entries(DEFAULT_LANGUAGE):
        own = translated.get(key)
        if own is None or own.strip() == english.strip():
            continue  # not translated at all is a gap the catalogue test reports
        for line in english.splitlines():
            letters = _literal_letters(line)
            if letters < 3 or line.strip() in own:
                continue
            pattern = _pattern(line)
            inside = re.compile(pattern) if letters >= 16 and " " in line.strip() else None
            templates.append(Template(key, line, re.compile(pattern + r"\Z"), inside))
    return tuple(templates)


# ------------------------------------------------------------------------------ checks


def readable(text: str, entities: list[dict[str, Any]] | None = None) -> str:
    """The text without the parts that are codes, links, names or commands."""
    if not entities:
        return text
    # Entity offsets count UTF-16 code units.
    units = text.encode("utf-16-le")
    for entity in sorted(entities, key=lambda e: e["offset"], reverse=True):
        if entity["type"] in VERBATIM:
            start, end = entity["offset"] * 2, (entity["offset"] + entity["length"]) * 2
            units = units[:start] + " ".encode("utf-16-le") + units[end:]
    return units.decode("utf-16-le")


def leftovers(text: str, language: str) -> list[str]:
    """Raw keys, placeholders, enum names, raw status words and `None` in a shown text."""
    found = [f"placeholder {m}" for m in PLACEHOLDER.findall(text)]
    found += [f"translation key {m}" for m in DOTTED.findall(text) if m in keys()]
    words = set(re.findall(r"\b[A-Za-z_]+\b", text))
    found += [f"enum name {w}" for w in sorted(words & enum_names())]
    if "None" in words:
        found.append("None")
    found += [f"field name {m}" for m in FIELD.findall(text)]
    for line in text.splitlines():
        bare = line.strip()
        if COMMAND.search(bare):
            continue  # a command's usage: its arguments are codes (`unclaimed`, `csv`)
        if bare in status_words():
            found.append(f"status word {bare!r}")
        elif language != DEFAULT_LANGUAGE:
            found += [
                f"status word {w!r}"
                for w in sorted(set(re.findall(r"\b[a-z_]+\b", bare)) & status_words())
            ]
            found += [
                f"identifier {w!r}"
                for w in sorted(set(IDENTIFIER.findall(bare)) - status_words())
                if f"{w}=" not in bare  # reported as a field name
            ]
        else:
            found += [
                f"status word ({w})"
                for w in re.findall(r"\(([a-z_]+)\)", bare)
                if w in status_words()
            ]
            found += [
                f"status word {w!r}"
                for w in re.findall(r":\s*([a-z_]+)\s*$", bare)
                if w in status_words()
            ]
    return found


def english_in(text: str, language: str, exempt: tuple[str, ...] = ()) -> list[str]:
    """English catalogue texts in a text shown to a person who reads `language` (but those
    whose keys start with one of `exempt`)."""
    if language == DEFAULT_LANGUAGE:
        return []
    lines = [
        part.strip()
        for line in text.splitlines()
        for part in [line, *SEPARATORS.split(line)]
        if part.strip()
    ]
    return [
        f"English {template.key}: {template.english!r}"
        for template in english_templates(language)
        if (
            not template.key.startswith(exempt)
            and any(template.whole.match(line) for line in lines)
        )
        or (template.inside is not None and template.inside.search(text))
    ]


def problems_of(text: str, language: str, exempt: tuple[str, ...] = ()) -> list[str]:
    return leftovers(text, language) + english_in(text, language, exempt)


# ------------------------------------------------------------------------------- a visit


Message = dict[str, Any]


@dataclass
class Visit:
    """One person talking to the bot in one language; what they saw and what went wrong."""

    driver: EmulatorDriver
    user: int
    language: str
    # Keys of texts this person may see in English on purpose: an ad is shown to its seller
    # and to the admins as the channel will show it, in the channel's language.
    exempt: tuple[str, ...] = ()
    problems: list[str] = field(default_factory=list)
    toasts: list[str] = field(default_factory=list)
    # (message id, its text, callback data): a message edited into another is another screen
    pressed: set[tuple[int, str, str]] = field(default_factory=set)

    def seen(self, text: str) -> list[str]:
        """What is wrong with a text this person is shown."""
        return problems_of(text, self.language, self.exempt)

    async def say(self, text: str, *, expect: str | None = None) -> list[Message]:
        """Send a message (or /command); the bot's answers so far (at least one, and one
        containing `expect` if given: a step of a dialogue answers in several messages)."""
        sent = await self.driver.send_message(self.user, text)
        return await self._answers(sent["message_id"], f"after {text!r}", expect)

    async def tap(self, label: str) -> list[Message]:
        """Press a reply-keyboard button (once the bot shows it)."""

        async def shown() -> bool:
            return label in await self.menu()

        await eventually(shown, timeout=ANSWER_TIMEOUT)
        try:
            sent = await self.driver.press_reply_button(self.user, label)
        except EmulatorError as exc:
            # A message that came meanwhile (a notification) brought another keyboard: the
            # button is gone, as a person would find it.
            if exc.status == 404:
                return []
            raise
        return await self._answers(sent["message_id"], f"after the menu button {label!r}")

    async def menu(self) -> list[str]:
        """The labels of the reply keyboard shown now."""
        keyboard = await self.driver.reply_keyboard(self.user) or {}
        return [button["text"] for row in keyboard.get("keyboard", []) for button in row]

    async def tap_every_menu_button(self, *, skip: tuple[str, ...] = ()) -> None:
        """Each reply-keyboard button once, including those of menus they open."""
        done: set[str] = set(skip)
        for _ in range(40):
            left = [label for label in await self.menu() if label not in done]
            if not left:
                return
            done.add(left[0])
            await self.tap(left[0])

    async def _answers(self, after: int, what: str, expect: str | None = None) -> list[Message]:
        try:
            await self.driver.wait_for_message(
                self.user, after_message_id=after, contains=expect, timeout=ANSWER_TIMEOUT
            )
        except TimeoutError:
            self.problems.append(f"no answer {what}" + (f" with {expect!r}" if expect else ""))
            return []
        return [m for m in await self.driver.bot_messages(self.user) if m["message_id"] > after]

    async def press(self, message: Message, button: dict[str, Any]) -> dict[str, Any] | None:
        """Press an inline button; the callback's answer (a problem if none came)."""
        data = str(button["callback_data"])
        self.pressed.add(_screen(message, data))
        shown = await self.driver.bot_messages(self.user)
        newest = shown[-1]["message_id"] if shown else 0
        try:
            query = await self.driver.press_button(
                self.user, message["message_id"], callback_data=data, chat_id=message["chat"]["id"]
            )
        except EmulatorError as exc:
            if exc.status == 404:  # the bot has just edited the button away: not pressable
                return None
            raise
        answer = await self.driver.callback_answer(query, timeout=ANSWER_TIMEOUT)
        where = f"the button {button['text']!r} ({data}) under message {message['message_id']}"
        if answer is None:
            self.problems.append(f"{where}: never answered (the spinner stays)")
            return None
        await self._settled(message, newest)
        toast = str(answer.get("text") or "")
        if toast:
            self.toasts.append(toast)
            if len(toast) > TOAST:
                self.problems.append(f"{where}: toast of {len(toast)} characters")
            self.problems += [f"{where}: toast: {p}" for p in self.seen(toast)]
        return answer

    async def _settled(self, message: Message, newest: int) -> None:
        """Wait a little for what a press does besides answering (an edit, a new message after
        `newest`), as a person waits to see it: pressing a button again before its screen has
        changed is a double tap, a different story (docs/classifieds.md)."""

        async def changed() -> bool:
            shown = await self.driver.bot_messages(self.user)
            if shown and shown[-1]["message_id"] > newest:
                return True
            now = [m for m in shown if m["message_id"] == message["message_id"]]
            return not now or now[0] != message

        with contextlib.suppress(TimeoutError):
            await eventually(changed, timeout=SETTLE)

    async def press_data(self, prefix: str) -> Message:
        """Press the newest button whose callback data starts with `prefix` (waiting for it to
        be shown); the message it was under."""
        found: list[tuple[Message, dict[str, Any]]] = []

        async def shown() -> bool:
            for message in reversed(await self.driver.bot_messages(self.user)):
                for row in (message.get("reply_markup") or {}).get("inline_keyboard", []):
                    for button in row:
                        if str(button.get("callback_data", "")).startswith(prefix):
                            found.append((message, button))
                            return True
            return False

        try:
            await eventually(shown, timeout=ANSWER_TIMEOUT)
        except TimeoutError:
            raise AssertionError(f"no button {prefix}… in the chat of {self.user}") from None
        message, button = found[0]
        await self.press(message, button)
        return message

    async def _current(self, message_id: int) -> Message:
        for message in await self.driver.bot_messages(self.user):
            if message["message_id"] == message_id:
                return message
        raise AssertionError(f"message {message_id} is gone")

    async def press_every_button(self) -> None:
        """Every inline callback button shown in the chat, until pressing them shows no new
        ones. A language button other than the visitor's own is left: it changes what every
        later text should be in."""
        for _ in range(MAX_PRESSES):
            target = await self._unpressed()
            if target is None:
                return
            await self.press(*target)
        self.problems.append(f"still unpressed buttons after {MAX_PRESSES} presses")

    async def _unpressed(self) -> tuple[Message, dict[str, Any]] | None:
        for message in await self.driver.bot_messages(self.user):
            for row in (message.get("reply_markup") or {}).get("inline_keyboard", []):
                for button in row:
                    data = button.get("callback_data")
                    if data is None or _screen(message, data) in self.pressed:
                        continue
                    if data.startswith("lang:") and data != f"lang:{self.language}":
                        self.pressed.add(_screen(message, data))
                        continue
                    return message, button
        return None

    async def check_transcript(self) -> None:
        """Every message the bot shows in the chat now: its text and its buttons."""
        for message in await self.driver.bot_messages(self.user):
            where = f"message {message['message_id']}"
            invoice = message.get("invoice") or {}
            text = str(message.get("text") or message.get("caption") or "")
            text += "".join(
                f"\n{invoice[part]}" for part in ("title", "description") if part in invoice
            )
            entities = message.get("entities") or message.get("caption_entities")
            shown = readable(text, entities)
            self.problems += [f"{where}: {p}" for p in self.seen(shown)]
            markup = message.get("reply_markup") or {}
            rows = markup.get("inline_keyboard", []) + markup.get("keyboard", [])
            for row in rows:
                for button in row:
                    label = str(button["text"])
                    self.problems += [f"{where}: button {label!r}: {p}" for p in self.seen(label)]
        for label in await self.menu():
            self.problems += [f"menu button {label!r}: {p}" for p in self.seen(label)]


def _screen(message: Message, data: str) -> tuple[int, str, str]:
    return message["message_id"], str(message.get("text") or message.get("caption")), data


async def refused_calls(driver: EmulatorDriver) -> list[str]:
    """The Bot API calls the emulator refused, as Telegram would have."""
    stats = await driver.stats()
    return [
        f"{call['method']} (chat {call.get('chat_id')}, message {call.get('message_id')}): "
        f"{call['description']}"
        for call in stats.get("refused", [])
    ]


async def verdict(driver: EmulatorDriver, visits: list[Visit]) -> list[str]:
    """Everything wrong that the visits saw, and every call Telegram would have refused."""
    await asyncio.gather(*(visit.check_transcript() for visit in visits))
    found = [
        f"[{visit.language} {visit.user}] {problem}"
        for visit in visits
        for problem in dict.fromkeys(visit.problems)
    ]
    return found + [f"[Telegram refused] {call}" for call in await refused_calls(driver)]

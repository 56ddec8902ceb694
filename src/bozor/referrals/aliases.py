"""The reference's (seed 004's) field names, accepted beside Bozor's own in request bodies.

Its readers send `{userId}`, `{referralCode, newUserId}` or `{referral_link, new_user_id}`.
A field declares its other spellings once, with `seed_names(...)` as its `validation_alias`;
`SeedNames` then

- reads a referral link (`https://t.me/<bot>?start=<code>`, Bozor's own `.../r/<code>`) given
  under a link's name down to its code,
- refuses a body that spells one field twice with different values (which one was meant?),
- and documents every spelling in the OpenAPI schema (pydantic shows only the first).
"""

from __future__ import annotations

import copy
import re
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from pydantic import AliasChoices, BaseModel, ConfigDict, model_validator

# Names under which the reference sends a whole link where Bozor wants a code.
LINK_NAMES = frozenset({"referral_link", "referralLink", "link"})
MAX_LINK = 2048
ALIAS_OF = "x-alias-of"  # on each alternative property in the OpenAPI schema: the field it spells
_CLICK_PATH = re.compile(r"(?:^|/)r/([^/]+)/?$")  # Bozor's click links: <PUBLIC_URL>/r/<code>


def seed_names(name: str, *others: str) -> AliasChoices:
    """`name` (Bozor's) first, then the reference's spellings of the same field."""
    return AliasChoices(name, *others)


def code_from_link(link: str) -> str:
    """The referral code in a link: `start` of a Telegram deep link, or the last part of a
    click link `/r/<code>`; a bare code is returned as it is. ValueError if there is none."""
    text = link.strip()
    if "/" not in text and "?" not in text:
        return text  # already a code
    parts = urlsplit(text)
    start = parse_qs(parts.query).get("start")
    if start:
        return start[0]
    match = _CLICK_PATH.search(parts.path)
    if match:
        return unquote(match.group(1))
    raise ValueError(
        "the referral link has no code: expected https://t.me/<bot>?start=<code> or .../r/<code>"
    )


def _spellings(model: type[BaseModel]) -> dict[str, tuple[str, ...]]:
    """Field name -> every name it may be sent under (Bozor's first)."""
    names: dict[str, tuple[str, ...]] = {}
    for field_name, field in model.model_fields.items():
        alias = field.validation_alias
        if isinstance(alias, AliasChoices):
            names[field_name] = tuple(str(choice) for choice in alias.choices)
    return names


def _document(schema: dict[str, Any], model: type[BaseModel]) -> None:
    properties: dict[str, Any] = schema.get("properties", {})
    for spellings in _spellings(model).values():
        own, *others = spellings
        if own not in properties:
            continue
        for other in others:
            if other in LINK_NAMES:
                properties[other] = {
                    "type": "string",
                    "maxLength": MAX_LINK,
                    "title": other,
                    ALIAS_OF: own,
                    "description": f"Seed 004's name: a referral link, read as `{own}` "
                    "(`https://t.me/<bot>?start=<code>` or `<PUBLIC_URL>/r/<code>`).",
                    "examples": ["https://t.me/bozor_bot?start=aB3dE5fG7h"],
                }
            else:
                alternative = copy.deepcopy(properties[own])
                alternative["title"] = other
                alternative["description"] = f"Seed 004's name for `{own}`."
                alternative[ALIAS_OF] = own
                properties[other] = alternative
    # A required field may come under any of its spellings: `required` keeps the fields with
    # one name only, and each of the others needs one of its spellings (generated clients and
    # fuzzers then know that `{"userId": …}` alone is a valid body).
    required: list[str] = schema.get("required", [])
    for spellings in _spellings(model).values():
        if spellings[0] in required:
            required.remove(spellings[0])
            one_of_them = {"anyOf": [{"required": [name]} for name in spellings]}
            schema.setdefault("allOf", []).append(one_of_them)
    if not required:
        schema.pop("required", None)


class SeedNames(BaseModel):
    """A request body that also takes the reference's spellings (see the module's docstring)."""

    model_config = ConfigDict(json_schema_extra=_document)

    @model_validator(mode="before")
    @classmethod
    def _one_spelling_each(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        data = dict(data)
        for spellings in _spellings(cls).values():
            sent = [name for name in spellings if name in data]
            for name in sent:
                value = data[name]
                if name in LINK_NAMES and isinstance(value, str):
                    if len(value) > MAX_LINK:
                        raise ValueError(f"`{name}` is longer than {MAX_LINK} characters")
                    data[name] = code_from_link(value)
            different = [name for name in sent[1:] if data[name] != data[sent[0]]]
            if different:
                raise ValueError(
                    f"`{sent[0]}` and `{different[0]}` name the same field with different "
                    "values; send one of them"
                )
        return data

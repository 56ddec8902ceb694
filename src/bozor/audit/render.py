"""How audit entries read for people: actions and areas through the translations, details
as "key: value" (the CSV exports keep the stored values)."""

from __future__ import annotations

from typing import Any

from bozor.i18n import Translator


def _label(t: Translator, key: str, fallback: str) -> str:
    text = t(key)
    return fallback if text == key else text


def action_label(t: Translator, action: str) -> str:
    return _label(t, f"dashboard.audit.actions.{action}", action)


def area_label(t: Translator, area: str) -> str:
    return _label(t, f"dashboard.audit.areas.{area}", area)


def _value(value: Any) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{key}={_value(item)}" for key, item in value.items())
    if isinstance(value, list | tuple):
        return ", ".join(_value(item) for item in value)
    return str(value)


def readable(details: dict[str, Any]) -> str:
    """`{"number": "11-22", "count": 3}` -> "number: 11-22; count: 3" (empty values left out)."""
    return "; ".join(
        f"{key}: {_value(value)}" for key, value in details.items() if value is not None
    )

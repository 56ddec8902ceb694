"""Telegram updates handled: recorded once, so a re-delivered update is not handled again."""

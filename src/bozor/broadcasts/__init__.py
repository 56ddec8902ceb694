"""Broadcasts: one message to many users (a segment or a list), at Telegram's limit."""

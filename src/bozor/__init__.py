"""Bozor: one Telegram bot platform for communities that grow and sell."""

__version__ = "0.1.0"

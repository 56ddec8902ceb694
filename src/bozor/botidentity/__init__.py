"""The bot's identity as Telegram last told it (getMe), kept so that Bozor starts and serves
HTTP without Telegram."""

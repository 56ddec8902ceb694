"""The HTTP side: the Telegram webhook endpoint and health checks (the REST API grows here)."""

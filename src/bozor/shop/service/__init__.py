"""The shop's rules, on a database session and with no Telegram or HTTP types: the catalogue,
orders, payments (Stars, card, bonus points) and their refunds, sales figures and support.
The bot, the admin API, the dashboard and the jobs call these; the edge commits."""

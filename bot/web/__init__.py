"""The bot's HTTP side (aiohttp): one application that every page of the bot joins.

``app.py`` builds it (``build_web_app``): Telegram's webhook (``webhook.py``) in webhook mode,
and later the staff pages, each a module here adding its routes. Operations endpoints
(/healthz, /metrics: ``ops.py``) listen on a port of their own, never exposed to the internet.
"""

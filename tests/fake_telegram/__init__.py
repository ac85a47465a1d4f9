"""Fake Telegram Bot API for integration tests and benchmarks.

- ``server.py``: the server (:class:`~tests.fake_telegram.server.FakeTelegramServer`): the Bot
  API methods it answers, recording, latency, fault injection;
- ``update_queue.py``: what ``getUpdates`` hands out, and the offsets that confirm it;
- ``webhook.py``: pushed updates POSTed to the bot's webhook, round-robin over replicas;
- ``faults.py``: injected failures and Telegram's flood control (429 above N messages/s);
- ``decoding.py``: request parameters decoded as Telegram reads them;
- ``records.py``: what is recorded of each request;
- ``updates.py``: builders of the updates tests push.
"""

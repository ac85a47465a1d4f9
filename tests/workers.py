"""Which test process this is: the pytest-xdist worker's id (``gw0``, ``gw1``, ...), or
``main`` for a run without workers (``-n 0``) and for a process started outside pytest.

The suite runs in one worker per core (pyproject.toml addopts, ``-n auto``), each a process of
its own sharing the machine's servers: the names a test makes on them carry this id
(PostgreSQL's databases and templates, tests/integration/pg.py; Redis's key prefixes,
tests/redis_support.py), so two workers never meet on one and a name left behind says which
worker made it. Files are each test's ``tmp_path`` (per worker already), ports the OS's
choice (port 0), module caches and the environment per process.
"""

from __future__ import annotations

import os

__all__ = ["worker_id"]


def worker_id() -> str:
    """``PYTEST_XDIST_WORKER`` (set by pytest-xdist in each worker, and inherited by the
    processes a test starts), or ``main``."""
    return os.environ.get("PYTEST_XDIST_WORKER", "").strip() or "main"

"""CPU time of the calling thread, less what the garbage collector took in it.

A render's time limit (bot/content/sandbox.py) and the budget of a staff edit's check
(bot/content/validate.py) measure what a template costs. A collection of the oldest generation
runs inside whichever allocation triggers it, and in a process that holds large objects (the
learned layers' weights, a test run's thousands of applications) it takes tens or hundreds of
milliseconds: charged to the template that happened to allocate, it refused a cheap template
(the shipped text sent instead, an alert to the team; a staff edit refused as too slow). The
collector reports its start and stop through :data:`gc.callbacks`, in the thread it runs in, so
each thread's collection time is kept and left out."""

from __future__ import annotations

import gc
import threading
import time
from typing import Any

__all__ = ["work_time"]


class _Collections(threading.local):
    started: float | None = None
    spent: float = 0.0


_collections = _Collections()


def _on_collection(phase: str, info: dict[str, Any]) -> None:
    if phase == "start":
        _collections.started = time.thread_time()
    elif _collections.started is not None:
        _collections.spent += time.thread_time() - _collections.started
        _collections.started = None


if _on_collection not in gc.callbacks:
    gc.callbacks.append(_on_collection)


def work_time() -> float:
    """:func:`time.thread_time` without the garbage collections of this thread."""
    return time.thread_time() - _collections.spent

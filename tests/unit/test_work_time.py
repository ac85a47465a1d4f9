"""foundation/work_time.py: a thread's CPU time without its garbage collections, so a render
or a check is not refused for a collection that happened to run inside it."""

from __future__ import annotations

import gc
import time
from collections.abc import Iterator

import pytest

from bot.content.sandbox import RenderLimits, budget
from foundation.work_time import work_time


@pytest.fixture(scope="module")
def big_heap() -> Iterator[list[list[int]]]:
    """Enough container objects that a full collection takes tens of milliseconds (built
    once for the module's tests, and they only collect it). Built with the collector off:
    the growing heap set off full collections of the whole test process as it went, which
    made building it take 5-13 s instead of a fraction of one."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        heap = [[i] for i in range(1_500_000)]
    finally:
        if was_enabled:
            gc.enable()
    yield heap
    del heap


def _collect_timed() -> tuple[float, float]:
    cpu, work = time.thread_time(), work_time()
    gc.collect()
    return time.thread_time() - cpu, work_time() - work


def test_a_collection_is_left_out(big_heap: list[list[int]]) -> None:
    cpu, work = _collect_timed()
    assert cpu > 0.01  # the collection took real CPU time...
    assert work < cpu / 4  # ... which work_time left out


def test_other_work_is_counted() -> None:
    gc.disable()
    try:
        cpu, work = time.thread_time(), work_time()
        sum(i * i for i in range(300_000))
        cpu, work = time.thread_time() - cpu, work_time() - work
    finally:
        gc.enable()
    assert work == pytest.approx(cpu, rel=0.01)


def test_a_render_is_not_refused_for_a_collection_inside_it(big_heap: list[list[int]]) -> None:
    cpu, _ = _collect_timed()
    with budget(RenderLimits(seconds=cpu / 2)) as current:
        gc.collect()  # as if an allocation of the template had triggered it
        current.step()  # within the limit: the collection does not count

"""The engine writes outcomes while a pass goes on (scheduler.engine._Recorder)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from scheduler.engine import _Recorder
from scheduler.queue import AttemptResult, Outcome, Reason


class Writes:
    def __init__(self, fail_first: bool = False) -> None:
        self.batches: list[list[int]] = []
        self.fail_first = fail_first

    async def __call__(self, outcomes: Sequence[AttemptResult]) -> None:
        await asyncio.sleep(0)  # a real write awaits the database
        if self.fail_first and not self.batches:
            self.batches.append([])
            raise OSError("database is locked")
        self.batches.append([i for o in outcomes for i in o.ids])


def sent(*ids: int) -> AttemptResult:
    return AttemptResult(ids, Outcome.SENT)


async def test_writes_every_n_outcomes_and_the_rest_at_close() -> None:
    writes = Writes()
    recorder = _Recorder(writes, every=2, interval=3600, monotonic=lambda: 0.0)
    recorder.add([sent(1)])
    await asyncio.sleep(0.01)
    assert writes.batches == []
    recorder.add([sent(2), AttemptResult((3,), Outcome.FAILED, Reason.RENDER, "KeyError")])
    await asyncio.sleep(0.01)
    assert writes.batches == [[1, 2, 3]]
    recorder.add([sent(4, 5)])
    await recorder.close()
    assert writes.batches == [[1, 2, 3], [4, 5]]
    assert recorder.sent_rows == 4


async def test_writes_after_the_interval_even_when_few_are_waiting() -> None:
    now = [0.0]
    writes = Writes()
    recorder = _Recorder(writes, every=100, interval=0.5, monotonic=lambda: now[0])
    recorder.add([sent(1)])
    await asyncio.sleep(0.01)
    assert writes.batches == []
    now[0] = 0.6
    recorder.add([sent(2)])
    await asyncio.sleep(0.01)
    assert writes.batches == [[1, 2]]
    await recorder.close()
    assert writes.batches == [[1, 2]]


async def test_a_failed_write_is_raised_at_close_after_the_rest_is_written() -> None:
    writes = Writes(fail_first=True)
    recorder = _Recorder(writes, every=1, interval=3600, monotonic=lambda: 0.0)
    recorder.add([sent(1)])
    await asyncio.sleep(0.01)
    recorder.add([sent(2)])
    with pytest.raises(OSError, match="locked"):
        await recorder.close()
    assert writes.batches[-1] == [2]

"""The words of the one leased queue (scheduler/queue.py): what is stored and counted."""

from __future__ import annotations

from scheduler.queue import AttemptResult, Outcome, QueueStats, QueueStatus, Reason


def test_each_outcome_is_written_with_a_status_of_the_stored_words() -> None:
    assert {o: o.status for o in Outcome} == {
        Outcome.SENT: QueueStatus.SENT,
        Outcome.SKIPPED: QueueStatus.SKIPPED,
        Outcome.EXPIRED: QueueStatus.EXPIRED,
        Outcome.FAILED: QueueStatus.FAILED,
        Outcome.RETRY: QueueStatus.PENDING,
    }
    assert [s.value for s in QueueStatus] == [  # the strings already in the database
        "pending",
        "sending",
        "sent",
        "skipped",
        "expired",
        "failed",
    ]


def test_the_stored_reason_is_the_code_then_the_detail_cut_to_the_column() -> None:
    assert AttemptResult((1,), Outcome.SENT).stored_reason is None
    assert AttemptResult((1,), Outcome.FAILED, Reason.TOO_MANY_ATTEMPTS).stored_reason == (
        "too_many_attempts"
    )
    render = AttemptResult((1,), Outcome.FAILED, Reason.RENDER, "KeyError")
    assert render.stored_reason == "render:KeyError"
    long = AttemptResult((1,), Outcome.RETRY, Reason.RETRY, "x" * 500)
    assert long.stored_reason is not None and len(long.stored_reason) == 120


def test_a_row_waiting_for_its_patient_is_counted_as_blocked() -> None:
    waiting = AttemptResult((1, 2), Outcome.RETRY, Reason.BLOCKED, unreachable_patient=7)
    retry = AttemptResult((3,), Outcome.RETRY, Reason.RETRY)
    stats = QueueStats()
    stats.count([waiting, retry, AttemptResult((4, 5, 6), Outcome.SENT)])
    assert (waiting.label, retry.label) == ("blocked", "retry")
    assert stats.rows == {"blocked": 2, "retry": 1, "sent": 3}
    assert (stats.messages, stats.sent_rows, stats.retried, stats.failed) == (1, 3, 1, 0)

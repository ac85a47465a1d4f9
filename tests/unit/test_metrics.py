"""The application's metrics: a registry of its own, low-cardinality labels, update outcomes."""

from __future__ import annotations

import pytest
from prometheus_client.parser import text_string_to_metric_families

from bot.metrics import Metrics, mark_update


def value(metrics: Metrics, name: str, **labels: str) -> float | None:
    return metrics.registry.get_sample_value(name, labels)


def test_two_applications_in_one_process_do_not_collide() -> None:
    first, second = Metrics(), Metrics()
    first.flood_wait()
    assert value(first, "companion_telegram_429_total") == 1
    assert value(second, "companion_telegram_429_total") == 0


def test_an_update_is_counted_by_type_and_outcome_and_timed() -> None:
    ticks = iter([10.0, 10.25, 20.0, 20.5, 30.0, 31.0])
    metrics = Metrics(perf_counter=lambda: next(ticks))
    with metrics.update(1, "message"):
        pass
    with metrics.update(2, "message"):
        mark_update("crisis")
        mark_update("error")  # the first mark wins
    with pytest.raises(RuntimeError), metrics.update(3, "callback_query"):
        raise RuntimeError("boom")
    assert value(metrics, "companion_updates_total", type="message", outcome="handled") == 1
    assert value(metrics, "companion_updates_total", type="message", outcome="crisis") == 1
    assert value(metrics, "companion_updates_total", type="callback_query", outcome="error") == 1
    assert value(metrics, "companion_update_duration_seconds_sum", type="message") == 0.75
    assert value(metrics, "companion_update_duration_seconds_count", type="message") == 2
    assert (
        value(metrics, "companion_update_duration_seconds_bucket", type="message", le="0.25") == 1
    )


def test_marks_outside_an_update_do_nothing() -> None:
    mark_update("error")  # no update in hand: no error, nothing counted
    metrics = Metrics()
    with metrics.update(1, "message"):
        pass
    assert value(metrics, "companion_updates_total", type="message", outcome="handled") == 1


def test_reminder_rows_by_step_and_lateness() -> None:
    metrics = Metrics()
    metrics.row_ended("playlist", "sent")
    metrics.row_ended("playlist", "expired", 3)
    metrics.row_ended("ride", "skipped", 0)  # nothing to count
    metrics.row_sent(42.0)
    metrics.row_sent(-1.0)  # a clock step backwards counts as on time
    assert value(metrics, "companion_reminders_total", step="playlist", outcome="sent") == 1
    assert value(metrics, "companion_reminders_total", step="playlist", outcome="expired") == 3
    assert value(metrics, "companion_reminders_total", step="ride", outcome="skipped") is None
    assert value(metrics, "companion_reminder_lateness_seconds_sum") == 42.0
    assert value(metrics, "companion_reminder_lateness_seconds_bucket", le="1.0") == 1


def test_telegram_results_count_unreachable_chats() -> None:
    metrics = Metrics()
    metrics.telegram_result("send", "sent")
    metrics.telegram_result("send", "blocked")
    metrics.telegram_call("send", 0.2)
    assert value(metrics, "companion_telegram_results_total", kind="send", outcome="blocked") == 1
    assert value(metrics, "companion_telegram_unreachable_total") == 1
    assert value(metrics, "companion_telegram_request_duration_seconds_count", kind="send") == 1


def test_the_exposition_is_prometheus_text_with_every_metric() -> None:
    metrics = Metrics()
    families = {f.name for f in text_string_to_metric_families(metrics.exposition().decode())}
    assert {
        "companion_updates",
        "companion_update_duration_seconds",
        "companion_reminders",
        "companion_reminder_lateness_seconds",
        "companion_telegram_request_duration_seconds",
        "companion_telegram_results",
        "companion_telegram_429",
        "companion_telegram_unreachable",
        "companion_unreachable_patients",
        "companion_staff_alert_backlog",
        "companion_reminder_engine_last_pass_age_seconds",
        "companion_scrape_database_failures",
    } <= families


def test_a_long_label_is_cut() -> None:
    metrics = Metrics()
    metrics.row_ended("x" * 100, "sent")
    assert value(metrics, "companion_reminders_total", step="x" * 32, outcome="sent") == 1

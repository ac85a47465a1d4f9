"""What mutation testing mutates, and which tests judge each mutant (scripts/mutation.py).

Each target names mutmut's mutants of its functions (`module.x_function__mutmut_N`, or
`module.xǁClassǁmethod__mutmut_N` for a method) and the test files written for that code. mutmut
runs, for a mutant, the tests that reached its function in a first traced run; as a pytest
plugin (`-p tests.mutation_targets`, pyproject.toml [tool.mutmut]), this module then keeps only
those of the target's own files. The crisis screen runs on every update, so every conversation
test reaches it; judged by all of them, each surviving mutant would cost minutes, and a mutant
killed by a booking test that happens to pass a crisis word says little about the screen's
tests.
"""

from __future__ import annotations

import fnmatch
import os
from dataclasses import dataclass
from typing import Any

_ = "ǁ"  # mutmut's separator of a class and its method in a mutant's name


@dataclass(frozen=True)
class Target:
    title: str
    mutants: tuple[str, ...]
    """Patterns of mutant names (fnmatch, as `mutmut run` takes them)."""
    tests: tuple[str, ...]
    """The test files that judge them."""


TARGETS: dict[str, Target] = {
    "safety": Target(
        "the crisis screen",
        # Every function but the two that build tables once, at import (_invisible_code_points,
        # _lookalike_map): mutmut switches a mutant on when a function is called, after the
        # import, so their mutants could only survive.
        (
            "bot.domain.safety.x_[!_]*",
            "bot.domain.safety.x__[!il]*",
            "bot.domain.safety.x__inside__*",
            f"bot.domain.safety.x{_}*",
        ),
        (
            "tests/unit/test_safety.py",
            "tests/unit/test_safety_corpora.py",
            "tests/unit/test_safety_evasions.py",
            "tests/integration/test_questions_and_safety.py",
        ),
    ),
    "booking": Target(
        "booking confirmations",
        (
            f"bot.services.appointments.x{_}AppointmentService{_}confirm__*",
            "bot.telegram.handlers.appointments.x_draft_confirm__*",
            "bot.telegram.handlers.appointments.x_draft_change__*",
            "bot.telegram.handlers.appointments.x__already_saved__*",
        ),
        ("tests/integration/test_booking.py", "tests/integration/test_privacy_and_bad_input.py"),
    ),
    "forget": Target(
        "/forget",
        (
            "bot.telegram.handlers.forget.*",
            f"bot.services.patients.x{_}PatientService{_}forget__*",
            f"bot.db.patients.x{_}Repository{_}delete_patient_everything__*",
        ),
        (
            "tests/integration/test_privacy_and_bad_input.py",
            "tests/integration/test_onboarding.py",
            "tests/integration/test_reminders.py",
        ),
    ),
    "claims": Target(
        "the reminder engine's claims",
        (
            f"bot.db.reminders.x{_}ReminderRepository{_}claim__*",
            f"bot.db.reminders.x{_}ReminderRepository{_}extend_lease__*",
            f"bot.db.reminders.x{_}ReminderRepository{_}finish_many__*",
            "bot.db.reminder_store.*",
            f"scheduler.engine.x{_}ReminderEngine{_}run_due__*",
            f"scheduler.engine.x{_}ReminderEngine{_}claim_limit__*",
            f"scheduler.engine.x{_}ReminderEngine{_}_claim__*",
            f"scheduler.engine.x{_}ReminderEngine{_}_renew_lease__*",
            f"scheduler.engine.x{_}_Recorder{_}*",
        ),
        (
            "tests/integration/test_reminders.py",
            "tests/integration/test_reminder_leases.py",
            "tests/unit/test_engine_recorder.py",
        ),
    ),
    "sender": Target(
        "the sender",
        ("bot.delivery.sender.*", "bot.delivery.rate_limit.*"),
        (
            "tests/integration/test_sender.py",
            "tests/unit/test_rate_limit.py",
            "tests/integration/test_reminders.py",
        ),
    ),
}


def target_of(mutant: str) -> Target | None:
    return next(
        (t for t in TARGETS.values() if any(fnmatch.fnmatchcase(mutant, p) for p in t.mutants)),
        None,
    )


def sampled(mutant: str, every: int) -> bool:
    """Whether a sample of every `every`-th mutant of each function has this one (mutmut_1,
    mutmut_1+every, ...): the same ones in every run."""
    number = mutant.rpartition("__mutmut_")[2]
    return not number.isdigit() or (int(number) - 1) % every == 0


def pytest_collection_modifyitems(config: Any, items: list[Any]) -> None:
    """In mutmut's run of one mutant (MUTANT_UNDER_TEST names it), only its target's tests;
    none for a mutant out of the sample (MUTATION_SAMPLE, scripts/mutation.py --sample)."""
    mutant = os.environ.get("MUTANT_UNDER_TEST", "")
    target = target_of(mutant)
    if target is None:
        return
    every = int(os.environ.get("MUTATION_SAMPLE", "1"))
    keep = [
        item
        for item in items
        if item.nodeid.split("::", 1)[0] in target.tests and sampled(mutant, every)
    ]
    dropped = [item for item in items if item not in keep]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = keep

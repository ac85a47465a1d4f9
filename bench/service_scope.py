"""What making the services costs an update (bot/services/container.py).

    .venv/bin/python -m bench.service_scope        # [--updates 20000]

The Telegram unit of work opens a ServiceScope per update; a service is built the first time
a handler asks for it. Measured here, on one session that never connects (nothing here runs a
query): the scope alone with the sender's role, as a FAQ question takes it, and the scope with
the invites service (staff, audit, appointments, the reminder planner and the invites behind
it), as /invite takes it. Per update: the best of 7 runs' mean time, and the bytes allocated
(tracemalloc, 1,000 scopes kept alive).
"""

from __future__ import annotations

import sys
import timeit
import tracemalloc
from collections.abc import Callable
from typing import Any

from bench.common import bench_main, log


def _measure(make: Callable[[], object], updates: int) -> dict[str, float]:
    best = min(timeit.repeat(make, number=updates, repeat=7)) / updates
    tracemalloc.start()
    before = tracemalloc.take_snapshot()
    kept = [make() for _ in range(1000)]
    after = tracemalloc.take_snapshot()
    tracemalloc.stop()
    allocated = sum(s.size_diff for s in after.compare_to(before, "filename")) / len(kept)
    return {"us": best * 1e6, "bytes": allocated}


async def run(updates: int) -> dict[str, Any]:
    from bot.config import BUNDLED_MESSAGES_DIR, Settings
    from bot.content.store import Content
    from bot.db.connection import create_engine, create_session_factory
    from bot.services.container import Services
    from bot.services.patient_notices import PatientNotices
    from bot.services.staff_alerts import StaffAlerts
    from foundation.clock import SystemClock

    settings = Settings(_env_file=None)
    clock = SystemClock()
    engine = create_engine("sqlite+aiosqlite:///:memory:")
    sessions = create_session_factory(engine)
    services = Services(
        settings=settings,
        content=Content(BUNDLED_MESSAGES_DIR, settings.default_language),
        clock=clock,
        session_factory=sessions,
        staff_alerts=StaffAlerts(settings.staff_ids, clock),
        patient_notices=PatientNotices(clock),
    )
    session = sessions()

    def question() -> object:
        scope = services.scope(session)
        services.role_from(1, None)
        return scope

    def invite() -> object:
        scope = services.scope(session)
        services.role_from(1, None)
        return scope.invites

    result = {"question": _measure(question, updates), "invite": _measure(invite, updates)}
    await session.close()
    await engine.dispose()
    for name, figures in result.items():
        log(f"service_scope: {name}: {figures['us']:.2f} µs, {figures['bytes']:,.0f} bytes")
        print(f"  {name:<9} {figures['us']:6.2f} µs per update  {figures['bytes']:7,.0f} bytes")
    return result


def main(argv: list[str] | None = None) -> None:
    options = {"--updates": {"type": int, "default": 20_000}}
    bench_main(__doc__ or "", argv, options, run)


if __name__ == "__main__":
    main(sys.argv[1:])

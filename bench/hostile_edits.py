"""What a hostile staff edit costs the bot: issue 18's adversarial round, measured.

    .venv/bin/python -m bench.hostile_edits        # [--rounds 3]

For each edit of the eye-mask reminder: how long the one validator (``check_text``, as a
staff edit is checked) takes to refuse it, and what it says. Then the stall of the event loop
while the slowest edit a member can send is checked (each render just under the limits,
rendered for every sample until the check's own budget runs out): the largest gap between two
ticks of a 5 ms timer running beside the check, with the check in a worker thread (as
``ContentEditing.problems`` runs it) and, for comparison, in the event loop itself. Last, the
cost of the guards on an ordinary render (the evening reminder) and of validating the whole
shipped folder.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import Callable

from bench.common import ROOT, log
from bot.content.catalogue import NO_PREPARATION, SAMPLE_CHECKLIST, SAMPLE_WHEN, ReminderText
from bot.content.store import Content
from bot.content.validate import Problem, check_text, validate_content
from bot.domain.content_kinds import ContentKind

KEY = "en/reminders/evening_before"
HOSTILE = {
    "nested loops 3000x3000": (
        "{% for a in range(3000) %}{% for b in range(3000) %}x{% endfor %}{% endfor %}"
    ),
    "an 80 MB string": "{{ 'x' * 80000000 }}",
    "width 10^8": "{{ 'x'.center(100000000) }}",
    "doubling in a loop": (
        "{% set ns = namespace(s='xx') %}{% for i in range(60) %}"
        "{% set ns.s = ns.s ~ ns.s %}{% endfor %}{{ ns.s }}"
    ),
    "recursion 2^40": (
        "{% macro f(n) %}{% if n %}{{ f(n - 1) }}{{ f(n - 1) }}{% endif %}{% endmacro %}{{ f(40) }}"
    ),
    "fails on the 31st": "{{ when | when }} {{ 1 // (when.day - 31) }}",
    "a Python object": "{{ cycler }}",
    "<b>ket</b>amine": "Your <b>ket</b>amine visit is tomorrow",
}
SLOWEST = (
    "{% macro f(n) %}{% if n %}{{ f(n - 1) }}{% endif %}{% endmacro %}"
    "{% for i in range(40) %}{{ f(60) }}{% endfor %}Tomorrow {{ when | when }}"
)


def _best(rounds: int, run: Callable[[], object]) -> tuple[float, object]:
    best, result = float("inf"), None
    for _ in range(rounds):
        started = time.perf_counter()
        result = run()
        best = min(best, time.perf_counter() - started)
    return best, result


async def _stall(check: Callable[[], object], in_thread: bool) -> float:
    """The largest gap between ticks of a 5 ms timer while `check` runs."""
    gaps: list[float] = []
    done = asyncio.Event()

    async def ticker() -> None:
        last = time.perf_counter()
        while not done.is_set():
            await asyncio.sleep(0.005)
            now = time.perf_counter()
            gaps.append(now - last)
            last = now

    task = asyncio.create_task(ticker())
    await asyncio.sleep(0.02)
    if in_thread:
        await asyncio.to_thread(check)
    else:
        check()
    await asyncio.sleep(0.02)
    done.set()
    await task
    return max(gaps)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    content = Content(ROOT / "messages")
    print("edit                      refused in   reason")
    for name, body in HOSTILE.items():
        log(f"checking {name}")

        def check(b: str = body) -> list[Problem]:
            return check_text(content, ContentKind.TEMPLATE, KEY, b)

        took, found = _best(args.rounds, check)
        reason = found[0].message[:60] if isinstance(found, list) and found else "(accepted)"
        print(f"{name:<25} {took * 1000:8.1f} ms  {reason}")

    def slowest() -> object:
        return check_text(content, ContentKind.TEMPLATE, KEY, SLOWEST)

    took, _ = _best(1, slowest)
    print(f"\nthe slowest edit: checked in {took:.2f} s")
    for in_thread in (True, False):
        gap = asyncio.run(_stall(slowest, in_thread))
        where = "a worker thread" if in_thread else "the event loop"
        print(f"  largest event-loop gap with the check in {where}: {gap * 1000:.0f} ms")

    message = ReminderText(
        template_name="reminders/evening_before",
        when=SAMPLE_WHEN,
        checklist=SAMPLE_CHECKLIST,
        attendance=None,
        catch_up=False,
        preparation=NO_PREPARATION,
    )
    content.render_message(message, "en")
    count = 2000
    took, _ = _best(
        args.rounds, lambda: [content.render_message(message, "en") for _ in range(count)]
    )
    print(f"\nan ordinary reminder render: {took / count * 1e6:.0f} µs")
    took, problems = _best(1, lambda: validate_content(ROOT / "messages"))
    count = len(problems) if isinstance(problems, list) else 0
    print(f"validate_content of the shipped folder: {took:.2f} s ({count} problems)")


if __name__ == "__main__":
    main()

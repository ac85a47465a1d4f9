"""When each step of the plan is due for one appointment, and until when a snooze may last.

Pure maths over instants the caller passes in (no clock). Quiet hours are wall-clock hours in
the patient's zone, so the arithmetic is done on local wall time and turned back into UTC with
:func:`foundation.timemath.resolve_wall` (a wall time the clocks skip moves to the first moment
after the jump; one they show twice means its first occurrence).

A reminder before the visit that would land in quiet hours comes *earlier* (the last allowed
minute before the quiet hours began: the patient still gets it before the visit); a follow-up
comes *later* (the minute they end).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from foundation.timemath import as_utc, resolve_wall, to_local
from scheduler.plan import QuietHours, Step

__all__ = ["Due", "compute_due", "in_quiet_hours", "snooze_until"]

_MINUTE = timedelta(minutes=1)
_DAY = timedelta(days=1)
# Moving out of one quiet window lands outside it except around a clock change that swallows
# the window's edge; a few more moves settle that. Giving up means "no allowed moment".
_MAX_MOVES = 4


@dataclass(frozen=True)
class Due:
    """When to send a step (``due``) and the moment it is no longer worth sending
    (``expires``); both aware UTC, ``due < expires``."""

    due: datetime
    expires: datetime

    def __post_init__(self) -> None:
        for name in ("due", "expires"):
            value = getattr(self, name)
            if value.tzinfo is None or value.utcoffset() is None:
                raise ValueError(f"Due.{name} must be an aware datetime")
        if not self.due < self.expires:
            raise ValueError("Due.due must be before Due.expires")


def _wall(instant: datetime, zone: ZoneInfo) -> datetime:
    return to_local(instant, zone).replace(tzinfo=None, fold=0)


def in_quiet_hours(instant: datetime, zone: ZoneInfo, quiet: QuietHours | None) -> bool:
    """Whether the clocks in ``zone`` show a quiet-hours time at ``instant``."""
    if quiet is None:
        return False
    return quiet.contains(_wall(as_utc(instant, "instant"), zone).time())


def _window(wall: datetime, quiet: QuietHours) -> tuple[datetime, datetime]:
    """The (naive, local) start and end of the quiet window that contains ``wall``."""
    day = wall.date() if wall.time() >= quiet.start else wall.date() - _DAY
    began = datetime.combine(day, quiet.start)
    ends = datetime.combine(day, quiet.end)
    if quiet.crosses_midnight:
        ends += _DAY
    return began, ends


def _move_earlier(instant: datetime, zone: ZoneInfo, quiet: QuietHours) -> datetime | None:
    """``instant`` if it is allowed, else the last allowed minute before its quiet window."""
    for _ in range(_MAX_MOVES):
        wall = _wall(instant, zone)
        if not quiet.contains(wall.time()):
            return instant
        began, _ = _window(wall, quiet)
        moved = resolve_wall(began - _MINUTE, zone, fold=0)
        if moved >= instant:
            # The clocks jumped over the minute before the window; go back past the jump.
            moved = instant - _MINUTE
        instant = moved
    return None


def _move_later(instant: datetime, zone: ZoneInfo, quiet: QuietHours) -> datetime | None:
    """``instant`` if it is allowed, else the first allowed minute after its quiet window."""
    for _ in range(_MAX_MOVES):
        wall = _wall(instant, zone)
        if not quiet.contains(wall.time()):
            return instant
        _, ends = _window(wall, quiet)
        moved = resolve_wall(ends, zone, fold=0)
        if moved <= instant:
            # ``instant`` is the second pass through a repeated hour: take the second one too.
            moved = resolve_wall(ends, zone, fold=1)
        if moved <= instant:
            moved = instant + _MINUTE
        instant = moved
    return None


def _out_of_quiet(
    instant: datetime, zone: ZoneInfo, quiet: QuietHours | None, *, earlier: bool
) -> datetime | None:
    if quiet is None:
        return instant
    if earlier:
        return _move_earlier(instant, zone, quiet)
    return _move_later(instant, zone, quiet)


def _expiry(step: Step, start: datetime, zone: ZoneInfo) -> datetime:
    expires = step.expires.resolve(start, zone)
    # A reminder before the visit is never useful after the visit began.
    return expires if step.is_follow_up else min(expires, start)


def compute_due(
    step: Step, start: datetime, zone: ZoneInfo, quiet: QuietHours | None
) -> Due | None:
    """When ``step`` is due for an appointment starting at ``start`` (aware) in ``zone``.

    None when no useful moment is left: quiet hours pushed it to (or past) its expiry, or a
    step before the visit would not come before the start.
    """
    start = as_utc(start, "start")
    nominal = step.at.resolve(start, zone)
    expires = _expiry(step, start, zone)
    due = _out_of_quiet(nominal, zone, quiet, earlier=not step.is_follow_up)
    if due is None or due >= expires:
        return None
    if not step.is_follow_up and due >= start:
        return None
    return Due(due=due, expires=expires)


def snooze_until(
    now: datetime,
    step: Step,
    start: datetime,
    zone: ZoneInfo,
    quiet: QuietHours | None,
    snooze: timedelta,
) -> datetime | None:
    """When a reminder snoozed at ``now`` comes again, or None if that would be too late.

    ``now + snooze``, moved out of quiet hours: a step before the visit comes earlier (the last
    minute before the quiet hours), unless that is not after ``now``, in which case it comes
    when they end; a follow-up comes when they end. None if the result is not before the
    step's expiry. The result is always after ``now``.
    """
    now = as_utc(now, "now")
    start = as_utc(start, "start")
    if snooze <= timedelta(0):
        raise ValueError("snooze must be positive")
    candidate: datetime | None = now + snooze
    if in_quiet_hours(now + snooze, zone, quiet):
        assert quiet is not None
        candidate = None
        if not step.is_follow_up:
            earlier = _move_earlier(now + snooze, zone, quiet)
            if earlier is not None and earlier > now:
                candidate = earlier
        if candidate is None:
            candidate = _move_later(now + snooze, zone, quiet)
    if candidate is None or candidate <= now or candidate >= _expiry(step, start, zone):
        return None
    return candidate

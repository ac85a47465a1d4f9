"""Pure time-zone maths: wall-clock time in a patient's zone <-> UTC instants.

Everything here is deterministic and clock-free; callers pass in the instants they care
about. Only the standard library's :mod:`zoneinfo` is used.

The interesting part is daylight-saving time. A naive wall time such as ``02:30`` can

* not exist at all (the clocks jump from 02:00 to 03:00 -- :class:`NonexistentLocalTime`), or
* exist twice (the clocks fall back from 02:00 to 01:00 -- :class:`AmbiguousLocalTime`).

:func:`resolve_local` never guesses in either case; the caller decides (usually by asking
the patient) and, for an ambiguous time, passes ``fold=0`` (first occurrence) or
``fold=1`` (second occurrence).
"""

from __future__ import annotations

import functools
import zoneinfo
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

__all__ = [
    "AmbiguousLocalTime",
    "LocalTimeError",
    "NonexistentLocalTime",
    "UnknownZone",
    "as_utc",
    "load_zone",
    "resolve_local",
    "resolve_wall",
    "to_local",
]

# Names that zoneinfo lists but that are not meaningful for a patient: "localtime" mirrors
# whatever the host is set to, "posixrules" is a tzcode internal, "Factory" means "unset".
_EXCLUDED_ZONE_NAMES = frozenset({"localtime", "posixrules", "Factory"})

# No IANA name comes close to this; it only bounds the work done on hostile input.
_MAX_ZONE_NAME_CHARS = 64


class LocalTimeError(ValueError):
    """A naive wall time cannot be turned into a single instant in the given zone."""

    def __init__(self, message: str, *, local: datetime, zone: ZoneInfo) -> None:
        super().__init__(message)
        self.local = local
        self.zone = zone


class NonexistentLocalTime(LocalTimeError):
    """The wall time falls in a spring-forward gap: clocks never show it in ``zone``."""

    def __init__(self, local: datetime, zone: ZoneInfo) -> None:
        super().__init__(
            f"{local.isoformat(sep=' ')} does not exist in {zone.key}"
            " (clocks skip it when daylight-saving time starts)",
            local=local,
            zone=zone,
        )


class AmbiguousLocalTime(LocalTimeError):
    """The wall time falls in a fall-back overlap: clocks show it twice in ``zone``.

    ``earlier`` and ``later`` are the two candidate instants (aware, UTC), so callers can
    present both choices without redoing the maths.
    """

    def __init__(
        self, local: datetime, zone: ZoneInfo, *, earlier: datetime, later: datetime
    ) -> None:
        super().__init__(
            f"{local.isoformat(sep=' ')} happens twice in {zone.key}"
            f" ({earlier.isoformat()} and {later.isoformat()})",
            local=local,
            zone=zone,
        )
        self.earlier = earlier
        self.later = later


class UnknownZone(ValueError):
    """The text is not the name of an IANA time zone known to this system."""

    def __init__(self, name: object) -> None:
        super().__init__(f"unknown time zone: {name!r}")
        self.name = name


def _to_utc(local: datetime, zone: ZoneInfo, fold: int) -> datetime:
    return local.replace(tzinfo=zone, fold=fold).astimezone(UTC)


def _wall(instant: datetime, zone: ZoneInfo) -> datetime:
    """The naive wall time ``zone``'s clocks show at ``instant``."""
    return instant.astimezone(zone).replace(tzinfo=None, fold=0)


def resolve_local(local: datetime, zone: ZoneInfo, *, fold: int | None = None) -> datetime:
    """Turn a naive wall time in ``zone`` into an aware UTC datetime.

    Raises :class:`NonexistentLocalTime` if the wall time falls into a DST gap and
    :class:`AmbiguousLocalTime` if it happens twice and ``fold`` is ``None``. With
    ``fold=0`` the first occurrence is returned, with ``fold=1`` the second; ``fold`` is
    irrelevant for wall times that happen exactly once.

    Detection does not trust ``fold`` semantics blindly: each candidate instant is
    converted back to wall time, and only candidates that reproduce ``local`` count.
    """
    if not isinstance(local, datetime):
        raise TypeError(f"local must be a datetime, not {type(local).__name__}")
    if local.tzinfo is not None:
        raise TypeError("local must be a naive wall-clock datetime, got an aware one")
    if not isinstance(zone, ZoneInfo):
        raise TypeError(f"zone must be a ZoneInfo, not {type(zone).__name__}")
    if fold not in (None, 0, 1):
        raise ValueError(f"fold must be None, 0 or 1, not {fold!r}")

    wall = local.replace(fold=0)
    first = _to_utc(wall, zone, 0)
    second = _to_utc(wall, zone, 1)
    first_ok = _wall(first, zone) == wall
    second_ok = _wall(second, zone) == wall

    if not first_ok and not second_ok:
        raise NonexistentLocalTime(local, zone)
    if first_ok and second_ok and first != second:
        earlier, later = sorted((first, second))
        if fold is None:
            raise AmbiguousLocalTime(local, zone, earlier=earlier, later=later)
        return earlier if fold == 0 else later
    return first if first_ok else second


def to_local(instant: datetime, zone: ZoneInfo) -> datetime:
    """Convert an aware instant to an aware datetime in ``zone`` (fold set correctly)."""
    if not isinstance(instant, datetime):
        raise TypeError(f"instant must be a datetime, not {type(instant).__name__}")
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise TypeError("instant must be an aware datetime, got a naive one")
    return instant.astimezone(zone)


def as_utc(instant: datetime, name: str) -> datetime:
    """``instant`` (any aware datetime) in UTC; TypeError naming ``name`` for anything else."""
    if not isinstance(instant, datetime):
        raise TypeError(f"{name} must be a datetime, not {type(instant).__name__}")
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise TypeError(f"{name} must be an aware datetime, got a naive one")
    return instant.astimezone(UTC)


def _end_of_gap(wall: datetime, zone: ZoneInfo) -> datetime:
    """The instant the clocks jump over ``wall`` (which lies in a DST gap): the first existing
    moment after the gap, e.g. 03:00 EDT for 02:30 on a spring-forward night in New York."""
    naive = wall.replace(tzinfo=None, fold=0)
    # Read with the offsets before and after the jump, the wall time gives one instant on
    # each side of the transition; bisect on whole seconds (transitions are on whole seconds).
    one, other = (naive.replace(tzinfo=zone, fold=f).astimezone(UTC) for f in (0, 1))
    low = int(min(one, other).timestamp()) - 1
    high = int(max(one, other).timestamp()) + 1
    after = datetime.fromtimestamp(high, UTC).astimezone(zone).utcoffset()
    while high - low > 1:
        middle = (low + high) // 2
        if datetime.fromtimestamp(middle, UTC).astimezone(zone).utcoffset() == after:
            high = middle
        else:
            low = middle
    return datetime.fromtimestamp(high, UTC)


def resolve_wall(wall: datetime, zone: ZoneInfo, *, fold: int = 0) -> datetime:
    """A naive wall time in ``zone`` as an aware UTC instant, never raising for DST.

    An ambiguous wall time (clocks going back) gives the occurrence ``fold`` picks (0 = the
    first); a nonexistent one (clocks going forward) gives the first existing moment after
    the gap: 02:30 on a New York spring-forward night is 03:00 EDT.
    """
    try:
        return resolve_local(wall, zone, fold=fold)
    except NonexistentLocalTime:
        return _end_of_gap(wall, zone)


@functools.cache
def _zone_names_by_folded_name() -> dict[str, str]:
    """Map casefolded IANA names to their canonical spelling (read from disk once)."""
    return {
        name.casefold(): name
        for name in zoneinfo.available_timezones()
        if name not in _EXCLUDED_ZONE_NAMES
    }


def load_zone(name: str) -> ZoneInfo:
    """Validate a user- or config-supplied IANA zone name and load it.

    Surrounding whitespace is ignored and matching is case-insensitive
    (``" america/new_york "`` gives ``America/New_York``). Only names listed by
    :func:`zoneinfo.available_timezones` are accepted, so file paths and made-up
    offsets such as ``"UTC+3"`` never reach :class:`ZoneInfo`. Raises :class:`UnknownZone`.
    """
    if not isinstance(name, str):
        raise UnknownZone(name)
    key = name.strip()
    if not key or len(key) > _MAX_ZONE_NAME_CHARS:
        raise UnknownZone(name)
    canonical = _zone_names_by_folded_name().get(key.casefold())
    if canonical is None:
        raise UnknownZone(name)
    try:
        return ZoneInfo(canonical)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError) as exc:
        raise UnknownZone(name) from exc

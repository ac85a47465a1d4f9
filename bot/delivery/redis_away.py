"""What a process does while Redis is away, for the limits it shares with other replicas
through Redis (the send limits, bot/delivery/shared_rate.py; the HTTP API's rate limit,
bot/web/api_limits.py): it counts on its own for ``retry_seconds``, then tries Redis again;
one warning when that starts, one line when Redis answers again.

No Redis import at module level: the API's limit is imported whether or not REDIS_URL is set.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable

__all__ = ["RedisAway", "unavailable"]


def unavailable() -> tuple[type[BaseException], ...]:
    """What "Redis is away" looks like: redis-py's own errors (connection, timeout, ...), a
    socket error it did not wrap, and a timeout of the await itself."""
    from redis.exceptions import RedisError

    return (RedisError, OSError, TimeoutError)


class RedisAway:
    """Whether a shared limit is on its own because Redis was away, and until when.

    ``name`` and the phrases say in the owner's log which limit and what it does meanwhile
    (``alone``) and once Redis answers again (``back``)."""

    def __init__(
        self,
        name: str,
        *,
        alone: str,
        back: str,
        clock: Callable[[], float],
        retry_seconds: float,
        log: logging.Logger,
    ) -> None:
        self._log = log
        self._name = name
        self._alone = alone
        self._back = back
        self._clock = clock
        self.retry_seconds = retry_seconds
        self._until = -math.inf

    @property
    def degraded(self) -> bool:
        """Whether the process counts on its own because Redis was away."""
        return self._clock() < self._until

    def failed(self, exc: BaseException) -> None:
        """A call to Redis failed: alone for ``retry_seconds`` (the warning only when that
        starts)."""
        if self._until == -math.inf:
            self._log.warning(
                "%s: Redis unavailable (%s); this process %s and tries Redis again every %.0fs",
                self._name,
                type(exc).__name__,
                self._alone,
                self.retry_seconds,
            )
        self._until = self._clock() + self.retry_seconds

    def answered(self) -> None:
        """A call to Redis succeeded: back with the other replicas (said once)."""
        if self._until != -math.inf:
            self._until = -math.inf
            self._log.info("%s: Redis answers again; %s", self._name, self._back)

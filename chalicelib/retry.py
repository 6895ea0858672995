"""One way to wait before trying again: exponential backoff with full jitter.

Rivals that collided once must not collide again in lock step, so each waits a random time up
to a ceiling that doubles with every attempt (AWS's "full jitter"), capped. Tests inject
``sleep`` and ``rng`` to run without waiting and to replay a schedule.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable


class Backoff:
    """``pause(attempt)`` waits a random time in [0, min(cap, base * 2**attempt)] seconds."""

    def __init__(
        self,
        *,
        base: float,
        cap: float,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
    ) -> None:
        self.base = base
        self.cap = cap
        self._sleep = sleep
        self._rng = rng or random.Random()  # noqa: S311 - jitter, not secrecy

    def ceiling(self, attempt: int) -> float:
        return min(self.cap, self.base * 2.0**attempt)

    def pause(self, attempt: int) -> None:
        self._sleep(self._rng.uniform(0, self.ceiling(attempt)))

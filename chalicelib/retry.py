"""One way to wait before trying again: exponential backoff with full jitter, never into the
last moments of a Lambda invocation.

Rivals that collided once must not collide again in lock step, so each waits a random time up
to a ceiling that doubles with every attempt (AWS's "full jitter"), capped. A wait that would
leave the invocation less than ``reserve`` seconds is not taken: the caller stops and answers
(a clear 503 the client can repeat) rather than being cut off by the Lambda's timeout. Tests
inject ``sleep``, ``rng`` and ``time_left`` to run without waiting and to replay a schedule.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

# When the current invocation ends, on time.monotonic()'s scale; None outside a Lambda.
_DEADLINE: ContextVar[float | None] = ContextVar("invocation_deadline", default=None)


def time_left() -> float | None:
    """Seconds left in the current Lambda invocation, or None when it is not known."""
    deadline = _DEADLINE.get()
    return None if deadline is None else deadline - time.monotonic()


@contextmanager
def invocation_deadline(seconds: float | None) -> Iterator[None]:
    """Within this block, the invocation has ``seconds`` left (None: not known)."""
    token = _DEADLINE.set(None if seconds is None else time.monotonic() + seconds)
    try:
        yield
    finally:
        _DEADLINE.reset(token)


def deadline_from_lambda(event: Any, get_response: Callable[[Any], Any]) -> Any:
    """Chalice middleware: waits while handling ``event`` end before its Lambda's time does.
    An HTTP request carries the Lambda context as ``lambda_context``, other events as
    ``context``."""
    context = getattr(event, "lambda_context", None) or getattr(event, "context", None)
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    seconds = remaining() / 1000 if callable(remaining) else None
    with invocation_deadline(seconds):
        return get_response(event)


class Backoff:
    """``pause(attempt)`` waits a random time in [0, min(cap, base * 2**attempt)] seconds, and
    says whether it did: it does not when the wait would leave less than ``reserve`` seconds of
    the invocation."""

    def __init__(
        self,
        *,
        base: float,
        cap: float,
        reserve: float = 2.0,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
        time_left: Callable[[], float | None] = time_left,
    ) -> None:
        self.base = base
        self.cap = cap
        self.reserve = reserve
        self._sleep = sleep
        self._rng = rng or random.Random()  # noqa: S311 - jitter, not secrecy
        self._time_left = time_left

    def ceiling(self, attempt: int) -> float:
        return min(self.cap, self.base * 2.0**attempt)

    def pause(self, attempt: int) -> bool:
        wait = self._rng.uniform(0, self.ceiling(attempt))
        left = self._time_left()
        if left is not None and left - wait < self.reserve:
            return False
        self._sleep(wait)
        return True

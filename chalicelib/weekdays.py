"""Working days counted as Monday to Friday: deadlines in working days (工作日) read here.

Public holidays and the make-up working weekends (调休) are not known to this count, so a
deadline over a holiday comes early, never late. A court calendar replaces this function
without changing its callers.
"""

from __future__ import annotations

from datetime import datetime, timedelta


def add_working_days(moment: datetime, days: int) -> datetime:
    """The same time of day ``days`` working days after ``moment`` (a weekend start counts
    from the next Monday)."""
    if days < 0:
        raise ValueError("a deadline is a number of working days ahead, not behind")
    current = moment
    while current.weekday() >= 5:
        current += timedelta(days=1)
    remaining = days
    while remaining:
        current += timedelta(days=1)
        if current.weekday() < 5:
            remaining -= 1
    return current

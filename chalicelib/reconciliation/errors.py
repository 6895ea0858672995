"""Reconciliation's errors, rendered as problem+json by the HTTP edge."""

from __future__ import annotations

from chalicelib.problems import ProblemError


class ReconciliationError(ProblemError):
    status = 400
    slug = "reconciliation/invalid"
    title = "The reconciliation request is not valid"


class DayNotFound(ReconciliationError):
    status = 404
    slug = "reconciliation/day-not-found"
    title = "That day has not been reconciled"


class ItemNotFound(ReconciliationError):
    status = 404
    slug = "reconciliation/item-not-found"
    title = "No such reconciliation item"


class DayChanged(ReconciliationError):
    status = 409
    slug = "reconciliation/changed"
    title = "The day changed meanwhile"


class DayNotBalanced(ReconciliationError):
    """A day closes only with zero unexplained difference."""

    status = 409
    slug = "reconciliation/not-balanced"
    title = "The day has unexplained differences"


class DayClosed(ReconciliationError):
    status = 409
    slug = "reconciliation/closed"
    title = "The day is closed"

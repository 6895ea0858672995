"""What the daily deadline job records: escalations and published unclaimed funds (公示)."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from chalicelib.deadlines.clocks import LimitKind


class Escalation(BaseModel):
    """An overdue item taken to the next level of its approval chain on one day: the post of
    that level (as the court's chain names it, with the role it needs) and who was told."""

    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)

    kind: LimitKind
    subject: str
    court: str
    day: date
    level: int
    post: str | None = None
    role: str | None = None
    due_on: date
    overdue_working_days: int
    notified: tuple[str, ...]
    at: datetime


class PublicationStatus(StrEnum):
    PUBLISHED = "published"  # on the public page, waiting for its owner
    REFUND_DUE = "refund_due"  # the published period ended unclaimed: waits for its refund draft
    REFUND_DRAFTED = "refund_drafted"  # its refund draft is made (``refund_id``)
    CLAIMED = "claimed"  # claimed while published; off the page


class Publication(BaseModel):
    """Unclaimed money on the public page (公示): only what identifies the payment to the
    person who made it (the day it arrived, the amount, a masked payer reference)."""

    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)

    reference: str
    arrived_on: date
    amount: int
    currency: str
    masked_reference: str
    published_on: date
    published_until: date
    status: PublicationStatus = PublicationStatus.PUBLISHED
    refund_due_on: date | None = None
    refund_id: str | None = None  # the refund drafted for it, once drafted


def mask_reference(reference: str) -> str:
    """Enough of the payer's reference for them to recognise it, not enough to reuse it:
    the first three and the last four characters."""
    if len(reference) <= 8:
        return reference[:1] + "*" * (len(reference) - 2) + reference[-1:]
    return reference[:3] + "*" * 6 + reference[-4:]

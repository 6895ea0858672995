"""What a notification is: who it goes to, on which channel, and what it says."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class Channel(StrEnum):
    SMS = "sms"
    EMAIL = "email"


@dataclass(frozen=True)
class Recipient:
    """One address on one channel; ``party_id`` ties it to the case party it belongs to."""

    channel: Channel
    address: str
    party_id: str | None = None


@dataclass(frozen=True)
class Notification:
    """A message about a case. ``key`` identifies it, so sending it twice sends it once."""

    key: str
    kind: str  # e.g. "case.paid_in_full"
    case_id: str
    recipients: tuple[Recipient, ...]
    subject: str
    body: str

    def delivered(self, recipient: Recipient, *, sent_at: datetime, reference: str) -> Delivery:
        """The record of this message handed to one recipient's channel."""
        return Delivery(
            notification_key=self.key,
            kind=self.kind,
            case_id=self.case_id,
            channel=recipient.channel,
            address=recipient.address,
            subject=self.subject,
            body=self.body,
            sent_at=sent_at,
            provider_reference=reference,
        )


@dataclass(frozen=True)
class Delivery:
    """One message handed to a channel."""

    notification_key: str
    kind: str
    case_id: str
    channel: Channel
    address: str
    subject: str
    body: str
    sent_at: datetime
    provider_reference: str

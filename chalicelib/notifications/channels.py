"""Production delivery: each recipient goes to the ``MessageSender`` of its channel.

Callers remember which recipients of a notification they told (collection records each one on
its notice), so this notifier sends what it is given, once per recipient.
"""

from __future__ import annotations

from collections.abc import Mapping

from chalicelib.clock import Clock
from chalicelib.notifications.interface import MessageSender
from chalicelib.notifications.models import Channel, Delivery, Notification


class ChannelNotifier:
    """``Notifier`` over one ``MessageSender`` per channel. A recipient on a channel with no
    sender is skipped and reported by its absence from the returned deliveries."""

    def __init__(self, senders: Mapping[Channel, MessageSender], *, clock: Clock) -> None:
        self._senders = dict(senders)
        self._clock = clock

    def notify(self, notification: Notification) -> list[Delivery]:
        deliveries = []
        for recipient in notification.recipients:
            sender = self._senders.get(recipient.channel)
            if sender is None:
                continue
            reference = sender.send(
                address=recipient.address, subject=notification.subject, body=notification.body
            )
            deliveries.append(
                notification.delivered(recipient, sent_at=self._clock.now(), reference=reference)
            )
        return deliveries

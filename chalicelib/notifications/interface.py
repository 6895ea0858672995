"""The notification interfaces: ``Notifier`` for the services, ``MessageSender`` for a channel.

Services hand a ``Notification`` to a ``Notifier`` and move on. In the local stack and the tests
the notifier is the outbox; in production ``ChannelNotifier`` hands each recipient to the
``MessageSender`` of its channel (an SMS gateway, an email service).
"""

from __future__ import annotations

from typing import Protocol

from chalicelib.notifications.models import Delivery, Notification


class Notifier(Protocol):
    def notify(self, notification: Notification) -> list[Delivery]:
        """Send to every recipient and report what was handed over. Callers send each
        notification key to each recipient once (they record each recipient told with a
        conditional write, so a retry after a partial failure tells only the others)."""
        ...


class MessageSender(Protocol):
    """One channel's gateway."""

    def send(self, *, address: str, subject: str, body: str) -> str:
        """Send one message; return the provider's message reference."""
        ...

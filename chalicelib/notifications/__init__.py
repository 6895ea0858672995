"""Notifications to case parties: an interface, a local outbox, and delivery by SMS."""

from __future__ import annotations

from chalicelib.notifications.channels import ChannelNotifier
from chalicelib.notifications.interface import MessageSender, Notifier
from chalicelib.notifications.models import Channel, Delivery, Notification, Recipient
from chalicelib.notifications.outbox import OutboxNotifier
from chalicelib.notifications.sms import SnsSmsSender

__all__ = [
    "Channel",
    "ChannelNotifier",
    "Delivery",
    "MessageSender",
    "Notification",
    "Notifier",
    "OutboxNotifier",
    "Recipient",
    "SnsSmsSender",
]

"""Notifications: the local outbox that people and tests read, and delivery by channel."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from chalicelib.clock import FixedClock
from chalicelib.notifications import (
    Channel,
    ChannelNotifier,
    Notification,
    OutboxNotifier,
    Recipient,
    SnsSmsSender,
)

CLOCK = FixedClock(datetime(2026, 11, 2, 9, 0, tzinfo=UTC))


def notification(key: str = "case.paid_in_full:c1") -> Notification:
    return Notification(
        key=key,
        kind="case.paid_in_full",
        case_id="c1",
        recipients=(
            Recipient(Channel.SMS, "13812345678", party_id="p1"),
            Recipient(Channel.EMAIL, "creditor@example.com", party_id="p2"),
        ),
        subject="执行款已足额到账",
        body="【佛山市禅城区人民法院】执行款已足额到账。",
    )


def test_outbox_keeps_every_delivery_in_a_file_that_another_reader_sees(tmp_path: Path) -> None:
    path = tmp_path / "outbox" / "notifications.jsonl"
    sent = OutboxNotifier(path, clock=CLOCK).notify(notification())

    assert [d.channel for d in sent] == [Channel.SMS, Channel.EMAIL]
    read_back = OutboxNotifier(path, clock=CLOCK).deliveries()
    assert read_back == sent
    assert "执行款已足额到账" in path.read_text(encoding="utf-8")


def test_outbox_sends_a_key_once(tmp_path: Path) -> None:
    outbox = OutboxNotifier(tmp_path / "n.jsonl", clock=CLOCK)
    outbox.notify(notification())

    assert outbox.notify(notification()) == []
    assert len(outbox.deliveries()) == 2


class RecordingSender:
    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []

    def send(self, *, address: str, subject: str, body: str) -> str:
        self.sent.append((address, body))
        return f"msg-{len(self.sent)}"


def test_channel_notifier_hands_each_recipient_to_its_channel() -> None:
    sms = RecordingSender()
    deliveries = ChannelNotifier({Channel.SMS: sms}, clock=CLOCK).notify(notification())

    assert sms.sent == [("13812345678", "【佛山市禅城区人民法院】执行款已足额到账。")]
    assert [(d.channel, d.provider_reference) for d in deliveries] == [(Channel.SMS, "msg-1")]


def test_sms_goes_through_sns_to_the_mainland_number(aws: object) -> None:
    import boto3
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.sns.models import sns_backends

    sender = SnsSmsSender(boto3.client("sns"))
    deliveries = ChannelNotifier({Channel.SMS: sender}, clock=CLOCK).notify(notification())

    [sms] = deliveries
    sent = sns_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].sms_messages
    assert sent[sms.provider_reference] == ("+8613812345678", notification().body)


def test_outbox_tells_a_recipient_once_per_key_and_the_others_later(tmp_path: Path) -> None:
    outbox = OutboxNotifier(tmp_path / "n.jsonl", clock=CLOCK)
    first, second = notification().recipients
    outbox.notify(replace(notification(), recipients=(first,)))

    again = outbox.notify(notification())

    assert [d.address for d in again] == [second.address]
    assert [d.address for d in outbox.deliveries()] == [first.address, second.address]
    assert len({d.provider_reference for d in outbox.deliveries()}) == 2

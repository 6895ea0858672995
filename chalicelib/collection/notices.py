"""Notices owed to case parties (money arrived on the case, paid in full), written in the
transaction of the money that caused them and sent afterwards, one recipient at a time, each
told at most once."""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from chalicelib.clock import Clock
from chalicelib.collection.arrivals import ClockTeller
from chalicelib.collection.models import Notice, NoticeStatus
from chalicelib.collection.store import CollectionStore
from chalicelib.money import format_yuan
from chalicelib.notifications import Channel, Notification, Notifier, Recipient

if TYPE_CHECKING:
    from chalicelib.cases import Case, CaseService

log = logging.getLogger(__name__)

PAID_IN_FULL = "case.paid_in_full"
MONEY_ARRIVED = "case.money_arrived"


class Notices:
    """Sends the notices collection owes; a failure leaves a notice pending for the sweeper."""

    def __init__(
        self,
        store: CollectionStore,
        cases: CaseService,
        notifier: Notifier,
        clock: Clock,
        clocks: ClockTeller,
    ) -> None:
        self._store = store
        self._clocks = clocks
        self._cases = cases
        self._notifier = notifier
        self._clock = clock

    def send_pending(self) -> int:
        """Send notices left pending by a failed notifier; how many went out."""
        return sum(1 for notice in self._store.pending_notices() if self.send(notice))

    def case_read(self, case_id: str) -> tuple[str, dict[str, Any]]:
        """Where the case a notice is about is stored, to read it with the payment it is
        for (``case_of`` reads the item)."""
        return self._cases.case_read(case_id)

    def case_of(self, item: dict[str, Any]) -> Case:
        return self._cases.case_of(item)

    def send(self, notice: Notice, *, case: Case | None = None) -> bool:
        """Hand a notice to the notifier one recipient at a time, recording each one told, and
        mark it sent once every recipient is. A failure leaves it pending for the sweeper,
        which tells only those not told yet; the payment itself is already safe. ``case``
        is the notice's case as read with its payment (else it is read here)."""
        try:
            if case is None or case.case_id != notice.case_id:
                case = self._cases.get(notice.case_id)
            message = creditor_message(case, notice)
        except Exception:
            log.exception("collection: notice %s not sent; the sweeper retries", notice.key)
            return False
        untold: dict[str, Recipient] = {}  # once per address, even if two creditors share one
        for recipient in message.recipients:
            told = f"{recipient.channel.value}:{recipient.address}"
            if told not in notice.sent_to:
                untold.setdefault(told, recipient)
        stored = len(notice.sent_to)  # recipients told as the table holds it
        complete = True
        for index, (told, recipient) in enumerate(untold.items()):
            try:
                self._notifier.notify(replace(message, recipients=(recipient,)))
            except Exception:
                log.exception("collection: notice %s not sent to a recipient", notice.key)
                complete = False
                continue
            notice = notice.model_copy(update={"sent_to": (*notice.sent_to, told)})
            if complete and index == len(untold) - 1:
                break  # the last one: recorded below with the notice sent, in one write
            if not self._store.save_pending_notice(notice, told_before=stored):
                return False  # another run is sending it
            stored = len(notice.sent_to)
        if not complete:
            return False
        at = self._clock.now()
        sent = notice.model_copy(update={"status": NoticeStatus.SENT, "sent_at": at})
        if not self._store.save_pending_notice(sent, told_before=stored):
            return False
        self._clocks.notified(notice.case_id, at)
        return True


def creditor_message(case: Case, notice: Notice) -> Notification:
    """The SMS a notice owes each creditor of the case."""
    if notice.kind == PAID_IN_FULL:
        return paid_in_full(case, notice)
    if notice.kind == MONEY_ARRIVED:
        return money_arrived(case, notice)
    raise ValueError(f"no message for a {notice.kind} notice")


def paid_in_full(case: Case, notice: Notice) -> Notification:
    """The SMS to each creditor that the case's money has arrived in full."""
    return Notification(
        key=notice.key,
        kind=notice.kind,
        case_id=case.case_id,
        recipients=_creditors(case),
        subject=f"{case.case_number} 执行款已足额到账",
        body=(
            f"【{case.court_name}】您申请执行的{case.case_number}案，执行款"
            f"{format_yuan(case.adjudicated_amount)}元已足额到账，法院将依法发放案款。"
        ),
    )


def money_arrived(case: Case, notice: Notice) -> Notification:
    """The SMS to each creditor that money has arrived on the case (案款到账通知): this
    arrival and what has arrived in all with it, as they stood when it counted."""
    if notice.amount is None or notice.paid is None:
        raise ValueError(f"notice {notice.key} does not say what arrived")
    return Notification(
        key=notice.key,
        kind=notice.kind,
        case_id=case.case_id,
        recipients=_creditors(case),
        subject=f"{case.case_number} 案款到账通知",
        body=(
            f"【{case.court_name}】您申请执行的{case.case_number}案，执行款"
            f"{format_yuan(notice.amount)}元已到账，累计到账{format_yuan(notice.paid)}元，"
            "法院将依法发放案款。"
        ),
    )


def _creditors(case: Case) -> tuple[Recipient, ...]:
    return tuple(
        Recipient(channel=Channel.SMS, address=party.phone, party_id=party.party_id)
        for party in case.creditors
    )

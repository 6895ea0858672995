"""Escalation (督办) of an overdue item up its approval chain: the first day overdue goes to the
first post of the chain the court set for the item's kind and amount, each further day to the
next post, and past the last post to the last again. The post's holders are told.

The chains are the approvals capability's (``APPROVAL_CHAINS``), so the people who would decide
the money are the people told it is late. Who holds a post at a court is configured in
``ESCALATION_CONTACTS`` (court, or ``"*"``, to the post's title as its chain names it, to phone
numbers or e-mail addresses); a post nobody is configured for is still recorded, and logged.
"""

from __future__ import annotations

import logging
from datetime import date
from typing import TYPE_CHECKING

from chalicelib.approvals import ChainKind
from chalicelib.deadlines.clocks import ItemClock, LimitKind
from chalicelib.deadlines.models import Escalation
from chalicelib.notifications import Channel, Notification, Notifier, Recipient

if TYPE_CHECKING:
    from chalicelib.approvals import ChainBook, Step
    from chalicelib.clock import Clock
    from chalicelib.deadlines.store import DeadlineStore

log = logging.getLogger(__name__)

EVERY_COURT = "*"

# The chain whose posts answer for each limit: money nobody claims goes back by a refund, so the
# refund chain's posts answer for the claim; telling the creditor and paying them out are the
# disbursement's first and last steps.
CHAIN_OF: dict[LimitKind, ChainKind] = {
    LimitKind.CLAIM: ChainKind.REFUND,
    LimitKind.NOTICE: ChainKind.DISBURSEMENT,
    LimitKind.DISBURSEMENT: ChainKind.DISBURSEMENT,
}


class Escalator:
    def __init__(
        self,
        store: DeadlineStore,
        chains: ChainBook,
        contacts: dict[str, dict[str, list[str]]],
        *,
        notifier: Notifier,
        clock: Clock,
        unassigned_court: str | None,
    ) -> None:
        self._store = store
        self._chains = chains
        self._contacts = contacts
        self._notifier = notifier
        self._clock = clock
        # unidentified money belongs to no court until claimed; the court that handles it
        # (UNIDENTIFIED_FUNDS_COURT) answers for it where one is named
        self._unassigned_court = unassigned_court

    def post(self, clock: ItemClock, level: int) -> Step:
        """The post of the item's chain that a level of escalation reaches."""
        court = self._court(clock)
        steps = self._chains.chain(court, CHAIN_OF[clock.kind]).steps_for(clock.amount or 0)
        return steps[min(level, len(steps)) - 1]

    def escalate(self, clock: ItemClock, today: date, due_on: date, late: int) -> int:
        """Escalate an overdue item one level, at most once a day (1 if it was, 0 if a run of
        the daily job did it today already)."""
        level = len(self._store.escalations(clock.kind, clock.subject)) + 1
        post = self.post(clock, level)
        addresses = self._addresses(self._court(clock), post.title)
        escalation = Escalation(
            kind=clock.kind,
            subject=clock.subject,
            court=clock.court,
            day=today,
            level=level,
            post=post.title,
            role=post.role.value,
            due_on=due_on,
            overdue_working_days=late,
            notified=addresses,
            at=self._clock.now(),
        )
        if not self._store.escalate_once(escalation):
            return 0
        if addresses:
            self._notifier.notify(self._message(clock, escalation))
        else:
            log.warning(
                "no contact for %s at court %s: escalation of %s recorded, nobody told",
                post.title,
                self._court(clock),
                clock.subject,
            )
        return 1

    def _court(self, clock: ItemClock) -> str:
        if clock.court == EVERY_COURT and self._unassigned_court:
            return self._unassigned_court
        return clock.court

    def _addresses(self, court: str, title: str) -> tuple[str, ...]:
        own = self._contacts.get(court, {}).get(title)
        return tuple(own if own is not None else self._contacts.get(EVERY_COURT, {}).get(title, []))

    @staticmethod
    def _message(clock: ItemClock, escalation: Escalation) -> Notification:
        day = escalation.day.isoformat()
        return Notification(
            key=f"deadline:{clock.kind.value}:{clock.subject}:{day}",
            kind="deadline.overdue",
            case_id=clock.case_id or clock.subject,
            recipients=tuple(
                Recipient(Channel.EMAIL if "@" in a else Channel.SMS, a)
                for a in escalation.notified
            ),
            subject=f"逾期督办 / overdue: {clock.kind.value} {clock.subject}",
            body=(
                f"{escalation.post}：{clock.subject}（{clock.court}）{clock.kind.value} 应于 "
                f"{escalation.due_on.isoformat()} 前完成，已逾期 "
                f"{escalation.overdue_working_days} 个工作日（第 {escalation.level} 级督办）。"
            ),
        )

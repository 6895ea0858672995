"""Telling the payer: a refund paid back, or one that failed, by SMS to the case's debtors
(the party who pays a case); unidentified funds have no case and no one to tell here."""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalicelib.money import format_yuan
from chalicelib.notifications import Channel, Notification, Recipient
from chalicelib.refunds.models import Refund, RefundState

if TYPE_CHECKING:
    from chalicelib.cases import CaseService
    from chalicelib.notifications.interface import Notifier


class PayerNotices:
    def __init__(self, cases: CaseService, notifier: Notifier) -> None:
        self._cases = cases
        self._notifier = notifier

    def __call__(self, refund: Refund) -> None:
        if refund.source.case_id is None or refund.state not in (
            RefundState.PAID,
            RefundState.FAILED,
        ):
            return
        case = self._cases.get(refund.source.case_id)
        recipients = tuple(
            Recipient(channel=Channel.SMS, address=p.phone, party_id=p.party_id)
            for p in case.debtors
        )
        if not recipients:
            return
        amount = format_yuan(refund.amount)
        if refund.state == RefundState.PAID:
            subject = f"{case.case_number} 退付已办理"
            body = f"【{case.court_name}】{case.case_number}案退付款{amount}元已退回原付款账户。"
        else:
            subject = f"{case.case_number} 退付未成功"
            body = (
                f"【{case.court_name}】{case.case_number}案退付款{amount}元未能退回，"
                "法院将重新办理。"
            )
        attempt = len(refund.attempts)
        self._notifier.notify(
            Notification(
                key=f"refund-{refund.state.value}:{refund.refund_id}:{attempt}",
                kind=f"refund.{refund.state.value}",
                case_id=case.case_id,
                recipients=recipients,
                subject=subject,
                body=body,
            )
        )

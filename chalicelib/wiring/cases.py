"""Builds cases: filing, parties and the creditor's receiving account."""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalicelib.wiring.approvals import approval_service
from chalicelib.wiring.ledger import ledger_service
from chalicelib.wiring.shared import cached, clock, dynamodb, settings

if TYPE_CHECKING:
    from chalicelib.cases.accounts import ReceivingAccountChanges
    from chalicelib.cases.service import CaseService


def _open_ledger_account(account_number: str, case_id: str, currency: str) -> object:
    return ledger_service().open_case_account(account_number, case_id=case_id, currency=currency)


def case_service() -> CaseService:
    """Cases: filing, parties and status; opening a case opens its ledger account."""

    def build() -> CaseService:
        from chalicelib.cases.service import CaseService
        from chalicelib.cases.store import CasesStore

        store = CasesStore(dynamodb(), settings().cases_table)
        return CaseService(store, clock(), _open_ledger_account)

    return cached("cases", build)


def receiving_account_changes() -> ReceivingAccountChanges:
    """Changing a creditor's receiving account: proposed, decided through the chain, refused
    while a disbursement to that creditor is under way."""

    def build() -> ReceivingAccountChanges:
        from chalicelib.cases.accounts import ReceivingAccountChanges
        from chalicelib.cases.store import CasesStore

        return ReceivingAccountChanges(
            CasesStore(dynamodb(), settings().cases_table),
            approval_service(),
            clock(),
            _disbursements_under_way,
        )

    return cached("receiving_accounts", build)


def _disbursements_under_way(case_id: str, party_id: str) -> list[str]:
    from chalicelib.payouts.models import UNDER_WAY_STATES

    # imported on the first check, not with this module: the payouts' wiring builds on cases
    from chalicelib.wiring.payouts import disbursement_workflow

    return [
        d.disbursement_id
        for d in disbursement_workflow().of_case(case_id)
        if d.creditor_party_id == party_id and d.state in UNDER_WAY_STATES
    ]

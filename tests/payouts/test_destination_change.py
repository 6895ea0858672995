"""A creditor's receiving account changes only between disbursements: while one is under way
the change is refused, and a disbursement proposed with the old account never reserves or
sends money once the account has changed, whatever a face-check grant says."""

from __future__ import annotations

import pytest

from chalicelib import wiring
from chalicelib.approvals import ApprovalStatus, ChainKind, approval_id
from chalicelib.cases import Case
from chalicelib.cases.accounts import ReceivingAccountChanges
from chalicelib.cases.errors import ReceivingAccountInUse
from chalicelib.cases.models import ProposeReceivingAccount
from chalicelib.cases.store import CasesStore
from chalicelib.payouts import (
    Binding,
    Disbursement,
    DisbursementState,
    GrantRefused,
    PayoutStatus,
)
from chalicelib.payouts.bodies import ProposeDisbursement
from chalicelib.payouts.errors import DestinationChanged
from chalicelib.wiring import case_service
from tests.payouts.conftest import (
    APPROVER,
    CLERK,
    FINANCE,
    FINANCE_2,
    SignedGrants,
    World,
    approve_all,
    release_by_staff,
)
from tests.payouts.test_sending import sweep_later

S = DisbursementState
OLD = "6222020200112233445"
NEW = "6217003320000000001"
NEW_ACCOUNT = ProposeReceivingAccount(
    bank_name="中国建设银行佛山分行", account_name="张三", account_number=NEW, reason="原账户已销户"
)


def propose(world: World, amount: int = 300_000) -> Disbursement:
    body = ProposeDisbursement(creditor_party_id=world.creditor_id, amount=amount)
    return world.workflow.propose(world.case.case_id, body, by=CLERK)


def case(world: World) -> Case:
    return case_service().get(world.case.case_id)


def account_of(world: World) -> str:
    party = case(world).creditor(world.creditor_id)
    assert party is not None
    assert party.receiving_account is not None
    return party.receiving_account.account_number


def change_account(world: World, changes: ReceivingAccountChanges | None = None) -> Case:
    """The change through its whole chain: the clerk proposes, the chief and finance approve."""
    changes = changes or wiring.receiving_account_changes()
    changes.propose(case(world), world.creditor_id, NEW_ACCOUNT, by=CLERK)
    changes.approve(case(world), world.creditor_id, by=APPROVER)
    return changes.approve(case(world), world.creditor_id, by=FINANCE)


def racing_changes() -> ReceivingAccountChanges:
    """The change as it runs when its look for disbursements under way came just before a
    proposal was written: it sees none."""
    return ReceivingAccountChanges(
        CasesStore(wiring.dynamodb(), wiring.settings().cases_table),
        wiring.approval_service(),
        wiring.clock(),
        lambda case_id, party_id: [],
    )


def test_the_change_is_refused_while_a_disbursement_is_proposed_and_stores_nothing(
    world: World,
) -> None:
    d = propose(world)
    before = case(world)
    with pytest.raises(ReceivingAccountInUse) as refused:
        wiring.receiving_account_changes().propose(before, world.creditor_id, NEW_ACCOUNT, by=CLERK)
    assert refused.value.extensions["disbursement_ids"] == [d.disbursement_id]
    assert case(world) == before
    asked = wiring.approval_service().asked_by(CLERK)
    assert [a.kind for a in asked] == [ChainKind.DISBURSEMENT]


def test_the_change_is_refused_while_money_is_reserved_and_allowed_once_cancelled(
    world: World,
) -> None:
    d = approve_all(world.workflow, propose(world))
    assert d.state == S.APPROVED
    with pytest.raises(ReceivingAccountInUse):
        wiring.receiving_account_changes().propose(
            case(world), world.creditor_id, NEW_ACCOUNT, by=CLERK
        )
    world.workflow.cancel(d.disbursement_id, by=CLERK, reason="债权人更换收款账户")
    change_account(world)
    assert account_of(world) == NEW
    again = approve_all(world.workflow, propose(world))
    assert again.destination.account_number == NEW


def test_the_last_approval_is_refused_if_a_disbursement_was_proposed_meanwhile(
    world: World,
) -> None:
    changes = wiring.receiving_account_changes()
    changes.propose(case(world), world.creditor_id, NEW_ACCOUNT, by=CLERK)
    changes.approve(case(world), world.creditor_id, by=APPROVER)
    d = propose(world)
    assert d.destination.account_number == OLD
    before = case(world)
    with pytest.raises(ReceivingAccountInUse):
        changes.approve(before, world.creditor_id, by=FINANCE)
    assert case(world) == before
    assert account_of(world) == OLD
    pending = before.creditor(world.creditor_id)
    assert pending is not None
    assert pending.pending_account_change is not None
    chain = wiring.approval_service().get(
        approval_id(ChainKind.PAYEE_CHANGE, pending.pending_account_change.change_id)
    )
    assert chain.status is ApprovalStatus.PENDING


def test_a_disbursement_proposed_with_the_old_account_reserves_nothing_after_a_change(
    world: World,
) -> None:
    d = propose(world)
    change_account(world, racing_changes())
    assert account_of(world) == NEW
    world.workflow.approve(d.disbursement_id, by=APPROVER)
    with pytest.raises(DestinationChanged):
        world.workflow.approve(d.disbursement_id, by=FINANCE)
    assert world.workflow.get(d.disbursement_id).state == S.PROPOSED
    assert world.available() == 1_000_000
    assert world.claim_codes() == []


def test_a_failed_payout_is_not_reissued_to_the_old_account_after_a_change(
    world: World,
) -> None:
    d = approve_all(world.workflow, propose(world))
    world.workflow.request_staff_release(d.disbursement_id, by=FINANCE, reason="单位债权人")
    sent = release_by_staff(world.sender, d)
    world.rail.set_status(sent.rail_key, PayoutStatus.FAILED, "account closed")
    sweep_later(world)
    assert world.workflow.get(d.disbursement_id).state == S.FAILED
    change_account(world)  # a failed payout is no longer under way
    with pytest.raises(DestinationChanged):
        world.workflow.reissue(d.disbursement_id, by=FINANCE)
    assert world.workflow.get(d.disbursement_id).state == S.FAILED
    assert world.available() == 1_000_000
    again = approve_all(world.workflow, propose(world))
    assert again.destination.account_number == NEW
    world.workflow.request_staff_release(again.disbursement_id, by=FINANCE, reason="单位债权人")
    release_by_staff(world.sender, again, last=FINANCE_2)
    assert world.rail.sent_count() == 2


def test_a_face_grant_for_the_old_account_cannot_release_to_the_new_one(world: World) -> None:
    old = propose(world)
    old_grant = SignedGrants.issue(Binding.of(old), grant_id="g-old")
    world.workflow.cancel(old.disbursement_id, by=CLERK, reason="债权人更换收款账户")
    change_account(world)
    new = approve_all(world.workflow, propose(world))
    assert Binding.of(new).destination_account == NEW
    code = world.claim_codes()[-1]
    to_old = Binding.of(new).model_copy(update={"destination_account": OLD})
    for grant in (old_grant, SignedGrants.issue(to_old, grant_id="g-to-old")):
        with pytest.raises(GrantRefused):
            world.sender.release_by_face(code, grant, client="c")
    assert world.workflow.get(new.disbursement_id).state == S.APPROVED
    assert world.rail.calls == []
    sent = world.sender.release_by_face(code, SignedGrants.issue(Binding.of(new)), client="c")
    assert sent.state == S.SENT
    assert sent.destination.account_number == NEW

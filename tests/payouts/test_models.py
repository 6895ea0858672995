"""The disbursement state machine and the release check, without I/O."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from chalicelib.cases import FundType
from chalicelib.payouts import DisbursementState, ReleaseInvalid, StateRefused, check_release
from chalicelib.payouts.changes import advance, due_for
from chalicelib.payouts.models import (
    ALLOWED_CHANGES,
    Approval,
    Destination,
    Disbursement,
    Release,
    ReleaseKind,
)

S = DisbursementState
NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
EXPECTED = {
    (S.PROPOSED, S.APPROVED), (S.PROPOSED, S.REJECTED), (S.PROPOSED, S.CANCELLED),
    (S.APPROVED, S.DEFERRED), (S.APPROVED, S.RELEASED), (S.APPROVED, S.CANCELLED),
    (S.APPROVED, S.EXPIRED),
    (S.DEFERRED, S.APPROVED), (S.DEFERRED, S.CANCELLED), (S.DEFERRED, S.EXPIRED),
    (S.RELEASED, S.SENDING),
    (S.SENDING, S.SENT), (S.SENDING, S.FAILED),
    (S.SENT, S.PAID), (S.SENT, S.FAILED), (S.SENT, S.RETURNED),
    (S.PAID, S.RETURNED),
    (S.FAILED, S.APPROVED), (S.RETURNED, S.APPROVED),
}  # fmt: skip


def disbursement(state: DisbursementState = S.PROPOSED, **changes: object) -> Disbursement:
    base = Disbursement(
        disbursement_id="D1", case_id="c1", case_number="(2026)粤0604执1号", court_code="粤0604",
        court_name="佛山市禅城区人民法院", account_number="4406042600000016",
        creditor_party_id="p1", creditor_name="张三", creditor_is_person=True,
        creditor_phone="13812345678",
        destination=Destination(bank_name="工行", account_name="张三",
                                account_number="6222020200112233445"),
        amount=100, currency="CNY", fund_type=FundType.ENFORCEMENT, note="", state=state,
        version=1, proposed_by="clerk-1", proposed_by_actor="clerk-1", proposed_at=NOW,
        updated_at=NOW, approvals_needed=1,
    )  # fmt: skip
    return base.model_copy(update=changes)


@pytest.mark.parametrize("source", list(S))
@pytest.mark.parametrize("target", list(S))
def test_every_change_is_allowed_or_refused_as_the_machine_says(
    source: DisbursementState, target: DisbursementState
) -> None:
    d = disbursement(source)
    if (source, target) in EXPECTED:
        changed = advance(d, target, at=NOW, actor="a", action="x")
        assert changed.state == target
        assert changed.version == d.version + 1
        assert changed.trail[-1].state == target
    else:
        with pytest.raises(StateRefused):
            advance(d, target, at=NOW, actor="a", action="x")


def test_the_machine_table_is_the_one_tested() -> None:
    listed = {(a, b) for a, targets in ALLOWED_CHANGES.items() for b in targets}
    assert listed == EXPECTED


def _approved(**changes: object) -> Disbursement:
    approval = Approval(subject="chief-1", actor="chief-1", at=NOW)
    return disbursement(S.RELEASED, **{"approvals": (approval,), **changes})


def _check(d: Disbursement, *, chain: bool = True, staff_chain: bool = True) -> None:
    check_release(d, chain_approved=chain, staff_release_approved=staff_chain)


def test_a_release_needs_both_chains_and_a_second_staff_member() -> None:
    staff = Release(kind=ReleaseKind.STAFF, attempt=1, at=NOW, released_by="finance-2",
                    requested_by="finance-1")  # fmt: skip
    _check(_approved(release=staff))
    with pytest.raises(ReleaseInvalid):
        _check(_approved(release=staff), chain=False)
    with pytest.raises(ReleaseInvalid):
        _check(_approved(release=staff), staff_chain=False)
    with pytest.raises(ReleaseInvalid):
        _check(_approved(release=staff.model_copy(update={"released_by": "finance-1"})))
    with pytest.raises(ReleaseInvalid):  # the proposer approving their own payout as finance
        _check(_approved(release=staff.model_copy(update={"requested_by": "clerk-1"})))
    with pytest.raises(ReleaseInvalid):
        _check(_approved(release=staff, attempt=2))


def test_a_face_release_names_its_grant_and_needs_no_staff_chain() -> None:
    face = Release(kind=ReleaseKind.FACE, attempt=1, at=NOW, released_by="creditor:p1",
                   grant_id="g-1")  # fmt: skip
    _check(_approved(release=face), staff_chain=False)
    with pytest.raises(ReleaseInvalid):
        _check(_approved(release=face), chain=False)
    with pytest.raises(ReleaseInvalid):
        _check(_approved(release=face.model_copy(update={"grant_id": None})))


def test_the_sweeper_looks_at_unfinished_steps_and_leaves_settled_ones() -> None:
    grace, poll = timedelta(minutes=2), timedelta(minutes=30)
    assert due_for(disbursement(S.SENDING), NOW, grace=grace, poll=poll) == NOW + grace
    assert due_for(disbursement(S.SENT), NOW, grace=grace, poll=poll) == NOW + poll
    assert due_for(disbursement(S.PAID), NOW, grace=grace, poll=poll) is None
    ended = disbursement(S.CANCELLED)
    assert due_for(ended, NOW, grace=grace, poll=poll) == NOW + grace
    cleared = ended.model_copy(update={"reservation_cleared": True})
    assert due_for(cleared, NOW, grace=grace, poll=poll) is None

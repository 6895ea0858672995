"""Claims of unidentified money (认领) under four eyes: one person proposes the case, another
(finance) confirms, and only then does the money move to the case and count, once. Admin moves
no money. The same request sent again, after or during the first, gets the first answer."""

from __future__ import annotations

import json
from typing import Any

import pytest

from chalicelib.cases import CaseStatus
from chalicelib.clock import FixedClock
from chalicelib.collection import ClaimAlreadySettled, CollectionService
from chalicelib.ledger import SystemAccount, TransferCode
from chalicelib.wiring import case_service, ledger_service
from tests.collection.conftest import foreign_intent, open_case, pay_at_rail, rail_event, sign

UNIDENTIFIED = SystemAccount.UNIDENTIFIED_FUNDS.of("CNY")
REASON = "付款人来电确认为本案执行款"


def unidentified_at_rail(api: Any, clock: FixedClock, localstripe: str, amount: int) -> str:
    reference = foreign_intent(localstripe, amount)
    pay_at_rail(localstripe, reference)
    body = rail_event(localstripe, reference, "payment_intent.succeeded")
    answer = api.post(
        "/webhooks/stripe", headers=sign(body, int(clock.now().timestamp())), body=body
    )
    assert json.loads(answer.body)["outcome"] == "unidentified"
    return reference


def propose(api: Any, headers: dict[str, str], reference: str, account: str) -> Any:
    claim = {"account_number": account, "reason": REASON}
    return api.post(
        f"/collection/unidentified/{reference}/claim", headers=headers, body=json.dumps(claim)
    )


def confirm(api: Any, headers: dict[str, str], reference: str) -> Any:
    return api.post(f"/collection/unidentified/{reference}/claim/confirm", headers=headers)


def test_a_claim_moves_money_only_when_a_second_person_confirms_it(
    api: Any, clock: FixedClock, token: Any, collection: CollectionService, localstripe: str
) -> None:
    case = open_case(amount=10_000)
    reference = unidentified_at_rail(api, clock, localstripe, 1_800)

    proposed = propose(api, token("clerk", subject="clerk-5"), reference, case.account_number)
    assert proposed.status_code == 201, proposed.body
    proposal = json.loads(proposed.body)
    assert (proposal["status"], proposal["proposed_by"]) == ("proposed", "clerk-5")
    assert ledger_service().balance(case.account_number).posted == 0
    assert ledger_service().balance(UNIDENTIFIED).posted == 1_800
    waiting = json.loads(api.get("/collection/claims", headers=token("finance")).body)["items"]
    assert [p["reference"] for p in waiting] == [reference]

    confirmed = confirm(api, token("finance", subject="fin-7"), reference)
    assert confirmed.status_code == 200, confirmed.body
    record = json.loads(confirmed.body)
    assert (record["status"], record["claimed_by"], record["confirmed_by"]) == (
        "claimed",
        "clerk-5",
        "fin-7",
    )
    assert record["claim_reason"] == REASON
    assert ledger_service().balance(UNIDENTIFIED).posted == 0
    assert ledger_service().balance(case.account_number).posted == 1_800
    assert collection.store.standing(case.case_id).paid == 1_800
    transfer = ledger_service().get_transfer(record["claim_transfer_id"])
    assert transfer.id == f"claim:stripe:{reference}"
    assert transfer.code == TransferCode.UNIDENTIFIED_CLAIM
    assert transfer.requested_by == "clerk-5"
    assert transfer.metadata == {
        "reason": REASON,
        "payment_ref": reference,
        "confirmed_by": "fin-7",
    }
    assert json.loads(api.get("/collection/unidentified", headers=token("auditor")).body) == {
        "items": []
    }
    other = propose(api, token("clerk", subject="clerk-6"), reference, case.account_number)
    assert other.status_code == 409


@pytest.mark.parametrize("second_name", ["Someone Else", None])
def test_the_proposer_may_not_confirm_or_reject_their_own_claim(
    *,
    api: Any,
    clock: FixedClock,
    token: Any,
    collection: CollectionService,
    localstripe: str,
    second_name: Any,
) -> None:
    case = open_case(amount=10_000)
    reference = unidentified_at_rail(api, clock, localstripe, 900)
    both = token("clerk", "finance", subject="same-person", name="Zhao Lei")
    assert propose(api, both, reference, case.account_number).status_code == 201
    renamed = token("clerk", "finance", subject="same-person", name=second_name)
    refused = confirm(api, renamed, reference)
    assert refused.status_code == 403
    assert json.loads(refused.body)["type"].endswith("collection/same-person")
    reject = api.post(
        f"/collection/unidentified/{reference}/claim/reject",
        headers=renamed,
        body=json.dumps({"reason": "not sure"}),
    )
    assert reject.status_code == 403
    assert ledger_service().balance(case.account_number).posted == 0


@pytest.mark.parametrize(
    ("role", "status"),
    [("clerk", 201), ("finance", 201), ("admin", 403), ("auditor", 403), ("approver", 403)],
)
def test_clerks_and_finance_propose_and_admin_moves_no_money(
    *,
    api: Any,
    clock: FixedClock,
    token: Any,
    collection: CollectionService,
    localstripe: str,
    role: str,
    status: int,
) -> None:
    case = open_case(amount=10_000)
    reference = unidentified_at_rail(api, clock, localstripe, 900)
    answer = propose(api, token(role), reference, case.account_number)
    assert answer.status_code == status, answer.body
    if status == 201:
        for other in ("clerk", "approver", "auditor", "admin"):
            assert confirm(api, token(other, subject=f"{other}-2"), reference).status_code == 403
    assert ledger_service().balance(case.account_number).posted == 0
    assert collection.store.standing(case.case_id).paid == 0


def test_a_rejected_claim_moves_nothing_and_the_money_can_be_claimed_again(
    api: Any, clock: FixedClock, token: Any, collection: CollectionService, localstripe: str
) -> None:
    wrong = open_case(serial=3001, amount=10_000)
    right = open_case(serial=3002, amount=10_000)
    reference = unidentified_at_rail(api, clock, localstripe, 1_200)
    assert propose(api, token("clerk"), reference, wrong.account_number).status_code == 201
    rejected = api.post(
        f"/collection/unidentified/{reference}/claim/reject",
        headers=token("finance"),
        body=json.dumps({"reason": "付款人所述案号不符"}),
    )
    assert json.loads(rejected.body)["status"] == "rejected"
    assert confirm(api, token("finance"), reference).status_code == 409
    assert propose(api, token("clerk"), reference, right.account_number).status_code == 201
    assert confirm(api, token("finance"), reference).status_code == 200
    assert ledger_service().balance(wrong.account_number).posted == 0
    assert ledger_service().balance(right.account_number).posted == 1_200


def test_a_concluded_case_takes_no_claim(
    api: Any, clock: FixedClock, token: Any, collection: CollectionService, localstripe: str
) -> None:
    case = open_case(amount=10_000)
    reference = unidentified_at_rail(api, clock, localstripe, 700)
    assert propose(api, token("clerk"), reference, case.account_number).status_code == 201
    case_service().change_status(case.case_id, CaseStatus.CONCLUDED, reason="执行完毕", actor="c")
    late = confirm(api, token("finance"), reference)
    assert late.status_code == 409
    assert json.loads(late.body)["type"].endswith("collection/case-not-payable")
    other = open_case(serial=4001, amount=10_000)
    case_service().change_status(other.case_id, CaseStatus.CONCLUDED, reason="执行完毕", actor="c")
    fresh = unidentified_at_rail(api, clock, localstripe, 300)
    refused = propose(api, token("clerk"), fresh, other.account_number)
    assert refused.status_code == 409
    assert ledger_service().balance(case.account_number).posted == 0
    assert ledger_service().balance(UNIDENTIFIED).posted == 1_000


def test_identical_requests_get_the_first_answer_after_or_during_it(
    *,
    api: Any,
    clock: FixedClock,
    token: Any,
    collection: CollectionService,
    localstripe: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    case = open_case(amount=10_000)
    reference = unidentified_at_rail(api, clock, localstripe, 1_500)
    clerk, finance = token("clerk", subject="clerk-5"), token("finance", subject="fin-7")
    first = propose(api, clerk, reference, case.account_number)
    assert [propose(api, clerk, reference, case.account_number).body for _ in range(3)] == [
        first.body
    ] * 3

    commit = collection.store.commit_claim
    twins: list[Any] = []

    def twin_arrives_meanwhile(*args: Any, **kwargs: Any) -> bool:
        if not twins:
            twins.append(None)
            twins[0] = confirm(api, finance, reference)  # sent again while in flight
        return commit(*args, **kwargs)

    monkeypatch.setattr(collection.store, "commit_claim", twin_arrives_meanwhile)
    answer = confirm(api, finance, reference)
    later = [confirm(api, finance, reference) for _ in range(3)]
    answers = [answer, *twins, *later]
    assert {a.status_code for a in answers} == {200}
    assert len({a.body for a in answers}) == 1
    assert ledger_service().balance(case.account_number).posted == 1_500
    assert collection.store.standing(case.case_id).payments == 1


def test_a_twin_that_decides_the_whole_claim_after_it_was_read_gets_the_first_answer(
    *,
    api: Any,
    clock: FixedClock,
    token: Any,
    collection: CollectionService,
    localstripe: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The request read the claim as proposed; a twin then confirmed it to the end, so the
    chain no longer waits. The request answers the confirmed claim, not a conflict."""
    from chalicelib.approvals import ApprovalService

    case = open_case(amount=10_000)
    reference = unidentified_at_rail(api, clock, localstripe, 1_200)
    assert propose(api, token("clerk"), reference, case.account_number).status_code == 201
    finance = token("finance", subject="fin-9")
    plan = ApprovalService.plan_decision
    twins: list[Any] = []

    def twin_first(self: ApprovalService, *args: Any, **kwargs: Any) -> Any:
        if not twins:
            twins.append(None)
            monkeypatch.setattr(ApprovalService, "plan_decision", plan)
            twins[0] = confirm(api, finance, reference)
        return plan(self, *args, **kwargs)

    monkeypatch.setattr(ApprovalService, "plan_decision", twin_first)
    answer = confirm(api, finance, reference)
    assert twins[0].status_code == 200, twins[0].body
    assert answer.status_code == 200, answer.body
    assert answer.body == twins[0].body
    assert ledger_service().balance(case.account_number).posted == 1_200
    assert collection.store.standing(case.case_id).payments == 1


def test_a_claim_cannot_take_more_unidentified_money_than_is_held(
    api: Any, clock: FixedClock, token: Any, collection: CollectionService, localstripe: str
) -> None:
    """Unidentified funds never go below zero: if the money already left (here a correction
    under four eyes), the confirmation is refused and nothing is counted."""
    case = open_case(serial=2101, amount=10_000)
    other = open_case(serial=2102, amount=10_000)
    reference = unidentified_at_rail(api, clock, localstripe, 1_500)
    ledger = ledger_service()
    ledger.propose_correction(
        "fix-1",
        debit_account=UNIDENTIFIED,
        credit_account=other.account_number,
        amount=1_000,
        reason="付款人来电，属另案执行款",
        proposed_by="clerk-1",
        subject="clerk-1",
    )
    ledger.post_correction("fix-1", posted_by="finance-1", subject="finance-1")

    assert propose(api, token("clerk"), reference, case.account_number).status_code == 201
    answer = confirm(api, token("finance"), reference)
    assert answer.status_code == 409, answer.body
    assert json.loads(answer.body)["type"].endswith("ledger/insufficient-funds")
    item = collection.store.unidentified(reference)
    assert item is not None
    assert item.status == "open"
    assert ledger.balance(case.account_number).posted == 0
    assert ledger.balance(UNIDENTIFIED).posted == 500
    assert collection.store.standing(case.case_id).paid == 0


@pytest.mark.parametrize("retried_to", ["same-case", "other-case"])
def test_claim_that_crashed_after_the_ledger_moved_the_money_is_finished_by_the_next_try(
    *,
    api: Any,
    clock: FixedClock,
    collection: CollectionService,
    localstripe: str,
    monkeypatch: pytest.MonkeyPatch,
    retried_to: str,
) -> None:
    """The ledger claim is the durable record: a retry by someone else, with other words, or
    naming another case, finishes the claim as it was made instead of being refused forever
    while the queue item stays open and the case never counts the money."""
    case = open_case(serial=2001, amount=10_000)
    other = open_case(serial=2002, amount=10_000)
    reference = unidentified_at_rail(api, clock, localstripe, 2_200)
    confirmed = {"confirmed_by": "fin-7", "confirmer_subject": "fin-7"}

    def crash(*args: Any, **kwargs: Any) -> bool:
        raise ConnectionError("the function timed out")

    monkeypatch.setattr(collection.store, "commit_claim", crash)
    with pytest.raises(ConnectionError):
        collection.claim(
            reference,
            account_number=case.account_number,
            reason="付款人来电确认",
            actor="clerk-7",
            **confirmed,
        )
    monkeypatch.undo()
    assert ledger_service().balance(case.account_number).posted == 2_200
    assert collection.store.standing(case.case_id).paid == 0

    target = case if retried_to == "same-case" else other
    retry = {
        "account_number": target.account_number,
        "reason": "重试认领",
        "actor": "clerk-8",
        "confirmed_by": "fin-8",
        "confirmer_subject": "fin-8",
    }
    if retried_to == "same-case":
        claimed = collection.claim(reference, **retry)
    else:
        with pytest.raises(ClaimAlreadySettled):
            collection.claim(reference, **retry)
        found = collection.store.unidentified(reference)
        assert found is not None
        claimed = found

    assert claimed.status == "claimed"
    assert (claimed.claimed_account_number, claimed.claimed_by) == (case.account_number, "clerk-7")
    assert (claimed.claim_reason, claimed.confirmed_by) == ("付款人来电确认", "fin-7")
    assert collection.store.standing(case.case_id).paid == 2_200
    assert collection.store.standing(other.case_id).paid == 0
    assert ledger_service().balance(case.account_number).posted == 2_200
    assert ledger_service().balance(other.account_number).posted == 0
    assert ledger_service().balance(UNIDENTIFIED).posted == 0


@pytest.mark.slow
def test_twenty_identical_confirmations_sent_together_all_get_the_first_answer(
    *,
    api: Any,
    clock: FixedClock,
    token: Any,
    collection: CollectionService,
    localstripe: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Twenty identical confirmations of one claim arrive at once over HTTP: every one gets the
    answer of the one that moved the money, and the money moves once. Each AWS call is made
    atomic, as DynamoDB makes it (moto in-process checks a condition and writes in two steps,
    so threads could both pass it); the calls of the twenty requests still interleave."""
    import threading

    from botocore.client import BaseClient

    one_call = threading.Lock()
    make_call = BaseClient._make_api_call

    def atomic_call(self: Any, operation: str, params: Any) -> Any:
        with one_call:
            return make_call(self, operation, params)

    monkeypatch.setattr(BaseClient, "_make_api_call", atomic_call)
    case = open_case(serial=2201, amount=10_000)
    reference = unidentified_at_rail(api, clock, localstripe, 1_800)
    assert propose(api, token("clerk"), reference, case.account_number).status_code == 201
    finance = token("finance", subject="fin-20")
    start = threading.Barrier(20)
    answers: list[Any] = []

    def send() -> None:
        start.wait()
        answers.append(confirm(api, finance, reference))

    threads = [threading.Thread(target=send) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [a.status_code for a in answers] == [200] * 20, [a.body for a in answers]
    assert len({a.body for a in answers}) == 1
    assert ledger_service().balance(case.account_number).posted == 1_800
    assert collection.store.standing(case.case_id).payments == 1

"""Counter cash and claims take questions on their chains: an approver of the waiting step
returns the entry with a question, only the person who entered or proposed it (by token
subject) answers, the step waits again from the answer, nothing is confirmed while the
question is open, and a refused question or answer stores nothing."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from chalicelib import wiring
from chalicelib.clock import FixedClock, isoformat
from chalicelib.collection import ClaimStatus, UnidentifiedPayment
from chalicelib.identity import Principal, Role
from chalicelib.wiring import ledger_service
from tests.collection.conftest import open_case
from tests.collection.test_confirmation_chains import chain, confirm, enter


def post(api: Any, path: str, headers: dict[str, str], body: dict[str, str]) -> Any:
    return api.post(path, headers=headers, body=json.dumps(body, ensure_ascii=False))


def problem(answer: Any) -> str:
    return str(json.loads(answer.body)["type"])


def test_counter_cash_is_returned_answered_and_then_confirmed(
    api: Any, token: Any, clock: FixedClock
) -> None:
    case = open_case(amount=10_000)
    assert enter(api, token, case, clock, amount=3_000, entry="cash-q1").status_code == 201
    ask, reply = (
        "/collection/counter-cash/cash-q1/return",
        "/collection/counter-cash/cash-q1/answer",
    )
    opened = chain(api, token, "counter_cash", "cash-q1")
    finance = token("finance", subject="finance-7")

    # the clerk who entered it, with finance's role and another name, may not ask
    renamed = token("finance", "clerk", subject="clerk-3", name="另一个名字")
    refused = post(api, ask, renamed, {"question": "收据存根在哪里？"})
    assert refused.status_code == 403, refused.body
    assert problem(refused).endswith("collection/same-person")
    # an approver, but not of the waiting step (finance's)
    leader = post(api, ask, token("approver", subject="leader-1"), {"question": "收据在哪？"})
    assert leader.status_code == 403, leader.body
    # no question is open: there is nothing to answer
    early = post(api, reply, token("clerk", subject="clerk-3"), {"answer": "在财务"})
    assert early.status_code == 409, early.body
    assert chain(api, token, "counter_cash", "cash-q1") == opened

    returned = post(api, ask, finance, {"question": "收据存根在哪里？"})
    assert returned.status_code == 200, returned.body
    shown = json.loads(returned.body)
    assert (shown["status"], shown["question"]) == ("returned", "收据存根在哪里？")
    asked = chain(api, token, "counter_cash", "cash-q1")
    blocked = confirm(api, token("finance", subject="finance-8"), "cash-q1")
    assert blocked.status_code == 409, blocked.body  # not confirmed until answered
    other_clerk = post(
        api, reply, token("clerk", subject="clerk-4", name="clerk-3"), {"answer": "在财务"}
    )
    assert other_clerk.status_code == 403, other_clerk.body
    assert chain(api, token, "counter_cash", "cash-q1") == asked
    assert ledger_service().balance(case.account_number).posted == 0

    clock.advance(timedelta(hours=2))
    answered = post(
        api, reply, token("clerk", subject="clerk-3", name="改名"), {"answer": "已交财务"}
    )
    assert answered.status_code == 200, answered.body
    waiting = json.loads(answered.body)
    assert (waiting["status"], waiting["question"]) == ("pending", None)
    assert waiting["waiting_since"] == isoformat(clock.now())
    assert confirm(api, finance, "cash-q1").status_code == 201
    assert ledger_service().balance(case.account_number).posted == 3_000
    history = chain(api, token, "counter_cash", "cash-q1")["history"]
    assert [(h["action"], h["by"]["subject"], h["text"]) for h in history] == [
        ("opened", "clerk-3", opened["history"][0]["text"]),
        ("returned", "finance-7", "收据存根在哪里？"),
        ("answered", "clerk-3", "已交财务"),
        ("approved", "finance-7", None),
    ]
    late = post(api, ask, token("finance", subject="finance-8"), {"question": "还有问题？"})
    assert late.status_code == 409, late.body


def test_a_claim_is_returned_to_its_proposer_and_waits_again_after_the_answer(
    api: Any, token: Any, clock: FixedClock
) -> None:
    case = open_case(amount=10_000)
    reference = "pi_question0001"
    wiring.collection_service().store.add_unidentified(
        UnidentifiedPayment(
            reference=reference, rail="stripe", amount=1_500, currency="CNY",
            received_at=clock.now() - timedelta(days=1), status=ClaimStatus.OPEN,
            why="no case in the payment's metadata",
            receipt_transfer_id=f"unidentified:stripe:{reference}",
        )
    )  # fmt: skip
    proposer = Principal(subject="clerk-5", name="李", roles=frozenset({Role.CLERK}))
    proposal = wiring.claim_desk().propose(
        reference, account_number=case.account_number, reason="付款人来电确认", by=proposer
    )
    item = proposal.approval_id.split(":", 1)[1]
    base = f"/collection/unidentified/{reference}/claim"
    opened = chain(api, token, "claim", item)

    own = post(
        api, f"{base}/return", token("clerk", "finance", subject="clerk-5"), {"question": "凭证？"}
    )
    assert own.status_code == 403, own.body
    assert chain(api, token, "claim", item) == opened

    returned = post(
        api, f"{base}/return", token("finance", subject="fin-7"), {"question": "付款凭证？"}
    )
    assert returned.status_code == 200, returned.body
    assert json.loads(returned.body)["status"] == "returned"
    asked = chain(api, token, "claim", item)
    blocked = api.post(f"{base}/confirm", headers=token("finance", subject="fin-8"))
    assert blocked.status_code == 409, blocked.body
    stranger = post(api, f"{base}/answer", token("finance", subject="fin-9"), {"answer": "有凭证"})
    assert stranger.status_code == 403, stranger.body
    assert chain(api, token, "claim", item) == asked
    assert ledger_service().balance(case.account_number).posted == 0

    answered = post(
        api, f"{base}/answer", token("clerk", subject="clerk-5"), {"answer": "付款人已发来转账凭证"}
    )
    assert answered.status_code == 200, answered.body
    again = chain(api, token, "claim", item)
    assert again["status"] == "pending"
    assert again["waiting_for"]["role"] == "finance"
    assert [h["action"] for h in again["history"]] == ["opened", "returned", "answered"]
    queue = api.get("/approvals/waiting?court=%E7%B2%A40604", headers=token("finance"))
    waiting = json.loads(queue.body)["items"]
    assert proposal.approval_id in [a["id"] for a in waiting]

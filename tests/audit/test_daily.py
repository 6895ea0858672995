"""The daily run goes on across invocations from the cursor it hands over, and finds exactly
what one long run finds: the same breaks, every account, one metric, a digest only if clean."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.stub import Stubber

from chalicelib.audit.alarm import BREAKS_METRIC
from chalicelib.audit.check import LedgerCheck
from chalicelib.audit.daily import (
    DailyLedgerCheck,
    DailyOutcome,
    DailyRun,
    LambdaContinuation,
)
from chalicelib.ledger import LedgerService
from tests.audit.conftest import delete_newest_entry_and_roll_back
from tests.ledger.conftest import CASE_A


class Recorded:
    """The continuation as Lambda's event queue keeps it: each hand-over as its JSON payload."""

    def __init__(self) -> None:
        self.payloads: list[str] = []

    def hand_over(self, run: DailyRun) -> None:
        self.payloads.append(json.dumps({"daily_run": run.model_dump(mode="json")}))

    def next_run(self) -> DailyRun:
        return DailyRun.model_validate(json.loads(self.payloads[-1])["daily_run"])


def _daily(check: LedgerCheck, continuation: Recorded | None, published: list[int]) -> Any:
    def publish() -> int:
        published.append(len(published) + 1)
        return published[-1]

    return DailyLedgerCheck(
        check, check.clock, stage="test", continuation=continuation, publish=publish, page=2
    )


def _run_in_slices(daily: DailyLedgerCheck, continuation: Recorded) -> DailyOutcome:
    """Every invocation has too little time left after one page, so each hands over."""
    outcome = daily.start(lambda: 1.0)
    while isinstance(outcome, DailyRun):
        assert len(continuation.payloads) == outcome.slice - 1
        outcome = daily.resume(continuation.next_run(), lambda: 1.0)
        assert len(continuation.payloads) < 50
    return outcome


def _metrics(out: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in out.splitlines() if BREAKS_METRIC in line]


def test_a_clean_ledger_checked_in_slices_publishes_one_digest_at_the_end(
    check: LedgerCheck, accounts_held: int, capsys: Any
) -> None:
    continuation, published = Recorded(), []
    outcome = _run_in_slices(_daily(check, continuation, published), continuation)
    assert outcome.slices == len(continuation.payloads) + 1 > 4
    assert outcome.accounts == accounts_held
    assert outcome.breaks == 0
    assert published == [1]
    assert outcome.digest == 1
    [metric] = _metrics(capsys.readouterr().out)  # written once, by the slice that finished
    assert metric[BREAKS_METRIC] == 0
    assert metric["AccountsChecked"] == accounts_held


def test_breaks_found_in_any_slice_reach_the_end_and_no_digest_is_published(
    history: LedgerService, check: LedgerCheck, accounts_held: int, capsys: Any
) -> None:
    delete_newest_entry_and_roll_back(history, CASE_A)
    whole = [b for page in check.run() for b in page.breaks]
    assert len(whole) >= 2

    continuation, published = Recorded(), []
    outcome = _run_in_slices(_daily(check, continuation, published), continuation)
    assert outcome.slices > 4
    assert outcome.breaks == len(whole)
    assert outcome.accounts == accounts_held
    assert published == []
    assert outcome.digest == 0
    out = capsys.readouterr()
    [metric] = _metrics(out.out)
    assert metric[BREAKS_METRIC] == len(whole)


def test_with_time_to_spare_the_run_ends_in_one_invocation(
    check: LedgerCheck, accounts_held: int
) -> None:
    continuation, published = Recorded(), []
    outcome = _daily(check, continuation, published).start(lambda: 600.0)
    assert isinstance(outcome, DailyOutcome)
    assert (outcome.slices, outcome.accounts, continuation.payloads) == (1, accounts_held, [])


def test_the_hand_over_invokes_the_continuation_lambda_asynchronously_with_the_cursor() -> None:
    import boto3

    client = boto3.client("lambda", region_name="us-east-1")
    run = DailyRun.model_validate(
        {"run_id": "20261128-0a1b2c3d", "started_at": "2026-11-28T18:00:00Z", "slice": 3,
         "cursor": "abc", "accounts": 900, "breaks": 1}
    )  # fmt: skip
    with Stubber(client) as stub:
        stub.add_response(
            "invoke",
            {"StatusCode": 202},
            {
                "FunctionName": "court-funds-prod-continue_ledger_check",
                "InvocationType": "Event",
                "Payload": json.dumps({"daily_run": run.model_dump(mode="json")}).encode(),
            },
        )
        LambdaContinuation(client, "court-funds-prod-continue_ledger_check").hand_over(run)
        stub.assert_no_pending_responses()


def test_the_continuation_lambda_carries_on_from_the_cursor_it_is_given(
    history: LedgerService, check: LedgerCheck, accounts_held: int
) -> None:
    from chalice.test import Client

    from app import app
    from tests.conftest import PROJECT_ROOT

    continuation = Recorded()
    first = _daily(check, continuation, []).start(lambda: 1.0)
    assert isinstance(first, DailyRun)
    delete_newest_entry_and_roll_back(history, CASE_A)  # found by a later slice
    with Client(app, stage_name="test", project_dir=str(PROJECT_ROOT)) as client:
        answer = client.lambda_.invoke(
            "continue_ledger_check", json.loads(continuation.payloads[-1])
        )
    result = answer.payload
    assert result["run_id"] == first.run_id
    assert result["slices"] == 2
    assert result["accounts"] == accounts_held
    assert result["breaks"] >= 1
    assert result["digest"] == 0


def test_a_malformed_hand_over_is_refused() -> None:
    with pytest.raises(ValueError, match="run_id"):
        DailyRun.model_validate({"run_id": "x", "started_at": "2026-11-28T18:00:00Z"})


def test_a_deployed_stage_hands_over_to_the_continuation_lambda_it_names(
    ledger: LedgerService, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chalicelib import wiring
    from chalicelib.settings import load

    monkeypatch.setenv("LEDGER_CHECK_FUNCTION", "court-funds-prod-continue_ledger_check")
    wiring.override(settings=load())
    continuation = wiring.daily_ledger_check().continuation
    assert isinstance(continuation, LambdaContinuation)
    assert continuation.function_name == "court-funds-prod-continue_ledger_check"

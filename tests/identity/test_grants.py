"""Face-verification grants: bound to one payout, single use, five minutes, signed."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest

from chalicelib import wiring
from chalicelib.clock import FixedClock
from chalicelib.identity.errors import GrantRefused
from chalicelib.identity.face_decisions import FaceDecision, Outcome
from chalicelib.identity.face_records import ReferenceRecord
from chalicelib.identity.face_service import CheckResult
from chalicelib.identity.grants import (
    Binding,
    GrantClaims,
    GrantSigner,
    check_binding,
    destination_digest,
)
from chalicelib.wiring import face_checks, face_store
from tests.conftest import START

BINDING = Binding(
    disbursement_id="d-1",
    attempt=1,
    case_id="c-1",
    creditor_party_id="p0",
    amount_fen=500_000,
    currency="CNY",
    destination=destination_digest("6222 0202 0011 2233 445"),
)
SIGNER = GrantSigner(b"k" * 32)


class Always:
    """A verifier that always decides the same: the grant logic, not the face, is tested."""

    name = "always"

    def __init__(self, outcome: Outcome) -> None:
        self.outcome = outcome

    def inspect(self, image: bytes) -> Any:
        raise AssertionError("not used")

    def compare(self, reference: bytes, selfie: bytes) -> FaceDecision:
        return FaceDecision(
            outcome=self.outcome,
            verifier=self.name,
            model_version="test",
            checks=("face_count", "compare"),
            scores={"distance": 0.3 if self.outcome is Outcome.MATCH else 0.9},
            thresholds={"distance": 0.5},
        )


class Photos:
    def photo(self, case_id: str, party_id: str) -> bytes:
        return b"reference"

    def on_file(self, case_id: str, party_id: str) -> tuple[ReferenceRecord, bytes]:
        record = ReferenceRecord(case_id, party_id, "reference/k", START, "clerk-1", {})
        return record, self.photo(case_id, party_id)


@pytest.fixture
def checks(aws: Any, clock: FixedClock) -> Any:
    service = face_checks()
    service._photos = Photos()
    return service


def _pass(service: Any, binding: Binding = BINDING) -> CheckResult:
    service._verifier = lambda: Always(Outcome.MATCH)
    result: CheckResult = service.check(binding, b"selfie", court="粤0604")
    assert result.grant is not None
    return result


def test_destination_digest_ignores_spacing_and_full_width_digits() -> None:
    assert destination_digest("６２２２ 0202") == destination_digest("62220202")
    assert destination_digest("62220202") != destination_digest("62220203")


def test_a_short_grant_key_is_refused() -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        GrantSigner(b"too-short")


def test_a_token_signed_with_another_key_or_altered_is_refused() -> None:
    claims = GrantClaims("g1", BINDING, START, START + timedelta(minutes=5))
    token = SIGNER.sign(claims)
    assert SIGNER.read(token) == claims
    with pytest.raises(GrantRefused, match="signature"):
        GrantSigner(b"x" * 32).read(token)
    version, payload, mac = token.split(".")
    with pytest.raises(GrantRefused):
        SIGNER.read(f"{version}.{payload[:-2]}AA.{mac}")
    with pytest.raises(GrantRefused):
        SIGNER.read("not a grant")


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("amount_fen", 500_001),
        ("creditor_party_id", "p1"),
        ("case_id", "c-2"),
        ("destination", destination_digest("6222020200112233446")),
        ("disbursement_id", "d-2"),
        ("attempt", 2),
    ],
)
def test_a_grant_for_another_payout_is_refused(field: str, value: object) -> None:
    claims = GrantClaims("g1", BINDING, START, START + timedelta(minutes=5))
    with pytest.raises(GrantRefused, match=field):
        check_binding(claims, replace(BINDING, **{field: value}), now=START)


def test_a_pass_issues_a_grant_that_is_used_once(checks: Any) -> None:
    result = _pass(checks)
    assert result.grant_expires_at == START + timedelta(minutes=5)
    checks.redeem(result.grant, BINDING, used_for="release r-1")
    with pytest.raises(GrantRefused, match="used"):
        checks.redeem(result.grant, BINDING, used_for="release r-2")


def test_an_expired_grant_is_refused(checks: Any, clock: FixedClock) -> None:
    result = _pass(checks)
    clock.advance(timedelta(minutes=5))
    with pytest.raises(GrantRefused, match="expired"):
        checks.redeem(result.grant, BINDING, used_for="release r-1")


def test_a_grant_used_for_another_amount_stays_unused(checks: Any) -> None:
    result = _pass(checks)
    with pytest.raises(GrantRefused, match="amount_fen"):
        checks.redeem(result.grant, replace(BINDING, amount_fen=1), used_for="release r-1")
    checks.redeem(result.grant, BINDING, used_for="release r-1")


def test_the_release_commits_the_grant_use_in_its_own_transaction(checks: Any) -> None:
    """Two releases racing with one grant: the second transaction fails on the grant."""
    result = _pass(checks)
    _, first = checks.grant_use(result.grant, BINDING, used_for="release r-1")
    _, second = checks.grant_use(result.grant, BINDING, used_for="release r-2")
    db = wiring.dynamodb()
    db.transact_write_items(TransactItems=[first])
    with pytest.raises(db.exceptions.TransactionCanceledException):
        db.transact_write_items(TransactItems=[second])
    with pytest.raises(GrantRefused, match="used"):
        checks.grant_use(result.grant, BINDING, used_for="release r-3")


def test_no_match_issues_no_grant(checks: Any) -> None:
    checks._verifier = lambda: Always(Outcome.NO_MATCH)
    result = checks.check(BINDING, b"selfie", court="粤0604")
    assert result.grant is None
    assert result.attempts_left == 4
    events = face_store().claim_events(BINDING.disbursement_id)
    assert [e.details["outcome"] for e in events] == ["no_match"]
    assert "grant_id" not in events[0].details

"""Audit fixtures: a ledger with history at two courts, and table tampering as an insider could."""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib import wiring
from chalicelib.audit.check import LedgerCheck
from chalicelib.clock import FixedClock
from chalicelib.dynamo import to_item
from chalicelib.ledger import LedgerService
from chalicelib.ledger.items import account_pk, entry_sk, state_item_values
from chalicelib.ledger.listing import LedgerListing
from tests.ledger.conftest import CASE_A, CASE_B, collect, disburse, new_ledger

# A case account of another court (粤0605 is region 440605).
CASE_OTHER_COURT = "4406052600000017"


@pytest.fixture
def ledger(aws: Any, clock: FixedClock) -> LedgerService:
    service = new_ledger(aws, clock)
    wiring.override(ledger=service)
    service.ensure_system_accounts()
    service.open_case_account(CASE_A, case_id="case-a")
    service.open_case_account(CASE_B, case_id="case-b")
    return service


@pytest.fixture
def accounts_held(history: LedgerService) -> int:
    """How many accounts the ledger holds after the history: the two cases, the system
    accounts, and each system account's shards that postings touched (the check, the digest
    and the trial balance must each cover every one of them)."""
    held = len(LedgerListing(history.store).account_states(limit=1000).states)
    assert held >= 8  # six system accounts and two cases at the least
    return held


@pytest.fixture
def history(ledger: LedgerService) -> LedgerService:
    """Case A: three payments in and one payout; case B: one payment in."""
    for n in range(3):
        collect(ledger, CASE_A, 10_000 + n, f"pay-a-{n}")
    disburse(ledger, CASE_A, 50_000 // 100, "out-a-1")
    collect(ledger, CASE_B, 7_700, "pay-b-0")
    return ledger


@pytest.fixture
def check(history: LedgerService, clock: FixedClock) -> LedgerCheck:
    return LedgerCheck(history, LedgerListing(history.store), clock)


def delete_newest_entry_and_roll_back(ledger: LedgerService, account_id: str) -> int:
    """Delete an account's newest entry and rewind its state item to the entry before, so the
    account on its own still verifies; returns the deleted sequence number."""
    store = ledger.store
    entries = store.entries(account_id)
    newest_seq, newest = entries[-1]
    store.client.delete_item(
        TableName=store.table,
        Key={"pk": {"S": account_pk(account_id)}, "sk": {"S": entry_sk(newest_seq)}},
    )
    state = store.account_state(account_id)
    assert state is not None
    previous = entries[-2][1]
    rolled_back = state.model_copy(
        update={
            "seq": previous.seq,
            "head_hash": previous.hash,
            "last_at": previous.at,
            "totals": previous.after,
        }
    )
    store.client.put_item(
        TableName=store.table,
        Item={
            "pk": {"S": account_pk(account_id)},
            "sk": {"S": "STATE"},
            **to_item(state_item_values(rolled_back)),
        },
    )
    assert newest.seq == newest_seq
    return newest_seq


DIGEST_BUCKET = "courtfunds-test-digests"


@pytest.fixture
def kms_key(aws: Any) -> str:
    """An asymmetric KMS key as deployed: ECC_NIST_P256 for signing."""
    kms = wiring.kms()
    return str(
        kms.create_key(KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY")["KeyMetadata"]["KeyId"]
    )


@pytest.fixture
def anchored(history: LedgerService, kms_key: str, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The digest bucket (Object Lock, compliance mode) and the KMS key configured, with the
    ledger history in place; yields the digest publisher."""
    from chalicelib.settings import load
    from chalicelib.wiring import digest_publisher
    from infra.audit import create_digest_bucket

    create_digest_bucket(wiring.s3(), DIGEST_BUCKET, retention_days=30)
    monkeypatch.setenv("AUDIT_BUCKET", DIGEST_BUCKET)
    monkeypatch.setenv("DIGEST_KMS_KEY_ID", kms_key)
    wiring.override(settings=load())
    return digest_publisher()


def rewrite_account_consistently(
    ledger: LedgerService, account_id: str, seq: int, extra: int
) -> None:
    """Add ``extra`` fen to one posted credit of an account and re-hash its whole chain, its
    state and the transfer record: what an insider with write access to the table could do."""
    from chalicelib.ledger.models import GENESIS_HASH, Counters

    store = ledger.store
    prev_hash, totals = GENESIS_HASH, Counters()
    target_transfer = None
    for key_seq, original in store.entries(account_id):
        delta = original.delta
        if key_seq == seq:
            delta = delta.model_copy(update={"credits_posted": delta.credits_posted + extra})
            target_transfer = original.transfer_id
        totals = totals + delta
        forged = original.model_copy(
            update={"delta": delta, "after": totals, "prev_hash": prev_hash}
        ).sealed()
        prev_hash = forged.hash
        item = store.new_entry_item(forged)["Put"]["Item"]
        store.client.put_item(TableName=store.table, Item=item)
    state = store.account_state(account_id)
    assert state is not None
    assert target_transfer is not None
    forged_state = state.model_copy(update={"totals": totals, "head_hash": prev_hash})
    store.client.put_item(
        TableName=store.table,
        Item={
            "pk": {"S": account_pk(account_id)},
            "sk": {"S": "STATE"},
            **to_item(state_item_values(forged_state)),
        },
    )
    key = {"pk": {"S": f"XFER#{target_transfer}"}, "sk": {"S": "TRANSFER"}}
    item = store.client.get_item(TableName=store.table, Key=key)["Item"]
    import json

    body = json.loads(item["body"]["S"])
    for leg in body["legs"]:
        leg["amount"] += extra
    item["body"] = {"S": json.dumps(body, sort_keys=True, separators=(",", ":"))}
    store.client.put_item(TableName=store.table, Item=item)

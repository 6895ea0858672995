"""The signed daily digest: locked in S3, chained, verifiable offline, and the anchor that
catches the tamperings no check inside the table can see."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from botocore.exceptions import ClientError

from chalicelib import wiring
from chalicelib.audit import AuditBreakKind
from chalicelib.audit.check import LedgerCheck
from chalicelib.audit.digest import DigestLeaf, digest_key, sha256_hex
from chalicelib.audit.publisher import DigestPublisher
from chalicelib.audit.signing import verify_signature
from chalicelib.clock import FixedClock
from chalicelib.ledger import LedgerService
from chalicelib.ledger.listing import LedgerListing
from tests.audit.conftest import (
    DIGEST_BUCKET,
    delete_newest_entry_and_roll_back,
    rewrite_account_consistently,
)
from tests.ledger.conftest import CASE_A, CASE_B, CLEARING, PAYOUTS, collect


def all_breaks(check: LedgerCheck) -> list[Any]:
    return [b for page in check.run() for b in page.breaks]


def test_digest_signature_verifies_offline_with_the_public_key(
    anchored: DigestPublisher, accounts_held: int
) -> None:
    signed = anchored.publish()
    assert signed.digest.accounts == accounts_held
    public_pem = anchored.public_key_pem()
    message = signed.digest.message()
    signature = base64.b64decode(signed.signature)
    assert verify_signature(public_pem, message, signature)
    forged = message.replace(
        f'"accounts":{accounts_held}'.encode(), f'"accounts":{accounts_held + 1}'.encode()
    )
    assert forged != message
    assert not verify_signature(public_pem, forged, signature)


def test_digests_chain_to_the_one_before(anchored: DigestPublisher, history: LedgerService) -> None:
    first = anchored.publish()
    collect(history, CASE_B, 100, "pay-b-1")
    second = anchored.publish()
    assert second.digest.number == first.digest.number + 1
    assert second.digest.previous_key == digest_key(first.digest.number)
    assert second.digest.previous_sha256 == sha256_hex(first.document())
    assert second.digest.root != first.digest.root
    assert anchored.latest() == second


def test_a_locked_digest_refuses_deletion(anchored: DigestPublisher) -> None:
    signed = anchored.publish()
    s3 = wiring.s3()
    key = digest_key(signed.digest.number)
    head = s3.head_object(Bucket=DIGEST_BUCKET, Key=key)
    version = head["VersionId"]
    assert head["ObjectLockMode"] == "COMPLIANCE"
    with pytest.raises(ClientError) as refused:
        s3.delete_object(Bucket=DIGEST_BUCKET, Key=key, VersionId=version)
    assert refused.value.response["Error"]["Code"] == "AccessDenied"
    assert anchored.read(key) == signed


def test_inclusion_proof_verifies_and_a_forged_one_does_not(anchored: DigestPublisher) -> None:
    signed = anchored.publish()
    public_pem = anchored.public_key_pem()
    proof = anchored.proof(signed.digest.number, CASE_A)
    assert proof.leaf.account_id == CASE_A
    assert proof.leaf.balance == 10_000 + 10_001 + 10_002 - 500
    assert proof.verifies(public_pem)

    richer = proof.leaf.model_copy(update={"balance": proof.leaf.balance + 100_000})
    assert not proof.model_copy(update={"leaf": richer}).verifies(public_pem)
    other_index = proof.model_copy(update={"index": (proof.index + 1) % proof.size})
    assert not other_index.verifies(public_pem)
    bent_path = [
        proof.path[0][:-2] + ("00" if proof.path[0][-2:] != "00" else "11"),
        *proof.path[1:],
    ]
    assert not proof.model_copy(update={"path": bent_path}).verifies(public_pem)
    other_root = signed.digest.model_copy(update={"root": "ab" * 32})
    forged_digest = signed.model_copy(update={"digest": other_root})
    assert not proof.model_copy(update={"digest": forged_digest}).verifies(public_pem)


def test_every_account_has_a_proof(anchored: DigestPublisher) -> None:
    signed = anchored.publish()
    for account in (CASE_A, CASE_B, CLEARING, PAYOUTS):
        assert anchored.proof(signed.digest.number, account).verifies(anchored.public_key_pem())


def test_consistent_rewrite_of_both_accounts_and_the_transfer_is_caught_by_the_digest(
    anchored: DigestPublisher, history: LedgerService, clock: FixedClock
) -> None:
    anchored.publish()
    # pay-b-0 is entry 1 of case B and entry 4 of clearing: rewrite both chains and the record
    rewrite_account_consistently(history, CASE_B, 1, 90_000)
    rewrite_clearing_debit(history, 4, 90_000)
    assert history.verify(CASE_B).ok
    assert history.verify(CLEARING).ok
    inside_only = LedgerCheck(history, LedgerListing(history.store), clock)
    assert all_breaks(inside_only) == []  # nothing in the table shows it

    with_digest = LedgerCheck(history, LedgerListing(history.store), clock, digests=anchored)
    found = {(b.account_id, b.seq, b.kind) for b in all_breaks(with_digest)}
    assert (CASE_B, 1, AuditBreakKind.DIGEST) in found
    assert (CLEARING, 4, AuditBreakKind.DIGEST) in found


def test_deleted_newest_entry_is_caught_against_the_digest(
    anchored: DigestPublisher, history: LedgerService, clock: FixedClock
) -> None:
    anchored.publish()
    deleted = delete_newest_entry_and_roll_back(history, CASE_A)
    check = LedgerCheck(history, LedgerListing(history.store), clock, digests=anchored)
    digest_breaks = [b for b in all_breaks(check) if b.kind == AuditBreakKind.DIGEST]
    assert [(b.account_id, b.seq) for b in digest_breaks] == [(CASE_A, deleted)]
    assert "no longer stored" in digest_breaks[0].detail


def test_a_clean_ledger_that_grew_since_the_digest_passes(
    anchored: DigestPublisher, history: LedgerService, clock: FixedClock, accounts_held: int
) -> None:
    anchored.publish()
    collect(history, CASE_A, 300, "pay-a-later")
    history.open_case_account("4406042600000037", case_id="case-c")
    check = LedgerCheck(history, LedgerListing(history.store), clock, digests=anchored)
    pages = list(check.run())
    assert [b for p in pages for b in p.breaks] == []
    assert sum(p.heads_compared for p in pages) == accounts_held


def test_digest_leaf_is_the_account_head(anchored: DigestPublisher, history: LedgerService) -> None:
    signed = anchored.publish()
    proof = anchored.proof(signed.digest.number, CASE_B)
    state = history.store.account_state(CASE_B)
    assert state is not None
    assert proof.leaf == DigestLeaf.of(state)


def rewrite_clearing_debit(ledger: LedgerService, seq: int, extra: int) -> None:
    """The clearing side of the same rewrite: its entry ``seq`` debits ``extra`` more."""
    from chalicelib.dynamo import to_item
    from chalicelib.ledger.items import account_pk, state_item_values
    from chalicelib.ledger.models import GENESIS_HASH, Counters

    store = ledger.store
    prev_hash, totals = GENESIS_HASH, Counters()
    for key_seq, original in store.entries(CLEARING):
        delta = original.delta
        if key_seq == seq:
            delta = delta.model_copy(update={"debits_posted": delta.debits_posted + extra})
        totals = totals + delta
        forged = original.model_copy(
            update={"delta": delta, "after": totals, "prev_hash": prev_hash}
        ).sealed()
        prev_hash = forged.hash
        store.client.put_item(
            TableName=store.table, Item=store.new_entry_item(forged)["Put"]["Item"]
        )
    state = store.account_state(CLEARING)
    assert state is not None
    store.client.put_item(
        TableName=store.table,
        Item={
            "pk": {"S": account_pk(CLEARING)},
            "sk": {"S": "STATE"},
            **to_item(
                state_item_values(
                    state.model_copy(update={"totals": totals, "head_hash": prev_hash})
                )
            ),
        },
    )

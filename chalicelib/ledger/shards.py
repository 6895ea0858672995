"""System accounts split into shards, so that postings to different cases do not queue on one
system account.

Every posting moves a case account and a system account (clearing, cash, payouts...). Each
account's entries form one hash chain guarded by a sequence number, so with one system account
every posting of every court would wait for the one before it. A sharded system account is N
accounts: the base id (``SYS-CLEARING-CNY``, shard 0, so existing books stay valid) and
``SYS-CLEARING-CNY.s1`` ... ``.s{N-1}``; a posting uses the shard its transfer id hashes to, so
a replay lands on the same shard. Balances, statements and verify of the base id sum and merge
every shard that exists, so changing N never hides money.

Unidentified funds is not sharded: it may never go below zero, and a claim must take the money
from the account it arrived in.
"""

from __future__ import annotations

import hashlib
import re

from chalicelib.ledger.models import SystemAccount

MAX_SHARDS = 64
_SHARDED = tuple(
    system.of("").removesuffix("-")
    for system in SystemAccount
    if system != SystemAccount.UNIDENTIFIED_FUNDS
)
_BASE = re.compile(r"^(?P<kind>SYS-[A-Z]+)-[A-Z]{3}$")
_SHARD = re.compile(r"^(?P<base>SYS-[A-Z]+-[A-Z]{3})\.s(?P<index>[1-9][0-9]?)$")


def is_sharded(account_id: str) -> bool:
    """Is this the base id of a sharded system account?"""
    match = _BASE.match(account_id)
    return match is not None and match["kind"] in _SHARDED


def shard_ids(account_id: str, count: int = MAX_SHARDS) -> list[str]:
    """The ids of the first ``count`` shards of a sharded account, the base id first."""
    return [account_id] + [f"{account_id}.s{index}" for index in range(1, count)]


def shard_for(account_id: str, transfer_id: str, count: int) -> str:
    """The account a transfer's leg posts to: its shard if the account is sharded."""
    if count <= 1 or not is_sharded(account_id):
        return account_id
    digest = hashlib.sha256(transfer_id.encode("utf-8")).digest()
    index = int.from_bytes(digest[:4], "big") % count
    return account_id if index == 0 else f"{account_id}.s{index}"


def base_of(account_id: str) -> str:
    """The sharded account a shard belongs to (or the id itself)."""
    match = _SHARD.match(account_id)
    return match["base"] if match else account_id

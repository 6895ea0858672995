"""The ledger table's items: their layout, keys and encoding, shared by the store that reads
and writes them and by the audit listings that page through them.

Item layout in the one ledger table (keys ``pk``/``sk``, sparse indexes gsi1 and gsi2):

===================  ==========================  ============================================
item                 pk / sk                     index keys
===================  ==========================  ============================================
account state        ACCT#<id> / STATE           gsi1: ACCOUNTS / <id>, every account
entry (immutable)    ACCT#<id> / ENTRY#<seq>     gsi1: STMT#<id> / <at>#<seq>, by date
transfer             XFER#<id> / TRANSFER        gsi1: XFERS#<yyyy-mm> / <created_at>#<id>;
                                                 gsi2: PENDING / <expires_at>#<id>, if pending
reversal guard       XFER#<id> / REVERSED        - (a transfer is reversed at most once)
correction proposal  PROPOSAL#<id> / PROPOSAL    gsi1: PROPOSALS#open / <proposed_at>#<id>
===================  ==========================  ============================================

Entries of one account sort by sequence under their account's partition, so ``verify`` reads
them with one consistent Query; entry times never go backwards within an account, so gsi1
order is sequence order too.

Entries, transfers and account states are stored as one ``body`` attribute holding the
canonical JSON of the value (for an entry, exactly the text its hash covers), beside the few
attributes that keys, conditions and updates need (``seq``, ``hash``, ``state``). Small items
keep writes cheap, and what an auditor hashes is byte for byte what was stored.

Audits list every account (gsi1 ``ACCOUNTS``; case account numbers start with their court's
region, so one court is a key prefix) and every transfer by month of creation (gsi1
``XFERS#<month>``), each a paginated Query. A transfer record also names, in ``entry_seqs``,
the sequence of the entry it wrote on each account, so a whole-ledger check can prove that
every leg still has its entry with one batch read.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from chalicelib.clock import isoformat
from chalicelib.ledger.models import AccountState, Entry, Transfer, canonical_json

PENDING_INDEX_KEY = "PENDING"
OPEN_PROPOSALS_KEY = "PROPOSALS#open"
ACCOUNTS_INDEX_KEY = "ACCOUNTS"
STATE_SK = "STATE"
TRANSFER_SK = "TRANSFER"
REVERSED_SK = "REVERSED"
PROPOSAL_SK = "PROPOSAL"


def account_pk(account_id: str) -> str:
    return f"ACCT#{account_id}"


def entry_sk(seq: int) -> str:
    return f"ENTRY#{seq:012d}"


def transfer_pk(transfer_id: str) -> str:
    return f"XFER#{transfer_id}"


def transfers_month_key(moment: datetime) -> str:
    """The gsi1 partition of the transfers created in ``moment``'s month (UTC)."""
    return f"XFERS#{isoformat(moment)[:7]}"


def proposal_pk(proposal_id: str) -> str:
    return f"PROPOSAL#{proposal_id}"


def item_key(pk: str, sk: str) -> dict[str, Any]:
    return {"pk": {"S": pk}, "sk": {"S": sk}}


def state_item_values(state: AccountState) -> dict[str, Any]:
    """A new account's state item: its sequence (the optimistic lock), its body, and its key in
    the list of every account."""
    return {
        "seq": state.seq,
        "body": canonical_json(state.model_dump(mode="json")),
        "gsi1pk": ACCOUNTS_INDEX_KEY,
        "gsi1sk": state.account.id,
    }


def state_from_item(item: Mapping[str, Any]) -> AccountState:
    """An account state from a low-level (still typed) item."""
    return AccountState.model_validate_json(item["body"]["S"])


def entry_from_values(values: Mapping[str, Any]) -> Entry:
    return Entry.model_validate({**json.loads(values["body"]), "hash": values["hash"]})


def transfer_from_values(values: Mapping[str, Any]) -> Transfer:
    return Transfer.model_validate(
        {
            **json.loads(values["body"]),
            "state": values.get("state"),
            "resolved_by": values.get("resolved_by"),
        }
    )


_KEYS = frozenset({"pk", "sk", "gsi1pk", "gsi1sk", "gsi2pk", "gsi2sk"})


def strip_keys(values: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in values.items() if key not in _KEYS}

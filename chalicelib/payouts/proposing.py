"""Proposing a disbursement with a client's ``Idempotency-Key``: the same key and request from
the same person give the same disbursement, also while the first is still being written; the
same key with another request is refused (``chalicelib/idempotency.py``).

``Proposing`` is part of ``DisbursementWorkflow``; the proposal itself is the workflow's.
"""

from __future__ import annotations

import secrets
import time
from typing import TYPE_CHECKING

from chalicelib.approvals import ApprovalChanged, OwnerItemRefused
from chalicelib.idempotency import check_same_request, keyed_id, request_digest
from chalicelib.identity import Principal
from chalicelib.payouts.bodies import ProposeDisbursement
from chalicelib.payouts.errors import ChangedMeanwhile
from chalicelib.payouts.models import Disbursement

if TYPE_CHECKING:
    from chalicelib.payouts.store import PayoutStore

# A proposal sent again with its Idempotency-Key while the first is still being written waits
# this many times for the first to land, then answers with it.
REPLAY_WAITS = 20


class Proposing:
    if TYPE_CHECKING:
        store: PayoutStore

        def _propose(
            self,
            case_id: str,
            body: ProposeDisbursement,
            *,
            by: Principal,
            disbursement_id: str,
            digest: str | None,
        ) -> Disbursement: ...

    def propose(
        self,
        case_id: str,
        body: ProposeDisbursement,
        *,
        by: Principal,
        idempotency_key: str | None = None,
    ) -> Disbursement:
        """Propose paying one creditor. With ``idempotency_key``, the same key and request from
        the same person give the same disbursement, also while the first is being written; the
        same key with another request is refused."""
        if idempotency_key is None:
            return self._propose(case_id, body, by=by, disbursement_id=_new_id(), digest=None)
        disbursement_id = keyed_id("D", subject=by.subject, key=idempotency_key, hex_length=20)
        digest = request_digest(case_id, body.model_dump(mode="json"))
        existing = self.store.get(disbursement_id)
        if existing is not None:
            check_same_request(existing.request_digest, digest, item_id=disbursement_id)
            return existing
        try:
            return self._propose(
                case_id, body, by=by, disbursement_id=disbursement_id, digest=digest
            )
        except (ApprovalChanged, OwnerItemRefused, ChangedMeanwhile):
            return self._replayed(disbursement_id, digest)

    def _replayed(self, disbursement_id: str, digest: str) -> Disbursement:
        """The twin of a request that lost the race to write: answer with what the first
        wrote, once it has landed."""
        for wait in range(REPLAY_WAITS):
            found = self.store.get(disbursement_id)
            if found is not None:
                check_same_request(found.request_digest, digest, item_id=disbursement_id)
                return found
            time.sleep(0.05 * (wait + 1))
        raise ChangedMeanwhile(
            "the same request is still being written; send it again",
            disbursement_id=disbursement_id,
        )


def _new_id() -> str:
    return "D" + secrets.token_hex(10)

"""The face check's grants (``chalicelib.identity``) as the release step uses them
(``release.FaceGrants``): a presented grant is checked against the payout about to be released,
and the item that marks it used goes into the transaction that records the release."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

from chalicelib.identity.grants import Binding, destination_digest
from chalicelib.payouts.release import GrantUse

if TYPE_CHECKING:
    from chalicelib.identity.face_service import FaceChecks
    from chalicelib.payouts.models import Binding as PayoutBinding


def binding_of(payout: PayoutBinding) -> Binding:
    """The payout as a grant binds it; the destination account travels only as a digest."""
    return Binding(
        disbursement_id=payout.disbursement_id,
        attempt=payout.attempt,
        case_id=payout.case_id,
        creditor_party_id=payout.creditor_party_id,
        amount_fen=payout.amount,
        currency=payout.currency,
        destination=destination_digest(payout.destination_account),
    )


class PayoutFaceGrants:
    def __init__(self, checks: Callable[[], FaceChecks]) -> None:
        self._checks = checks

    def check(self, grant: str, binding: PayoutBinding, *, now: datetime) -> GrantUse:
        grant_id, mark_used = self._checks().grant_use(
            grant,
            binding_of(binding),
            used_for=f"release of {binding.disbursement_id} attempt {binding.attempt}",
            now=now,
        )
        return GrantUse(grant_id=grant_id, mark_used=mark_used)

"""What lets money leave: the release check, and the interface the face check plugs into.

A disbursement is sent only with a valid release for its current attempt: the approval chain
complete, and either a staff release whose second approver is not its first, or a
face-verification grant bound to exactly this payout. ``check_release`` is called by the one
step that calls the payout rail, so no route and no sweeper run can send without it.

The face check (``chalicelib/identity``) supplies a ``FaceGrants``: it checks a presented grant
against the payout's ``Binding`` and hands back a DynamoDB transaction item that marks the
grant used. That item is committed in the same TransactWriteItems that records the release,
so a grant pays at most once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from chalicelib.payouts.errors import ReleaseInvalid
from chalicelib.payouts.models import Binding, Disbursement, ReleaseKind


@dataclass(frozen=True)
class GrantUse:
    """A grant that passed its check. ``mark_used`` is one TransactWriteItems item (``Put``
    or ``Update``) whose condition fails if the grant was used already."""

    grant_id: str
    mark_used: dict[str, Any]


class FaceGrants(Protocol):
    """Face-verification grants, as the payout step needs them."""

    def check(self, grant: str, binding: Binding, *, now: datetime) -> GrantUse:
        """Verify ``grant`` (signature, expiry) and that it is bound to every field of
        ``binding``; raise ``GrantRefused`` with a reason otherwise."""
        ...


def check_release(d: Disbursement, *, chain_approved: bool, staff_release_approved: bool) -> None:
    """Raise ``ReleaseInvalid`` unless ``d`` may be sent now. ``chain_approved`` and
    ``staff_release_approved`` are what the approvals table says of the disbursement's chain
    and of its staff-release chain."""
    if not chain_approved:
        raise ReleaseInvalid(
            "the approval chain is not complete", disbursement_id=d.disbursement_id
        )
    release = d.release
    if release is None or release.attempt != d.attempt:
        raise ReleaseInvalid(
            "no release is recorded for this attempt", disbursement_id=d.disbursement_id
        )
    if release.kind == ReleaseKind.STAFF:
        if not staff_release_approved:
            raise ReleaseInvalid(
                "the staff release's approval chain is not complete",
                disbursement_id=d.disbursement_id,
            )
        if not release.requested_by or release.requested_by == release.released_by:
            raise ReleaseInvalid(
                "a staff release needs a second approver who is not the first",
                disbursement_id=d.disbursement_id,
            )
        if d.proposed_by in (release.released_by, release.requested_by):
            raise ReleaseInvalid(
                "the proposer cannot release the disbursement",
                disbursement_id=d.disbursement_id,
            )
    elif not release.grant_id:
        raise ReleaseInvalid(
            "a face release names the grant it used", disbursement_id=d.disbursement_id
        )

"""Errors of paying creditors: one base, ``PayoutError``, and a subclass per refusal."""

from __future__ import annotations

from chalicelib.problems import (
    BadRequest,
    Conflict,
    Forbidden,
    NotFound,
    ProblemError,
    ServiceUnavailable,
    ValidationFailed,
)


class PayoutError(ProblemError):
    """Base of every disbursement and payout error."""

    slug = "payouts/error"
    title = "Disbursement error"


class DisbursementNotFound(PayoutError, NotFound):
    slug = "payouts/not-found"
    title = "No such disbursement"


class StateRefused(PayoutError, Conflict):
    """The disbursement cannot take this step in its current state."""

    slug = "payouts/state-refused"
    title = "The disbursement cannot do this now"


class DestinationChanged(PayoutError, Conflict):
    """The creditor's receiving account was changed (an approved change) after the
    disbursement was proposed with the old one."""

    slug = "payouts/destination-changed"
    title = "The creditor's receiving account changed since this disbursement was proposed"


class ChangedMeanwhile(PayoutError, Conflict):
    """Someone else changed the disbursement between our read and our write; read again."""

    slug = "payouts/changed-meanwhile"
    title = "The disbursement was changed by someone else; reload it and try again"


class OverAvailable(PayoutError, Conflict):
    """The amount exceeds what the case account has available, pending reservations included."""

    slug = "payouts/over-available"
    title = "The amount exceeds what the case account has available"


class CreditorRefused(PayoutError, ValidationFailed):
    """The party is not a creditor of this case, or has no confirmed receiving account."""

    slug = "payouts/creditor-refused"
    title = "The disbursement cannot go to this party"


class SamePerson(PayoutError, Forbidden):
    """Four eyes: the one who proposed or requested may not approve or confirm it."""

    slug = "payouts/same-person"
    title = "The same person may not do both steps"


class ReleaseInvalid(PayoutError, Conflict):
    """No valid release: the approval chain is incomplete, or neither a face-verification grant
    nor a staff release with its second approver is recorded for this attempt."""

    slug = "payouts/release-invalid"
    title = "The disbursement has no valid release"


class GrantRefused(PayoutError, Forbidden):
    """A face-verification grant that does not match the disbursement, or was used already."""

    slug = "payouts/grant-refused"
    title = "The face verification does not allow this payout"


class FaceCheckUnavailable(PayoutError, ServiceUnavailable):
    slug = "payouts/face-check-unavailable"
    title = "Face verification is not available here"


class ClaimNotFound(PayoutError, NotFound):
    """An unknown, expired or replaced claim code (the answer never says which)."""

    slug = "payouts/claim-not-found"
    title = "This claim link is not valid"


class TooManyAttempts(PayoutError):
    status = 429
    slug = "payouts/too-many-attempts"
    title = "Too many attempts; wait a few minutes and try again"


class PayoutRailUnavailable(PayoutError, ServiceUnavailable):
    """The payout rail did not answer; the disbursement stays where it was, and the sweeper
    asks the rail again later."""

    slug = "payouts/rail-unavailable"
    title = "The payout service did not answer"


class PayoutRailRefused(PayoutError, Conflict):
    slug = "payouts/rail-refused"
    title = "The payout service refused the payout"


class PayoutWebhookRejected(PayoutError, BadRequest):
    slug = "payouts/webhook-rejected"
    title = "The webhook could not be verified"

"""Errors of online collection: one base, ``CollectionError``, and a subclass per case."""

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


class CollectionError(ProblemError):
    """Base of every collection error."""

    slug = "collection/error"
    title = "Collection error"


class CaseNotPayable(CollectionError, Conflict):
    """The case exists but takes no payments now (suspended or concluded)."""

    slug = "collection/case-not-payable"
    title = "This case does not take payments now"


class AmountRefused(CollectionError, ValidationFailed):
    """The amount is acceptable money but not for this payment (e.g. a surplus not confirmed)."""

    slug = "collection/amount-refused"
    title = "The amount is not accepted for this case"


class PaymentNotFound(CollectionError, NotFound):
    slug = "collection/payment-not-found"
    title = "No such payment"


class PaymentConflict(CollectionError, Conflict):
    """The payment cannot take this step in its current state, or an idempotency key was
    reused for a different payment."""

    slug = "collection/payment-conflict"
    title = "The payment cannot do this now"


class PaymentDeclined(CollectionError, Conflict):
    """The rail refused the payment method (card declined, authentication failed)."""

    slug = "collection/payment-declined"
    title = "The payment was declined"


class WebhookRejected(CollectionError, BadRequest):
    """A webhook failed verification: signature, timestamp or shape. Nothing was recorded."""

    slug = "collection/webhook-rejected"
    title = "The webhook could not be verified"


class ClaimNotFound(CollectionError, NotFound):
    slug = "collection/claim-not-found"
    title = "No such unidentified payment"


class ClaimAlreadySettled(CollectionError, Conflict):
    """The unidentified payment was already claimed to a case or refunded."""

    slug = "collection/claim-settled"
    title = "This unidentified payment is already settled"


class RailUnavailable(CollectionError, ServiceUnavailable):
    """The payment rail did not answer or failed; the request is safe to retry."""

    slug = "collection/rail-unavailable"
    title = "The payment service is temporarily unavailable"


class CollectionBusy(CollectionError, ServiceUnavailable):
    """Many payments for one case or court settled at once and retries ran out; the payment is
    safe and will be posted by the next delivery or the sweeper."""

    slug = "collection/busy"
    title = "Busy, try again"


class ReceiptUnavailable(CollectionError, ServiceUnavailable):
    """The PDF cannot be drawn here (its CJK font is not installed); the payment is safe and
    the receipt page still shows every detail of the receipt."""

    slug = "collection/receipt-unavailable"
    title = "The PDF receipt is temporarily unavailable"


class SamePerson(CollectionError, Forbidden):
    """Four eyes: the person who entered counter cash or proposed a claim (by sign-in subject)
    may not confirm or reject it."""

    slug = "collection/same-person"
    title = "Another person must decide this"


class CounterCashRefused(CollectionError, ValidationFailed):
    """Counter cash that cannot be right: taken in the future, too long ago, or implausibly
    large."""

    slug = "collection/counter-cash-refused"
    title = "This counter-cash entry cannot be accepted"


class ReceiptNumberTaken(CollectionError, Conflict):
    slug = "collection/receipt-number-taken"
    title = "This paper receipt number was already entered at this court"


class EntryNotFound(CollectionError, NotFound):
    slug = "collection/entry-not-found"
    title = "No such counter-cash entry"


class AlreadyDecided(CollectionError, Conflict):
    """The entry or claim was already confirmed or rejected (by someone else), or another
    claim of the same money is waiting for its decision."""

    slug = "collection/already-decided"
    title = "This was already decided"


class EntryIdTaken(CollectionError, Conflict):
    slug = "collection/entry-id-taken"
    title = "This entry id was already used for another entry"

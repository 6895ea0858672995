"""Errors of refunds; each says what the person can do next."""

from __future__ import annotations

from chalicelib.problems import Conflict, Forbidden, NotFound, ProblemError, ServiceUnavailable


class RefundError(ProblemError):
    """Base of every refund error."""


class RefundNotFound(RefundError, NotFound):
    slug = "refunds/not-found"
    title = "No such refund"


class SourceNotFound(RefundError, NotFound):
    slug = "refunds/source-not-found"
    title = "The payment to refund is not known"


class SourceNotRefundable(RefundError, Conflict):
    slug = "refunds/source-not-refundable"
    title = "This payment cannot be refunded"


class RefundExceedsPayment(RefundError, Conflict):
    slug = "refunds/exceeds-payment"
    title = "Refunds of a payment never exceed what it brought in"


class UnidentifiedRefundedWhole(RefundError, Conflict):
    slug = "refunds/unidentified-refunded-whole"
    title = "Unidentified money goes back to its payer whole, or is claimed to a case"


class RefundStateConflict(RefundError, Conflict):
    slug = "refunds/state-conflict"
    title = "The refund is not in a state that allows this"


class RefundChanged(RefundError, Conflict):
    slug = "refunds/changed"
    title = "Someone else changed this refund first; reload it"


class NotRefundRequester(RefundError, Forbidden):
    slug = "refunds/not-requester"
    title = "Only the clerk who asked for this refund (or, once decided, finance) does this"


class BankReferenceUsed(RefundError, Conflict):
    slug = "refunds/bank-reference-used"
    title = "This bank transfer already pays back another refund"


class SamePersonConfirms(RefundError, Forbidden):
    slug = "refunds/same-person-confirms"
    title = "A second person confirms a bank refund"


class RefundRailUnavailable(RefundError, ServiceUnavailable):
    slug = "refunds/rail-unavailable"
    title = "The payment service did not answer; the refund is finished by the sweeper"

"""Errors of sign-in and permissions."""

from __future__ import annotations

from chalicelib.problems import (
    Conflict,
    Forbidden,
    Locked,
    NotFound,
    ProblemError,
    ServiceUnavailable,
    Unauthenticated,
    ValidationFailed,
)


class IdentityError(ProblemError):
    """Base of every sign-in, permission and face-verification error."""


class NotSignedIn(IdentityError, Unauthenticated):
    slug = "identity/not-signed-in"
    title = "A valid bearer token is required"


class RoleNotAllowed(IdentityError, Forbidden):
    slug = "identity/role-not-allowed"
    title = "Your role may not do this"


class FaceServiceBusy(IdentityError, ServiceUnavailable):
    slug = "identity/face-check-busy"
    title = "The face check is busy"


class FaceServiceUnavailable(IdentityError, ServiceUnavailable):
    slug = "identity/face-check-unavailable"
    title = "The face check is not available"


class PhotoRefused(IdentityError, ValidationFailed):
    """A photo that cannot be used; ``reason`` says what the person can do about it."""

    slug = "identity/photo-refused"
    title = "The photo cannot be used"


class NoReferencePhoto(IdentityError, NotFound):
    slug = "identity/no-reference-photo"
    title = "No reference photo is on file for this creditor"


class ClaimLocked(IdentityError, Locked):
    slug = "identity/claim-locked"
    title = "Too many failed face checks: the claim is locked"


class GrantRefused(IdentityError, Forbidden):
    slug = "identity/grant-refused"
    title = "The face-verification grant is not valid for this payout"


class CourtNotYours(IdentityError, Forbidden):
    slug = "identity/court-not-yours"
    title = "You do not act in this court"


class ReviewNotFound(IdentityError, NotFound):
    slug = "identity/review-not-found"
    title = "No such face review"


class ReviewRefused(IdentityError, Conflict):
    """The review cannot take this step now: one is open already, it was decided or expired."""

    slug = "identity/review-refused"
    title = "The face review cannot do this now"


class SameReviewer(IdentityError, Forbidden):
    slug = "identity/same-person"
    title = "The person who proposed the payout cannot review its face check"


class LivenessRequired(IdentityError, Conflict):
    """The stage checks a live face (a Face Liveness session): a photo alone is not enough."""

    slug = "identity/liveness-required"
    title = "This court's face check needs a live check"


class LivenessNotUsed(IdentityError, Conflict):
    """The stage checks a photo: it starts no liveness sessions."""

    slug = "identity/liveness-not-used"
    title = "This court's face check takes a photo, not a live check"


class LivenessSessionRefused(IdentityError, Conflict):
    """A liveness session this claim did not start, or one already used for a decision."""

    slug = "identity/liveness-session-refused"
    title = "The live check cannot be used for this claim"


class ReferencePhotoChanged(IdentityError, Conflict):
    """Two enrolments of one creditor's photo at once: the other one stands."""

    slug = "identity/reference-photo-changed"
    title = "The reference photo changed meanwhile"

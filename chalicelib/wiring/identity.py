"""Builds identity: staff sign-in, the creditor's face check, reference photos and review."""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalicelib.wiring.shared import cached, clock, dynamodb, notifier, s3, secrets, settings

if TYPE_CHECKING:
    from chalicelib.identity.face_interface import FaceVerifier
    from chalicelib.identity.face_records import FaceStore
    from chalicelib.identity.face_reviews import FaceReviews
    from chalicelib.identity.face_service import FaceChecks
    from chalicelib.identity.reference_photo_store import ReferencePhotos
    from chalicelib.identity.tokens import TokenVerifier


def token_verifier() -> TokenVerifier:
    """Staff sign-in: the token verifier for this stage's issuer (Cognito in dev and prod)."""

    def build() -> TokenVerifier:
        from chalicelib.identity.tokens import TokenSettings, TokenVerifier

        sign_in = settings().sign_in()
        return TokenVerifier(
            TokenSettings(
                stage=settings().stage,
                issuer=sign_in.issuer,
                audience=sign_in.audience,
                jwks_url=sign_in.jwks_url,
                jwks_file=sign_in.jwks_file,
                max_age_seconds=settings().max_token_age_hours * 3600,
            )
        )

    return cached("token_verifier", build)


def face_verifier() -> FaceVerifier:
    """The face verifier the settings choose: Rekognition, or dlib offline (loaded here, on the
    first face check, never at import)."""

    def build() -> FaceVerifier:
        from chalicelib.identity.face_interface import build_verifier

        the_settings = settings()
        if the_settings.face_verifier == "rekognition":
            import boto3

            return build_verifier(the_settings, rekognition=boto3.client("rekognition"))
        return build_verifier(the_settings)

    return cached("face_verifier", build)


def face_store() -> FaceStore:
    def build() -> FaceStore:
        from chalicelib.identity.face_records import FaceStore

        return FaceStore(dynamodb(), settings().identity_table)

    return cached("face_store", build)


def reference_photos() -> ReferencePhotos:
    """Creditors' reference photos: checked on enrolment, encrypted in S3, purged after the
    retention once the case is concluded."""

    def build() -> ReferencePhotos:
        from chalicelib.identity.reference_photo_store import ReferencePhotos

        return ReferencePhotos(
            s3=s3(),
            bucket=settings().reference_photos_bucket,
            store=face_store(),
            verifier=face_verifier,
            clock=clock(),
        )

    return cached("reference_photos", build)


def face_checks() -> FaceChecks:
    """The creditor's face check on a claim: decisions, lockout, grants."""

    def build() -> FaceChecks:
        from datetime import timedelta

        from chalicelib.identity.face_service import FaceCheckLimits, FaceChecks
        from chalicelib.identity.grants import GrantSigner

        the_settings = settings()
        grant_key = secrets().get(the_settings.face_grant_key_name).encode()
        return FaceChecks(
            store=face_store(),
            photos=reference_photos(),
            verifier=face_verifier,
            signer=GrantSigner(grant_key),
            clock=clock(),
            limits=FaceCheckLimits(
                grant_ttl=timedelta(seconds=the_settings.face_grant_ttl_seconds),
                max_failures=the_settings.face_max_failures,
                failure_window=timedelta(minutes=the_settings.face_failure_window_minutes),
                liveness_min_confidence=the_settings.face_liveness_min_confidence,
            ),
            notifier=notifier(),
            lock_contacts=the_settings.face_lock_contacts,
        )

    return cached("face_checks", build)


def face_reviews() -> FaceReviews:
    """Human review of refused face checks: the selfie kept encrypted for a few hours, decided
    by a reviewer who did not propose the payout."""

    def build() -> FaceReviews:
        from datetime import timedelta

        from chalicelib.identity.face_reviews import FaceReviews
        from chalicelib.identity.review_records import ReviewStore

        the_settings = settings()
        return FaceReviews(
            store=ReviewStore(dynamodb(), the_settings.identity_table),
            claims=face_store(),
            s3=s3(),
            bucket=the_settings.reference_photos_bucket,
            photos=reference_photos(),
            checks=face_checks(),
            clock=clock(),
            retention=timedelta(hours=the_settings.face_review_retention_hours),
        )

    return cached("face_reviews", build)

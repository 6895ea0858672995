"""Builds the audit: ledger digests, the whole-ledger check and its daily run."""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalicelib.wiring.ledger import ledger_service
from chalicelib.wiring.shared import cached, clock, kms, s3, settings

if TYPE_CHECKING:
    from chalicelib.audit.check import LedgerCheck
    from chalicelib.audit.daily import DailyLedgerCheck
    from chalicelib.audit.publisher import DigestPublisher


def digests_configured() -> bool:
    """Whether this stage publishes digests: a digest bucket and a signing key are named."""
    config = settings()
    return bool(config.audit_bucket and (config.digest_kms_key_id or config.digest_key_file))


def digest_publisher() -> DigestPublisher:
    """Ledger digests: the write-once digest bucket and the stage's signing key (KMS in dev and
    prod, the local stack's key file)."""

    def build() -> DigestPublisher:
        from chalicelib.audit import AnchorUnavailable
        from chalicelib.audit.anchor import AnchorBucket
        from chalicelib.audit.publisher import DigestPublisher
        from chalicelib.audit.signing import DigestSigner, KmsSigner, LocalKeySigner
        from chalicelib.ledger.listing import LedgerListing

        config = settings()
        if not digests_configured() or config.audit_bucket is None:
            raise AnchorUnavailable(
                "this stage has no digest bucket or signing key configured "
                "(AUDIT_BUCKET, DIGEST_KMS_KEY_ID)"
            )
        signer: DigestSigner
        if config.digest_kms_key_id:
            signer = KmsSigner(kms(), config.digest_kms_key_id)
        else:
            signer = LocalKeySigner(str(config.digest_key_file))
        return DigestPublisher(
            LedgerListing(ledger_service().store),
            AnchorBucket(s3(), config.audit_bucket, retention_days=config.digest_retention_days),
            signer,
            clock(),
            ledger_name=config.stage,
        )

    return cached("digest_publisher", build)


def ledger_check() -> LedgerCheck:
    """The whole-ledger check, compared with the latest digest where digests are published."""

    def build() -> LedgerCheck:
        from chalicelib.audit.check import LedgerCheck
        from chalicelib.ledger.listing import LedgerListing

        ledger = ledger_service()
        digests = digest_publisher() if digests_configured() else None
        return LedgerCheck(ledger, LedgerListing(ledger.store), clock(), digests=digests)

    return cached("ledger_check", build)


def daily_ledger_check() -> DailyLedgerCheck:
    """The daily check and digest: in deployed stages a run too long for one invocation goes
    on in the continuation Lambda, invoked asynchronously with the check's cursor."""

    def build() -> DailyLedgerCheck:
        from chalicelib.audit.daily import DailyLedgerCheck, LambdaContinuation

        config = settings()
        continuation = None
        if config.ledger_check_function:
            import boto3

            continuation = LambdaContinuation(boto3.client("lambda"), config.ledger_check_function)
        publish = None
        if digests_configured():

            def publish() -> int:
                return digest_publisher().publish().digest.number

        return DailyLedgerCheck(
            ledger_check(), clock(), stage=config.stage, continuation=continuation, publish=publish
        )

    return cached("daily_ledger_check", build)

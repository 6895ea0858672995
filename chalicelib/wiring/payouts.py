"""Builds the payouts (案款发放): the payout rail, the workflow before money leaves, and sending."""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalicelib.wiring.approvals import approval_service
from chalicelib.wiring.cases import case_service
from chalicelib.wiring.deadlines import deadline_service
from chalicelib.wiring.identity import face_checks
from chalicelib.wiring.ledger import ledger_service
from chalicelib.wiring.shared import cached, clock, dynamodb, notifier, secrets, settings

if TYPE_CHECKING:
    from chalicelib.payouts.rail import PayoutRail
    from chalicelib.payouts.release import FaceGrants
    from chalicelib.payouts.sending import PayoutSender
    from chalicelib.payouts.workflow import DisbursementWorkflow


def payout_rail() -> PayoutRail:
    """The payout rail (Stripe Treasury OutboundPayments), its keys read from the secrets on
    first use (the same Stripe account and webhook secret as payments). STRIPE_API_BASE points
    it at the local Stripe stand-in, which serves them in the local stack."""

    def build() -> PayoutRail:
        from chalicelib.payouts.stripe_payouts import StripePayoutRail, StripePayoutSettings
        from chalicelib.settings import MissingSetting

        named, read = settings(), secrets()
        if not named.stripe_financial_account or not named.stripe_payout_routing_number:
            raise MissingSetting(
                "payouts need STRIPE_FINANCIAL_ACCOUNT and STRIPE_PAYOUT_ROUTING_NUMBER"
            )
        return StripePayoutRail(
            StripePayoutSettings(
                secret_key=read.get(named.stripe_secret_key_name),
                financial_account=named.stripe_financial_account,
                routing_number=named.stripe_payout_routing_number,
                webhook_secrets=tuple(read.get(named.stripe_webhook_secret_name).split(",")),
                api_base=named.stripe_api_base or None,
            ),
            clock=clock(),
        )

    return cached("payout_rail", build)


def face_grants() -> FaceGrants:
    """Face-verification grants for the creditor's own release (``chalicelib.payouts.release``
    defines the interface; ``chalicelib.identity`` issues them through ``face_checks()``, which
    is built, and its grant key read, on the first release)."""

    def build() -> FaceGrants:
        from chalicelib.payouts.face_grants import PayoutFaceGrants

        return PayoutFaceGrants(face_checks)

    return cached("face_grants", build)


def disbursement_workflow() -> DisbursementWorkflow:
    """Paying creditors before money leaves: propose, approve, defer, reissue, claim links."""

    def build() -> DisbursementWorkflow:
        from chalicelib.payouts.store import PayoutStore
        from chalicelib.payouts.workflow import DisbursementWorkflow

        return DisbursementWorkflow(
            PayoutStore(dynamodb(), settings().payouts_table),
            cases=case_service(),
            ledger=ledger_service(),
            approvals=approval_service(),
            deadlines=deadline_service(),
            notifier=notifier(),
            clock=clock(),
            settings=settings(),
        )

    return cached("disbursements", build)


def payout_sender() -> PayoutSender:
    """Paying creditors as money leaves: release, send, settle, the webhook and the sweeper.
    The face grants come from ``face_grants()``."""

    def build() -> PayoutSender:
        from chalicelib.payouts.sending import PayoutSender

        return PayoutSender(
            disbursement_workflow(),
            rail=payout_rail,
            ledger=ledger_service(),
            grants=face_grants(),
            clock=clock(),
            settings=settings(),
        )

    return cached("payout_sender", build)

"""Builds collection: the payment rail, the pay page, intake, claims and counter cash."""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalicelib.wiring.approvals import approval_service
from chalicelib.wiring.cases import case_service
from chalicelib.wiring.deadlines import deadline_service
from chalicelib.wiring.ledger import ledger_service
from chalicelib.wiring.shared import cached, clock, dynamodb, notifier, secrets, settings

if TYPE_CHECKING:
    from chalicelib.collection.claims import ClaimDesk
    from chalicelib.collection.counter_cash import CounterCashDesk
    from chalicelib.collection.decision_store import DecisionStore
    from chalicelib.collection.rail import PaymentRail
    from chalicelib.collection.service import CollectionService


def payment_rail() -> PaymentRail:
    """The payment rail (Stripe), its keys read from the secrets on first use. STRIPE_API_BASE
    points it at localstripe in the local stack."""

    def build() -> PaymentRail:
        from chalicelib.collection.stripe_rail import StripeRail, StripeSettings

        named, read = settings(), secrets()
        stripe = StripeSettings(
            secret_key=read.get(named.stripe_secret_key_name),
            publishable_key=read.get(named.stripe_publishable_key_name),
            webhook_secrets=tuple(read.get(named.stripe_webhook_secret_name).split(",")),
            api_base=named.stripe_api_base or None,
            wallets=tuple(w for w in named.stripe_wallets.split(",") if w),
        )
        return StripeRail(stripe, clock=clock())

    return cached("payment_rail", build)


def collection_service() -> CollectionService:
    """Online collection: the pay page, webhooks, the sweeper, claims and counter cash."""

    def build() -> CollectionService:
        from chalicelib.collection.service import CollectionService
        from chalicelib.collection.store import CollectionStore

        return CollectionService(
            CollectionStore(dynamodb(), settings().collection_table),
            payment_rail,
            clock(),
            cases=case_service(),
            ledger=ledger_service(),
            notifier=notifier(),
            max_payment_multiple=settings().max_payment_multiple,
            clocks=deadline_service,
        )

    return cached("collection", build)


def _collection_decisions() -> DecisionStore:
    """Two-person entries of collection (counter cash, claims), in the collection table."""

    def build() -> DecisionStore:
        from chalicelib.collection.decision_store import DecisionStore

        return DecisionStore(dynamodb(), settings().collection_table)

    return cached("collection_decisions", build)


def counter_cash_desk() -> CounterCashDesk:
    """Counter cash under four eyes, within the limits the settings give."""

    def build() -> CounterCashDesk:
        from datetime import timedelta

        from chalicelib.collection.counter_cash import CounterCashDesk

        limits = settings()
        return CounterCashDesk(
            collection_service(),
            _collection_decisions(),
            case_service(),
            clock(),
            approvals=approval_service(),
            ceiling=limits.counter_cash_ceiling_fen,
            max_age=timedelta(days=limits.counter_cash_max_age_days),
        )

    return cached("counter_cash_desk", build)


def claim_desk() -> ClaimDesk:
    """Claims of unidentified money under four eyes."""

    def build() -> ClaimDesk:
        from chalicelib.collection.claims import ClaimDesk

        return ClaimDesk(
            collection_service(),
            _collection_decisions(),
            case_service(),
            clock(),
            approvals=approval_service(),
        )

    return cached("claim_desk", build)

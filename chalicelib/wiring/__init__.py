"""The composition root: every service and adapter of the product is built here, lazily, once.

Nothing here runs at import time, so a Lambda cold start pays only for what a request uses and
tests can point everything at moto before the first call. Capability packages never build their
own dependencies and never import this package: only the entry points (``app.py``, the
``routes.py`` of each capability, the pages and the HTTP edge) ask it for a service, and a
capability's service module is imported only when its first route runs. Tests call ``reset()``
between cases and ``override(clock=...)`` to inject a clock or any other built object.

``shared`` holds the build-once cache, the settings, the secrets and the AWS clients; each
capability's services are built in a module of its own name, and every builder is exported
here, so callers write ``from chalicelib.wiring import ledger_service``. A capability's module
imports the builders it needs from the others at the top, in one direction; the two references
that point back (the cases' check for disbursements under way, the deadlines' refund drafts)
are imported when first built.
"""

from __future__ import annotations

from chalicelib.wiring.approvals import approval_chains, approval_service
from chalicelib.wiring.audit import (
    daily_ledger_check,
    digest_publisher,
    digests_configured,
    ledger_check,
)
from chalicelib.wiring.cases import case_service, receiving_account_changes
from chalicelib.wiring.collection import (
    claim_desk,
    collection_service,
    counter_cash_desk,
    payment_rail,
)
from chalicelib.wiring.deadlines import deadline_service
from chalicelib.wiring.exports import export_service
from chalicelib.wiring.identity import (
    face_checks,
    face_reviews,
    face_store,
    face_verifier,
    reference_photos,
    token_verifier,
)
from chalicelib.wiring.ledger import ledger_service
from chalicelib.wiring.monitoring import monitoring_service
from chalicelib.wiring.payouts import disbursement_workflow, face_grants, payout_rail, payout_sender
from chalicelib.wiring.ratelimit import rate_limiter
from chalicelib.wiring.reconciliation import reconciliation_service
from chalicelib.wiring.refunds import refund_drafts, refund_service
from chalicelib.wiring.shared import (
    cached,
    clock,
    dynamodb,
    kms,
    notifier,
    override,
    reset,
    s3,
    secrets,
    settings,
    table_name,
)
from chalicelib.wiring.workdays import calendar_service, working_calendar

__all__ = [
    "approval_chains",
    "approval_service",
    "cached",
    "calendar_service",
    "case_service",
    "claim_desk",
    "clock",
    "collection_service",
    "counter_cash_desk",
    "daily_ledger_check",
    "deadline_service",
    "digest_publisher",
    "digests_configured",
    "disbursement_workflow",
    "dynamodb",
    "export_service",
    "face_checks",
    "face_grants",
    "face_reviews",
    "face_store",
    "face_verifier",
    "kms",
    "ledger_check",
    "ledger_service",
    "monitoring_service",
    "notifier",
    "override",
    "payment_rail",
    "payout_rail",
    "payout_sender",
    "rate_limiter",
    "receiving_account_changes",
    "reconciliation_service",
    "reference_photos",
    "refund_drafts",
    "refund_service",
    "reset",
    "s3",
    "secrets",
    "settings",
    "table_name",
    "token_verifier",
    "working_calendar",
]

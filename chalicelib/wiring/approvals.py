"""Builds the approvals: the chains per court that every decision moving money takes."""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalicelib.wiring.shared import cached, clock, dynamodb, settings
from chalicelib.wiring.workdays import working_calendar

if TYPE_CHECKING:
    from chalicelib.approvals.chains import ChainBook
    from chalicelib.approvals.service import ApprovalService


def approval_chains() -> ChainBook:
    """The approval chains per court (``APPROVAL_CHAINS``, else the default chains), checked
    when first asked for: the approvals use them to decide, the deadlines to escalate."""

    def build() -> ChainBook:
        from chalicelib.approvals.chains import ChainBook, default_chains

        config = settings().approval_chains
        return default_chains() if config is None else ChainBook.model_validate(config)

    return cached("approval_chains", build)


def approval_service() -> ApprovalService:
    """Approvals: the chain of amount tiers per court that every decision moving money takes."""

    def build() -> ApprovalService:
        from chalicelib.approvals.service import ApprovalService
        from chalicelib.approvals.store import ApprovalStore

        config = settings()
        return ApprovalService(
            ApprovalStore(dynamodb(), config.approvals_table),
            clock(),
            approval_chains(),
            overdue_working_days=config.approval_overdue_working_days,
            # the calendar is built when the first due time is asked for, not with the service
            due_after=lambda moment, days: working_calendar().due_after(moment, days),
        )

    return cached("approvals", build)

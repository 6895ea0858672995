"""A refund's state changes: the table of allowed moves applied, each with its history line."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from chalicelib.identity import Principal
from chalicelib.refunds.errors import RefundStateConflict
from chalicelib.refunds.models import ALLOWED, Refund, RefundEvent, RefundState

# Who the history names when the sweeper or a rail's answer moves a refund.
SWEEPER = Principal(subject="system:refunds", name="退付自动处理")


def require(refund: Refund, *states: RefundState) -> None:
    if refund.state not in states:
        wanted = " or ".join(s.value for s in states)
        raise RefundStateConflict(
            f"refund {refund.refund_id} is {refund.state.value}; this needs it {wanted}",
            state=refund.state.value,
        )


def moved(
    refund: Refund,
    to: RefundState,
    *,
    by: Principal,
    at: datetime,
    note: str | None = None,
    **updates: Any,
) -> Refund:
    """The refund in state ``to``, one version on, with the change in its history; a move the
    table does not allow is refused."""
    if to not in ALLOWED[refund.state]:
        raise RefundStateConflict(
            f"a {refund.state.value} refund cannot become {to.value}", state=refund.state.value
        )
    event = RefundEvent(at=at, state=to, by_subject=by.subject, by_name=by.name, note=note)
    return refund.model_copy(
        update={
            **updates,
            "state": to,
            "version": refund.version + 1,
            "updated_at": at,
            "history": (*refund.history, event),
        }
    )


def with_attempt(refund: Refund, **changes: Any) -> tuple[Any, ...]:
    """The attempts with the current one changed."""
    current = refund.attempts[-1]
    return (*refund.attempts[:-1], current.model_copy(update=changes))

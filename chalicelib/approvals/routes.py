"""Approval routes: the queues and an item's history. Decisions are taken through the route of
the capability that owns the item (``POST /refunds/{id}/decision``, ...), because the owner
commits its own state change with the decision in one transaction."""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote

from chalice.app import Blueprint
from pydantic import Field

from chalicelib.answers import Items
from chalicelib.approvals.answers import ApprovalShown
from chalicelib.approvals.errors import ApprovalNotFound
from chalicelib.approvals.views import approval_view
from chalicelib.bodies import RequestBody
from chalicelib.http import Call, route
from chalicelib.identity import READERS, CourtNotYours, Principal, Role
from chalicelib.wiring import approval_service

blueprint = Blueprint(__name__)


class CourtQuery(RequestBody):
    court: str = Field(min_length=1, max_length=40)
    limit: int = Field(default=50, ge=1, le=200)


class OverdueQuery(CourtQuery):
    role: Role


class LimitQuery(RequestBody):
    limit: int = Field(default=50, ge=1, le=200)


def _court_seen(principal: Principal, court: str) -> str:
    """A court's queue is read only by its own staff and those who oversee it."""
    if not principal.sees(court):
        raise CourtNotYours(f"you neither belong to nor oversee court {court}")
    return court


@route(
    blueprint, "/approvals/waiting", roles=READERS, query=CourtQuery, answer=Items[ApprovalShown]
)
def waiting_for_me(call: Call) -> Any:
    """What waits for the caller at a court: steps of their roles they may take."""
    service = approval_service()
    court = call.query.court
    if not call.actor.acts_in(court):
        raise CourtNotYours(f"you take no steps at court {court}")
    found = service.waiting_for(call.actor, court, limit=call.query.limit)
    return {"items": [approval_view(a, service) for a in found]}


@route(blueprint, "/approvals/mine", roles=READERS, query=LimitQuery, answer=Items[ApprovalShown])
def asked_by_me(call: Call) -> Any:
    """What the caller asked for, newest first, with where each stands."""
    service = approval_service()
    found = service.asked_by(call.actor, limit=call.query.limit)
    return {"items": [approval_view(a, service) for a in found if call.actor.sees(a.court)]}


@route(
    blueprint, "/approvals/overdue", roles=READERS, query=OverdueQuery, answer=Items[ApprovalShown]
)
def overdue(call: Call) -> Any:
    """Steps of one role at a court waiting longer than the overdue setting, oldest first."""
    service = approval_service()
    court = _court_seen(call.actor, call.query.court)
    found = service.overdue(court, call.query.role, limit=call.query.limit)
    return {"items": [approval_view(a, service) for a in found]}


@route(blueprint, "/approvals/{approval_id}", roles=READERS, answer=ApprovalShown)
def approval(call: Call, approval_id: str) -> Any:
    """One approval with its chain and every step taken (who, role, when, what, why)."""
    service = approval_service()
    found = service.get(unquote(approval_id))
    hidden = ApprovalNotFound(f"no approval {found.id}")
    call.actor.check_court(found.court, act=False, hidden_as=hidden)
    return approval_view(found, service)

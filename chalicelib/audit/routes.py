"""Audit routes: the whole-ledger check a page at a time, the published digests with their
public key, inclusion proofs for one account, and the daily check and digest."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast
from urllib.parse import unquote

from chalice.app import Blueprint, Cron
from pydantic import BaseModel, ConfigDict, Field

from chalicelib import wiring
from chalicelib.answers import AnswerBody
from chalicelib.audit import DigestNotFound, InvalidAuditQuery
from chalicelib.audit.digest import InclusionProof, SignedDigest
from chalicelib.audit.models import CheckPage
from chalicelib.cases.scope import check_every_court
from chalicelib.http import Call, route
from chalicelib.identity import CourtNotYours, Role

blueprint = Blueprint(__name__)

AUDITORS = (Role.AUDITOR, Role.FINANCE, Role.ADMIN)
MAX_PAGE = 500  # accounts, transfers or heads per page of the check
PUBLISHERS = (Role.FINANCE, Role.ADMIN)


class CheckQuery(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    court: str | None = Field(default=None, min_length=1, max_length=8)
    cursor: str | None = Field(default=None, max_length=8192)
    limit: int = Field(default=100, ge=1, le=MAX_PAGE)


class DigestShown(AnswerBody):
    """A signed digest and the public key (PEM) that verifies it."""

    digest: SignedDigest
    public_key: str


class ProofShown(AnswerBody):
    """An account's inclusion proof and the public key (PEM) that checks it."""

    proof: InclusionProof
    public_key: str


def _number(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) < 10**10:
        raise InvalidAuditQuery(f"a digest is named by its number, not {text!r}")
    return int(text)


@route(blueprint, "/audit/ledger-check", roles=AUDITORS, query=CheckQuery, answer=CheckPage)
def check_ledger(call: Call) -> Any:
    """Check up to ``limit`` accounts, transfers or published heads of the whole ledger (or
    one court's) and report every break; pass ``cursor`` back to carry on until ``done``.
    A court's check is for those who see that court; the whole ledger's, system accounts
    included, for those who oversee every province."""
    from chalicelib.audit.check import court_prefix

    query: CheckQuery = call.query
    if query.court is None:
        check_every_court(call.actor, "the whole-ledger check")
    elif court_prefix(query.court) and not call.actor.sees(query.court):
        raise CourtNotYours(f"you neither belong to nor oversee court {query.court}")
    return wiring.ledger_check().page(court=query.court, cursor=query.cursor, budget=query.limit)


@route(
    blueprint, "/audit/digests", methods=["POST"], roles=PUBLISHERS, status=201, answer=SignedDigest
)
def publish_digest(call: Call) -> Any:
    """Publish a digest now, besides the daily one. It signs the heads of every court's
    accounts, so it is for those who oversee every province."""
    check_every_court(call.actor, "a digest")
    return wiring.digest_publisher().publish()


@route(blueprint, "/audit/latest-digest", roles=AUDITORS, answer=DigestShown)
def latest_digest(call: Call) -> Any:
    """The latest signed digest and the public key that verifies it."""
    publisher = wiring.digest_publisher()
    latest = publisher.latest()
    if latest is None:
        raise DigestNotFound("no digest has been published yet")
    return {"digest": latest, "public_key": publisher.public_key_pem()}


@route(blueprint, "/audit/digests/{number}", roles=AUDITORS, answer=DigestShown)
def get_digest(call: Call, number: str) -> Any:
    publisher = wiring.digest_publisher()
    return {"digest": publisher.number(_number(number)), "public_key": publisher.public_key_pem()}


@route(blueprint, "/audit/digests/{number}/proofs/{account_id}", roles=AUDITORS, answer=ProofShown)
def inclusion_proof(call: Call, number: str, account_id: str) -> Any:
    """Proof that one account's head is in a digest, checkable with the public key alone."""
    publisher = wiring.digest_publisher()
    which, account = _number(number), "".join(unquote(account_id).split())
    hidden = DigestNotFound(f"digest {which} holds no account {account}")
    call.actor.check_accounts([account], hidden_as=hidden)
    proof = publisher.proof(which, account)
    return {"proof": proof, "public_key": publisher.public_key_pem()}


def _time_left(context: Any) -> Callable[[], float]:
    """Seconds the invocation has left (unbounded where no Lambda context tells)."""
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    if remaining is None:
        return lambda: float("inf")
    return lambda: remaining() / 1000


def _outcome(result: Any) -> dict[str, Any]:
    return cast(dict[str, Any], result.model_dump(mode="json"))


# 18:00 UTC is 02:00 in China, when courts post little.
@blueprint.schedule(Cron(0, 18, "*", "*", "?", "*"))
def daily_ledger_check(event: Any) -> dict[str, Any]:
    """Check the whole ledger against the latest digest; a break is logged and raises the
    ``LedgerBreaks`` alarm. Only a clean ledger gets a new digest, so a tampering found today
    is never anchored as the truth tomorrow. A ledger too large for one invocation goes on in
    ``continue_ledger_check``."""
    return _outcome(wiring.daily_ledger_check().start(_time_left(event.context)))


@blueprint.lambda_function(name="continue_ledger_check")
def continue_ledger_check(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """The next slice of a daily run, from the cursor the slice before handed over."""
    from chalicelib.audit.daily import DailyRun

    run = DailyRun.model_validate(event["daily_run"])
    return _outcome(wiring.daily_ledger_check().resume(run, _time_left(context)))

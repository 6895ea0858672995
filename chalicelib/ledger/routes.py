"""Ledger routes: balances, statements and proofs for staff, and corrections under four eyes.

Money coming into a case goes through collection, which posts it here and counts it toward the
case: unidentified money is claimed from its queue (``claim_unidentified``) and counter cash is
entered there (``enter_counter_cash``)."""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote

from chalice.app import Blueprint, Rate, Response

from chalicelib.answers import AnswerBody
from chalicelib.http import Call, json_response, route
from chalicelib.identity import READERS, Principal, Role
from chalicelib.ledger.errors import AccountNotFound, ProposalNotFound, TransferNotFound
from chalicelib.ledger.models import (
    AccountBalance,
    BalanceQuery,
    CorrectionProposal,
    PageQuery,
    ProposeCorrection,
    RejectCorrection,
    Statement,
    StatementQuery,
    Transfer,
    VerifyReport,
)
from chalicelib.wiring import ledger_service

blueprint = Blueprint(__name__)

EXPIRE_EVERY_MINUTES = 5
VERIFIERS = (Role.AUDITOR, Role.FINANCE, Role.ADMIN)


class OpenCorrections(AnswerBody):
    """A page of proposals waiting for finance; ``cursor`` goes on to the next."""

    proposals: list[CorrectionProposal]
    cursor: str | None


def _account(typed: str) -> str:
    # Case account numbers are typed in groups ("4406 0426 ..."); the path carries them encoded.
    return "".join(unquote(typed).split())


def _scoped_account(principal: Principal, typed: str) -> str:
    """The account, if it is a system account or a case account of a court the caller sees;
    another court's account answers as a missing one."""
    account = _account(typed)
    hidden = AccountNotFound(f"no ledger account {account}", account_id=account)
    principal.check_accounts([account], hidden_as=hidden)
    return account


def _scoped_proposal(principal: Principal, proposal_id: str, *, act: bool) -> None:
    proposal = ledger_service().proposal(proposal_id)
    hidden = ProposalNotFound(f"no correction proposal {proposal_id}")
    accounts = [proposal.debit_account, proposal.credit_account]
    principal.check_accounts(accounts, act=act, hidden_as=hidden)


def _visible(principal: Principal, proposal: CorrectionProposal) -> bool:
    return principal.sees_accounts([proposal.debit_account, proposal.credit_account])


def _created(transfer: Transfer, location: str) -> Response:
    return json_response(transfer, status=201, headers={"Location": location})


@route(
    blueprint,
    "/ledger/accounts/{account_id}/balance",
    roles=READERS,
    query=BalanceQuery,
    answer=AccountBalance,
)
def account_balance(call: Call, account_id: str) -> Any:
    """The balance now, or as it stood at ``?at=`` (an ISO time with a zone)."""
    query: BalanceQuery = call.query
    if query.at is not None:
        return ledger_service().balance_at(_scoped_account(call.actor, account_id), query.at)
    return ledger_service().balance(_scoped_account(call.actor, account_id))


@route(
    blueprint,
    "/ledger/accounts/{account_id}/statement",
    roles=READERS,
    query=StatementQuery,
    answer=Statement,
)
def account_statement(call: Call, account_id: str) -> Any:
    """Entries between ``start`` and ``end`` with running balances, a page at a time."""
    query: StatementQuery = call.query
    return ledger_service().statement(
        _scoped_account(call.actor, account_id),
        start=query.start,
        end=query.end,
        limit=query.limit,
        cursor=query.cursor,
    )


@route(blueprint, "/ledger/accounts/{account_id}/verify", roles=VERIFIERS, answer=VerifyReport)
def verify_account(call: Call, account_id: str) -> Any:
    """Recompute the account's hash chain and balances and report the first break."""
    return ledger_service().verify(_scoped_account(call.actor, account_id))


@route(blueprint, "/ledger/transfers/{transfer_id}", roles=READERS, answer=Transfer)
def get_transfer(call: Call, transfer_id: str) -> Any:
    transfer = ledger_service().get_transfer(unquote(transfer_id))
    hidden = TransferNotFound(f"no transfer {transfer.id}", transfer_id=transfer.id)
    call.actor.check_accounts([leg.account_id for leg in transfer.legs], hidden_as=hidden)
    return transfer


@route(
    blueprint,
    "/ledger/corrections",
    methods=["POST"],
    roles=[Role.CLERK],
    body=ProposeCorrection,
    answer={201: CorrectionProposal},
)
def propose_correction(call: Call) -> Response:
    """A clerk proposes a correction; finance posts it. Nothing moves until then."""
    body: ProposeCorrection = call.body
    debit, credit = _account(body.debit_account), _account(body.credit_account)
    for account in (debit, credit):
        hidden = AccountNotFound(f"no ledger account {account}", account_id=account)
        call.actor.check_accounts([account], act=True, hidden_as=hidden)
    proposal = ledger_service().propose_correction(
        body.id,
        debit_account=debit,
        credit_account=credit,
        amount=body.amount,
        reason=body.reason,
        proposed_by=call.actor.actor,
        subject=call.actor.subject,
    )
    return json_response(
        proposal, status=201, headers={"Location": f"/ledger/corrections/{proposal.id}"}
    )


@route(blueprint, "/ledger/corrections", roles=READERS, query=PageQuery, answer=OpenCorrections)
def open_corrections(call: Call) -> OpenCorrections:
    """Proposals waiting for finance, oldest first, of the courts the caller sees (a page
    may then hold fewer than ``limit``; the cursor goes on)."""
    query: PageQuery = call.query
    proposals, cursor = ledger_service().open_proposals(limit=query.limit, cursor=query.cursor)
    seen = [p for p in proposals if _visible(call.actor, p)]
    return OpenCorrections(proposals=seen, cursor=cursor)


@route(blueprint, "/ledger/corrections/{proposal_id}", roles=READERS, answer=CorrectionProposal)
def get_correction(call: Call, proposal_id: str) -> Any:
    _scoped_proposal(call.actor, proposal_id, act=False)
    return ledger_service().proposal(proposal_id)


@route(
    blueprint,
    "/ledger/corrections/{proposal_id}/post",
    methods=["POST"],
    roles=[Role.FINANCE],
    answer={201: Transfer},
)
def post_correction(call: Call, proposal_id: str) -> Response:
    """Finance posts a proposed correction; the proposer may not post their own."""
    _scoped_proposal(call.actor, proposal_id, act=True)
    transfer = ledger_service().post_correction(
        proposal_id, posted_by=call.actor.actor, subject=call.actor.subject
    )
    return _created(transfer, f"/ledger/transfers/{transfer.id}")


@route(
    blueprint,
    "/ledger/corrections/{proposal_id}/reject",
    methods=["POST"],
    roles=[Role.FINANCE],
    body=RejectCorrection,
    answer=CorrectionProposal,
)
def reject_correction(call: Call, proposal_id: str) -> Any:
    body: RejectCorrection = call.body
    _scoped_proposal(call.actor, proposal_id, act=True)
    return ledger_service().reject_correction(
        proposal_id, rejected_by=call.actor.actor, subject=call.actor.subject, reason=body.reason
    )


@blueprint.schedule(Rate(EXPIRE_EVERY_MINUTES, unit=Rate.MINUTES))
def expire_pending_transfers(event: Any) -> dict[str, int]:
    """Release every reservation whose timeout has passed, exactly once each."""
    return {"expired": ledger_service().expire_pending()}

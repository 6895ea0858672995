"""Errors of the cases capability."""

from __future__ import annotations

from chalicelib.problems import BadRequest, Conflict, NotFound, ProblemError, ValidationFailed


class CaseError(ProblemError):
    """Base of every case error."""


class CaseNotFound(CaseError, NotFound):
    slug = "cases/not-found"
    title = "No such case"


class InvalidAccountNumber(CaseError, ValidationFailed):
    slug = "cases/invalid-account-number"
    title = "The case account number is not valid"


class CourtNameMismatch(CaseError, ValidationFailed):
    slug = "cases/court-name-mismatch"
    title = "The court name does not match the court code"


class DuplicateCaseNumber(CaseError, Conflict):
    slug = "cases/duplicate-case-number"
    title = "A different case with this case number exists"


class StatusChangeRefused(CaseError, Conflict):
    slug = "cases/status-change-refused"
    title = "The case cannot move to that status"


class InvalidCursor(CaseError, BadRequest):
    slug = "cases/invalid-cursor"
    title = "The page cursor is not valid"


class CreditorNotFound(CaseError, NotFound):
    slug = "cases/creditor-not-found"
    title = "The case has no such creditor"


class AccountHolderMismatch(CaseError, ValidationFailed):
    slug = "cases/account-holder-mismatch"
    title = "The account holder's name does not match the creditor's"


class AccountChangeRefused(CaseError, Conflict):
    slug = "cases/account-change-refused"
    title = "The receiving account cannot be changed now"


class ReceivingAccountInUse(CaseError, Conflict):
    slug = "cases/receiving-account-in-use"
    title = "A disbursement to this creditor is under way"


class NoAccountChangeWaiting(CaseError, Conflict):
    slug = "cases/no-account-change-waiting"
    title = "No change of this creditor's receiving account waits for a decision"

"""Opening, finding, listing and changing the status of cases: the rules, over the cases store.

The item layout and every DynamoDB call live in ``chalicelib.cases.store``.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from chalicelib.cases import identifiers
from chalicelib.cases.errors import (
    CaseNotFound,
    CourtNameMismatch,
    DuplicateCaseNumber,
    InvalidAccountNumber,
    StatusChangeRefused,
)
from chalicelib.cases.models import (
    ALLOWED_CHANGES,
    Case,
    CaseEvent,
    CaseStatus,
    ListQuery,
    OpenCase,
    Party,
    ReceivingAccount,
)
from chalicelib.cases.store import CasesStore
from chalicelib.clock import Clock
from chalicelib.courts import court_region_digits
from chalicelib.problems import FieldProblem, ServiceUnavailable

OpenAccount = Callable[[str, str, str], object]  # (account number, case id, currency)


@dataclass(frozen=True)
class CasePage:
    cases: list[Case]
    cursor: str | None


def _digest(request: OpenCase) -> str:
    canonical = json.dumps(request.model_dump(mode="json"), sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


class CaseService:
    def __init__(self, store: CasesStore, clock: Clock, open_account: OpenAccount) -> None:
        self._store = store
        self._clock = clock
        self._open_account = open_account

    # --- reading -------------------------------------------------------------------------

    def get(self, case_id: str) -> Case:
        case = self._store.case(case_id)
        if case is None:
            raise CaseNotFound(f"there is no case {case_id}")
        return case

    def case_read(self, case_id: str) -> tuple[str, dict[str, Any]]:
        """Where the case is stored, for one batch read with another capability's items."""
        return self._store.case_read(case_id)

    def case_of(self, item: dict[str, Any]) -> Case:
        """The case in an item read through ``case_read``."""
        return self._store.case_of(item)

    def find_by_account_number(self, number: str) -> Case:
        """The case behind a typed case account number; a mistyped one is refused."""
        try:
            digits = identifiers.normalise_account_number(number)
        except ValueError as error:
            raise InvalidAccountNumber(str(error)) from error
        case_id = self._store.case_id_by_account(digits)
        if case_id is None:
            raise CaseNotFound("no case has this account number")
        return self.get(case_id)

    def history(self, case_id: str) -> list[CaseEvent]:
        self.get(case_id)
        return self._store.events(case_id)

    def list(self, query: ListQuery) -> CasePage:
        cases, cursor = self._store.page(
            query.court, query.status, limit=query.limit, cursor=query.cursor
        )
        return CasePage(cases=cases, cursor=cursor)

    # --- writing -------------------------------------------------------------------------

    def open(self, request: OpenCase, *, actor: str) -> tuple[Case, bool]:
        """Open a case and its account. Filing the same case again returns the case already
        open (``created`` False); another case under the same number is refused."""
        digest = _digest(request)
        existing = self._store.case_id_by_number(request.case_number)
        if existing is not None:
            return self._replayed(existing, digest), False
        # Every check that can refuse runs before the first write: a refused filing stores
        # nothing, not even a spent serial.
        self._check_court_name(request.court_code, request.court_name)
        now = self._clock.now()
        number = identifiers.parse_case_number(request.case_number)
        account = identifiers.make_account_number(
            request.court_code, number.year, self._next_serial(request.court_code, number.year)
        )
        case_id = "c" + uuid.uuid4().hex[:20]
        parties = [
            Party(
                party_id=f"p{index}",
                role=p.role,
                name=p.name,
                type=p.type,
                id_number=p.id_number.upper(),
                phone=p.phone,
                receiving_account=(
                    ReceivingAccount(
                        **p.receiving_account.model_dump(), confirmed_at=now, confirmed_by=actor
                    )
                    if p.receiving_account
                    else None
                ),
            )
            for index, p in enumerate(request.parties, start=1)
        ]
        case = Case(
            case_id=case_id,
            case_number=request.case_number,
            court_code=request.court_code,
            court_name=request.court_name,
            account_number=account,
            fund_types=request.fund_types,
            adjudicated_amount=request.adjudicated_amount,
            currency=request.currency,
            status=CaseStatus.OPEN,
            parties=parties,
            opened_at=now,
            opened_by=actor,
            updated_at=now,
            version=1,
            request_digest=digest,
        )
        event = CaseEvent(
            case_id=case_id,
            sequence=1,
            at=now,
            actor=actor,
            action="opened",
            details={"account_number": account, "status": CaseStatus.OPEN.value},
        )
        if not self._store.create(case, event):
            winner = self._store.case_id_by_number(request.case_number)
            if winner is None:
                raise ServiceUnavailable("the case could not be saved; try again")
            return self._replayed(winner, digest), False
        self._open_account(account, case_id, case.currency)
        return case, True

    def change_status(self, case_id: str, status: CaseStatus, *, reason: str, actor: str) -> Case:
        case = self.get(case_id)
        if status not in ALLOWED_CHANGES[case.status]:
            raise StatusChangeRefused(
                f"a {case.status.value} case cannot become {status.value}",
                current_status=case.status.value,
            )
        now = self._clock.now()
        changed = case.model_copy(
            update={"status": status, "updated_at": now, "version": case.version + 1}
        )
        event = CaseEvent(
            case_id=case_id,
            sequence=changed.version,
            at=now,
            actor=actor,
            action="status_changed",
            reason=reason,
            details={"from": case.status.value, "to": status.value},
        )
        concluded = status == CaseStatus.CONCLUDED
        saved = self._store.save_changed(
            changed, event, expected_version=case.version, concluded=concluded
        )
        if not saved:
            raise StatusChangeRefused(
                "the case was changed by someone else at the same moment; reload and retry"
            )
        return changed

    def concluded_to_follow(self, *, limit: int) -> tuple[str, ...]:
        """Ids of cases concluded and not yet followed up (the money they still hold is to be
        drafted back), longest waiting first."""
        return tuple(self._store.concluded_to_follow(limit=limit))

    def concluded_followed(self, case_id: str) -> None:
        self._store.concluded_followed(case_id)

    def concluded_later(self, case_id: str) -> None:
        """Follow the case up after the others waiting now (its follow-up failed)."""
        self._store.concluded_later(case_id, at=self._clock.now())

    # --- helpers -------------------------------------------------------------------------

    def _replayed(self, case_id: str, digest: str) -> Case:
        case = self.get(case_id)
        if case.request_digest != digest:
            raise DuplicateCaseNumber(
                f"case {case.case_number} is already open with other details",
                case_id=case.case_id,
            )
        # The first filing may have stopped before its account was opened; opening is idempotent.
        self._open_account(case.account_number, case.case_id, case.currency)
        return case

    def _check_court_name(self, court_code: str, court_name: str) -> None:
        """A court has one name: the one its cases already carry (the public page shows it)."""
        cases, _ = self._store.page(court_code, None, limit=1, cursor=None)
        for known in (case.court_name for case in cases):
            if known != court_name:
                raise CourtNameMismatch(
                    f"court {court_code} is {known}, not {court_name}",
                    errors=[
                        FieldProblem(pointer="/court_name", detail=f"court {court_code} is {known}")
                    ],
                )

    def _next_serial(self, court_code: str, year: int) -> int:
        region = court_region_digits(court_code)
        return self._store.next_serial(f"{region}{year % 100:02d}")

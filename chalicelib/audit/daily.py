"""The daily whole-ledger check and digest, spread over as many Lambda invocations as the
ledger needs: each checks pages until little of its time is left, then hands the check's
cursor to the next invocation, so a large ledger never meets the Lambda timeout half-way.

Breaks are logged as each slice finds them; the ``LedgerBreaks`` metric is written once, by
the slice that finishes the run. A run whose hand-over was lost therefore writes no metric
that day, and the alarm treats missing data as a break. Only a clean run publishes a digest.
"""

from __future__ import annotations

import json
import logging
import secrets
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from pydantic import BaseModel, ConfigDict, Field

from chalicelib.audit.alarm import log_break, metric_line

if TYPE_CHECKING:
    from chalicelib.audit.check import LedgerCheck
    from chalicelib.clock import Clock

log = logging.getLogger(__name__)

PAGE = 100  # accounts or transfers per page: a page takes seconds, not minutes
RESERVE_SECONDS = 120.0  # left for one more page and the hand-over; then the next slice goes on

TimeLeft = Callable[[], float]  # seconds this invocation has left


class DailyRun(BaseModel):
    """Where a daily run stands between two invocations: the check's cursor (which carries
    the running totals and the breaks found so far) and the accounts checked."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    run_id: str = Field(pattern=r"^[0-9]{8}-[0-9a-f]{8}$")
    started_at: datetime
    slice: int = Field(default=1, ge=1)
    cursor: str | None = Field(default=None, max_length=8192)  # None: from the start
    accounts: int = Field(default=0, ge=0)
    breaks: int = Field(default=0, ge=0)


class DailyOutcome(BaseModel):
    model_config = ConfigDict(frozen=True)

    run_id: str
    slices: int
    breaks: int
    accounts: int
    digest: int  # the digest published, 0 if none


class Continuation(Protocol):
    """Starts the next slice of a run somewhere else: the continuation Lambda, invoked
    asynchronously, in deployed stages."""

    def hand_over(self, run: DailyRun) -> None: ...


class LambdaContinuation:
    def __init__(self, client: Any, function_name: str) -> None:
        self.client = client
        self.function_name = function_name

    def hand_over(self, run: DailyRun) -> None:
        # an asynchronous invocation: Lambda keeps the event (and so the cursor) and retries it
        self.client.invoke(
            FunctionName=self.function_name,
            InvocationType="Event",
            Payload=json.dumps({"daily_run": run.model_dump(mode="json")}).encode(),
        )


class DailyLedgerCheck:
    def __init__(
        self,
        check: LedgerCheck,
        clock: Clock,
        *,
        stage: str,
        continuation: Continuation | None,
        publish: Callable[[], int] | None,
        page: int = PAGE,
        reserve_seconds: float = RESERVE_SECONDS,
    ) -> None:
        self.check = check
        self.clock = clock
        self.stage = stage
        self.continuation = continuation  # None: the whole run in this process (local stack)
        self.publish = publish  # None: this stage publishes no digests
        self.page = page
        self.reserve_seconds = reserve_seconds

    def start(self, time_left: TimeLeft) -> DailyOutcome | DailyRun:
        now = self.clock.now()
        return self._slice(
            DailyRun(run_id=f"{now:%Y%m%d}-{secrets.token_hex(4)}", started_at=now), time_left
        )

    def resume(self, run: DailyRun, time_left: TimeLeft) -> DailyOutcome | DailyRun:
        log.info("daily ledger check %s: slice %d", run.run_id, run.slice)
        return self._slice(run, time_left)

    def _slice(self, run: DailyRun, time_left: TimeLeft) -> DailyOutcome | DailyRun:
        cursor, accounts, breaks = run.cursor, run.accounts, run.breaks
        while True:
            page = self.check.page(cursor=cursor, budget=self.page)
            for found in page.breaks:
                log_break(found)
            accounts += page.accounts_checked
            breaks += len(page.breaks)
            if page.cursor is None:
                return self._finish(run.run_id, run.slice, accounts, breaks)
            cursor = page.cursor
            if self.continuation is not None and time_left() < self.reserve_seconds:
                following = run.model_copy(
                    update={
                        "slice": run.slice + 1,
                        "cursor": cursor,
                        "accounts": accounts,
                        "breaks": breaks,
                    }
                )
                self.continuation.hand_over(following)
                log.info("daily ledger check %s goes on in slice %d", run.run_id, following.slice)
                return following

    def _finish(self, run_id: str, slices: int, accounts: int, breaks: int) -> DailyOutcome:
        print(
            metric_line(stage=self.stage, breaks=breaks, accounts=accounts, clock=self.clock),
            flush=True,
        )
        published = 0
        if breaks:
            log.error("no digest published: the ledger check found %d breaks", breaks)
        elif self.publish is not None:
            published = self.publish()
        return DailyOutcome(
            run_id=run_id, slices=slices, breaks=breaks, accounts=accounts, digest=published
        )

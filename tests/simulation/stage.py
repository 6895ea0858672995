"""The simulation's stage: moto with the tables, and a court already at work, built once per
process and restored for every run.

Setting up is most of a short run's cost, so the starting point is made once through the real
services and copied back before each seed (moto's tables, the payment rail's state, the outbox):
the system accounts, two cases, each creditor's reference photo enrolled, each case paid online
(the events delivered), counter cash on the first case, and an approved disbursement to its
creditor with the claim link sent. A run of three operations then starts where refunds, face
checks, deferrals and releases have something to act on, instead of spending its steps on
getting there.
"""

from __future__ import annotations

import copy
import os
import random
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

from chalicelib import wiring
from chalicelib.clock import FixedClock
from chalicelib.ledger import LedgerService
from tests.simulation.rails import SimPaymentRail, SimPayoutRail, sign
from tests.simulation.simulator import (
    CASES,
    CLERK,
    OWED,
    SHARDS,
    START,
    DynamoFaults,
    World,
)
from tests.simulation.verifier import CREDITOR_FACE, SimFaceVerifier

SET_UP_AT = START - timedelta(days=3)  # the Friday before the runs start
PAID_ONLINE = (150_000, 90_000)  # what each case's debtor paid online before the runs
CASH = 50_000  # counter cash on the first case
DISBURSED = 60_000  # approved for the first case's creditor, waiting for release
GRANT_KEY = "simulation-face-grant-key-0123456789abcdef"
LOCK_CONTACTS = '{"*": ["13900000009"]}'  # told when a claim locks after failed face checks
_ENV = ("NOTIFY_OUTBOX_DIR", "SECRETS_DIR", "FACE_LOCK_CONTACTS")


class Stage:
    """Moto with the tables and the starting court, and copies of it to restore."""

    def __init__(self) -> None:
        from moto import mock_aws

        from infra.buckets import bucket_names, create_buckets
        from infra.tables import create_tables, table_names

        self._mock = mock_aws()
        self._mock.start()
        self._folder = tempfile.TemporaryDirectory()
        folder = Path(self._folder.name)
        self.outbox = folder / "outbox"
        secrets = folder / "secrets"
        secrets.mkdir()
        (secrets / "face-grant-key").write_text(GRANT_KEY, encoding="utf-8")
        self._env_before = {name: os.environ.get(name) for name in _ENV}
        os.environ.update(
            {
                "NOTIFY_OUTBOX_DIR": str(self.outbox),
                "SECRETS_DIR": str(secrets),
                "FACE_LOCK_CONTACTS": LOCK_CONTACTS,
            }
        )
        wiring.reset()
        self.clock = FixedClock(SET_UP_AT)
        self.verifier = SimFaceVerifier()
        wiring.override(clock=self.clock, face_verifier=self.verifier)
        self.client = wiring.dynamodb()
        create_tables(self.client, table_names("test"))
        self.s3 = wiring.s3()
        create_buckets(self.s3, bucket_names("test"))
        # Two shards per system account, not the stage's eight: the run still posts across
        # shards, and moto, which copies a table for every transaction, stays quick. Kept
        # across runs: it remembers that the system accounts exist (they are in the snapshot).
        self.ledger = LedgerService(
            self.client, wiring.settings().ledger_table, self.clock, system_shards=SHARDS
        )
        self.faults = DynamoFaults(self.client)
        self.rail = SimPaymentRail(self.clock, random.Random(0))
        wiring.override(ledger=self.ledger, payment_rail=self.rail)
        self.start = World(
            random.Random(0), self.clock, self.rail, SimPayoutRail(self.clock), self.faults,
            self.outbox, self.verifier,
        )  # fmt: skip
        self._set_up(self.start)
        self._snapshot = copy.deepcopy(self._backend().tables)
        self._notices = (self.outbox / "notifications.jsonl").read_bytes()

    def _set_up(self, w: World) -> None:
        """The court at work before the runs, through the services as the routes call them."""
        from chalicelib.cases.models import OpenCase
        from tests.cases.factories import filing
        from tests.simulation import invariants, operations
        from tests.simulation.simulator import Op

        self.ledger.ensure_system_accounts()
        for serial in range(CASES):
            body = OpenCase.model_validate(filing(7000 + serial, adjudicated_amount=OWED))
            case = wiring.case_service().open(body, actor=CLERK.subject)[0]
            w.cases.append(case)
            creditor = next(p.party_id for p in case.parties if p.role.value == "creditor")
            wiring.reference_photos().enrol(
                case.case_id, creditor, CREDITOR_FACE, actor=CLERK.subject
            )
        for serial, amount in enumerate(PAID_ONLINE):
            operations.start_payment(w, Op("start_payment", serial), amount=amount)
            operations.confirm_card(w, Op("confirm_card", 0))
        for event in w.rail.events:
            operations.deliver(event, sign(event))
        w.delivered = list(w.rail.events)
        operations.counter_cash(w, Op("counter_cash", 0), amount=CASH)
        operations.propose_disbursement(w, Op("propose_disbursement", 0), amount=DISBURSED)
        operations.approve_disbursement(w, Op("approve_disbursement", 0))
        # the payments' sweeper has run since, so a run's first sweep starts from its mark
        self.clock.advance(timedelta(hours=1))
        wiring.collection_service().sweep()
        w.faults.touched |= {a.account_number for a in w.cases}
        broken = invariants.after_step(w)
        assert broken is None, f"the starting court is not sound: {broken}"

    def _backend(self) -> Any:
        from moto.core import DEFAULT_ACCOUNT_ID
        from moto.dynamodb.models import dynamodb_backends

        return dynamodb_backends[DEFAULT_ACCOUNT_ID][self.client.meta.region_name]

    def restore(self) -> None:
        self._backend().tables = copy.deepcopy(self._snapshot)
        if self.outbox.exists():
            shutil.rmtree(self.outbox)
        self.outbox.mkdir(parents=True)
        (self.outbox / "notifications.jsonl").write_bytes(self._notices)
        self.faults.disarm()
        self.faults.fired = 0
        self.faults.touched.clear()
        self.verifier.armed = None

    def close(self) -> None:
        wiring.reset()
        self._mock.stop()
        self._folder.cleanup()
        for name, value in self._env_before.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


_STAGE: Stage | None = None


def stage() -> Stage:
    global _STAGE  # noqa: PLW0603 - one stage per process, built on first use
    if _STAGE is None:
        _STAGE = Stage()
    return _STAGE


def close_stage() -> None:
    """Stop the stage's moto mock, so tests that run later talk to their own mocks and servers."""
    global _STAGE  # noqa: PLW0603
    if _STAGE is not None:
        _STAGE.close()
        _STAGE = None


@contextmanager
def world(seed: int) -> Iterator[World]:
    """The stage as it was set up, with fresh services, clock and rails for one run."""
    built = stage()
    built.restore()
    clock = built.clock
    clock.set(START)
    # The ledger's cache of account states belongs to the tables just replaced: a run starts
    # as a fresh Lambda would, or the same seed would not replay the same way.
    built.ledger.cache.clear()
    rail = built.rail.copy(clock, random.Random(seed + 1))
    payouts = SimPayoutRail(clock)
    wiring.reset()
    wiring.override(
        clock=clock,
        payment_rail=rail,
        payout_rail=payouts,
        dynamodb=built.client,
        s3=built.s3,
        ledger=built.ledger,
        face_verifier=built.verifier,
    )
    start = built.start
    w = World(
        random.Random(seed), clock, rail, payouts, built.faults, built.outbox, built.verifier,
        cases=list(start.cases), payment_ids=list(start.payment_ids),
        delivered=list(start.delivered), disbursements=list(start.disbursements),
        cash_entries=start.cash_entries, cash=list(start.cash),
        balances=dict(start.balances),
    )  # fmt: skip
    try:
        yield w
    finally:
        wiring.reset()

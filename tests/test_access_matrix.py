"""The access matrix (``tests/access_matrix.py``) held against the app: every route with no
token, with each role, and with a token of another court, on one app with one record of each
kind at court 粤0604, made once."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from moto import mock_aws

from app import app as chalice_app
from chalicelib import route_map, wiring
from chalicelib.clock import FixedClock
from chalicelib.http import ROUTES
from chalicelib.identity import Principal, Role
from infra.local_auth import LocalSigner
from infra.tables import create_tables, table_names
from tests.access_matrix import MATRIX, Row, Scope
from tests.cases.factories import filing
from tests.conftest import NATIONWIDE, PROJECT_ROOT, START, write_secrets

route_map.load_all()  # a capability's routes join the registry when it is loaded

COURT = "粤0604"
OTHER_COURT = "粤0605"
CLERK = Principal("clerk-records", "clerk-records", frozenset({Role.CLERK}), frozenset({COURT}))
FINANCE = Principal("finance-records", "fin", frozenset({Role.FINANCE}), frozenset({COURT}))
REFUSALS = ("identity/role-not-allowed", "identity/court-not-yours", "identity/not-signed-in")


def key(method: str, path: str) -> str:
    return f"{method} {path}"


@dataclass
class App:
    client: Any
    signer: LocalSigner
    records: dict[str, str]

    def headers(self, *roles: str, courts: tuple[str, ...], **claims: Any) -> dict[str, str]:
        subject = f"matrix-{'-'.join(roles)}-{courts[0] if courts else 'none'}"
        value = self.signer.token(*roles, subject=subject, name=subject, courts=courts, **claims)
        return {"Authorization": f"Bearer {value}", "Content-Type": "application/json"}

    def fill(self, text: str) -> str:
        return re.sub(r"\{(\w+)\}", lambda m: self.records.get(m.group(1), "unknown1"), text)

    def send(self, path: str, method: str, row: Row, headers: dict[str, str]) -> Any:
        target = self.fill(path) + (f"?{self.fill(row.query)}" if row.query else "")
        if row.raw is not None:
            headers = {**headers, "Content-Type": "image/jpeg"}
            return self.client.request(method, target, headers=headers, body=row.raw)
        body = row.body
        if body.get("$filing"):
            body = filing(4321)
        raw = self.fill(json.dumps(body, ensure_ascii=False)).encode()
        return self.client.request(method, target, headers=headers, body=raw)


def _problem_type(answer: Any) -> str:
    if not answer.headers.get("Content-Type", "").startswith("application/problem+json"):
        return ""
    return str(json.loads(answer.body).get("type", ""))


def _make_records(client: Any, signer: LocalSigner, clock: FixedClock, outbox: Path) -> App:
    """One record of each kind at court 粤0604, through the services the routes call."""
    from chalicelib.approvals import ChainKind
    from chalicelib.collection.models import ClaimStatus, UnidentifiedPayment
    from chalicelib.identity.face_decisions import Outcome
    from chalicelib.money import Money
    from chalicelib.payouts.bodies import ProposeDisbursement
    from chalicelib.refunds.models import ReasonCode, RequestRefund, SourceKind
    from infra.audit import create_digest_bucket, create_exports_bucket
    from infra.buckets import bucket_names, create_buckets
    from tests.identity.test_grants import BINDING, Always, Photos
    from tests.payouts.conftest import fund
    from tests.reconciliation.conftest import BookingRail

    app = App(client, signer, {})
    clerk = app.headers("clerk", courts=(COURT,))
    case = json.loads(client.post("/cases", headers=clerk, body=json.dumps(filing())).body)
    found = wiring.case_service().get(case["case_id"])
    fund(found, 1_000_000)
    creditor = next(p.party_id for p in found.parties if p.role.value == "creditor")

    desk = wiring.counter_cash_desk()
    desk.enter(
        id="cash-matrix",
        account_number=found.account_number,
        amount=50_000,
        receipt_no="GD-MATRIX-1",
        received_at=clock.now() - timedelta(minutes=10),
        by=CLERK,
    )
    cash = desk.confirm("cash-matrix", by=FINANCE)
    approval = wiring.approval_service().open(
        ChainKind.REFUND, "r-matrix", court=COURT, amount=Money(100), requester=CLERK
    )
    refund = wiring.refund_service().request(
        RequestRefund(
            source_kind=SourceKind.COUNTER_CASH,
            source_reference="cash-matrix",
            amount=1_000,
            reason_code=ReasonCode.OVERPAYMENT,
        ),
        by=CLERK,
    )
    disbursement = wiring.disbursement_workflow().propose(
        found.case_id, ProposeDisbursement(creditor_party_id=creditor, amount=10_000), by=CLERK
    )
    correction = {
        "id": "fix-matrix",
        "debit_account": "SYS-UNIDENTIFIED-CNY",
        "credit_account": found.account_number,
        "amount": 100,
        "reason": "误入不明款",
    }
    proposal = json.loads(
        client.post("/ledger/corrections", headers=clerk, body=json.dumps(correction)).body
    )
    wiring.collection_service().store.add_unidentified(
        UnidentifiedPayment(
            reference="pi_matrix0001",
            rail="stripe",
            amount=2_000,
            currency="CNY",
            received_at=clock.now() - timedelta(days=1),
            status=ClaimStatus.OPEN,
            why="no case in the payment's metadata",
            receipt_transfer_id="unidentified:stripe:pi_matrix0001",
        )
    )
    wiring.claim_desk().propose(
        "pi_matrix0001", account_number=found.account_number, reason="付款人来电", by=CLERK
    )
    checks = wiring.face_checks()
    checks._photos = Photos()
    checks._verifier = lambda: Always(Outcome.NO_MATCH)
    checks.check(replace(BINDING, disbursement_id=disbursement.disbursement_id), b"x", court=COURT)

    kms = wiring.kms()
    kms_key = kms.create_key(KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY")["KeyMetadata"]
    create_digest_bucket(wiring.s3(), "courtfunds-test-digests", retention_days=30)
    create_exports_bucket(wiring.s3(), "courtfunds-test-exports")
    create_buckets(wiring.s3(), bucket_names("test"))
    reviews = wiring.face_reviews()
    reviews._photos = Photos()
    review = reviews.request(
        replace(BINDING, disbursement_id=disbursement.disbursement_id),
        b"\xff\xd8\xff\xe0 the creditor's selfie",
        court=COURT,
        case_number=found.case_number,
        proposed_by="matrix-proposer",
    )
    os.environ.update(
        {
            "AUDIT_BUCKET": "courtfunds-test-digests",
            "DIGEST_KMS_KEY_ID": kms_key["KeyId"],
            "EXPORTS_BUCKET": "courtfunds-test-exports",
            "MONITORED_COURTS": json.dumps([COURT, OTHER_COURT]),
            "NOTIFY_OUTBOX_DIR": str(outbox),
        }
    )
    from chalicelib.exports import ExportRequest

    wiring.override(settings=__import__("chalicelib.settings").settings.load())
    wiring.override(payment_rail=BookingRail())
    digest = wiring.digest_publisher().publish()
    job = wiring.export_service().request(
        ExportRequest.model_validate(
            {
                "kind": "statement",
                "account": found.account_number,
                "start": "2026-01-01T00:00:00Z",
                "end": "2027-01-01T00:00:00Z",
            }
        ),
        requested_by="auditor-records",
    )
    app.records = {
        "case_id": found.case_id,
        "case_number": found.case_number,
        "account_number": found.account_number,
        "account_id": found.account_number,
        "party_id": creditor,
        "creditor_id": creditor,
        "entry_id": "cash-matrix",
        "transfer_id": cash.transfer_id,
        "approval_id": approval.id,
        "refund_id": refund.refund_id,
        "disbursement_id": disbursement.disbursement_id,
        "proposal_id": proposal["id"],
        "reference": "pi_matrix0001",
        "number": str(digest.digest.number),
        "job_id": job.id,
        "review_id": review.review_id,
        "day": "2026-11-01",
        "item": "no-such-item",
        "year": "2026",
        "name": "pay.css",
    }
    return app


@pytest.fixture(scope="module")
def app(signer: LocalSigner, tmp_path_factory: pytest.TempPathFactory) -> Iterator[App]:
    from chalice.test import Client

    saved = dict(os.environ)
    secrets = tmp_path_factory.mktemp("secrets")
    write_secrets(secrets, {"face-grant-key": "matrix-only-grant-key-" * 2})
    os.environ["SECRETS_DIR"] = str(secrets)
    with mock_aws():
        wiring.reset()
        clock = FixedClock(START)
        wiring.override(clock=clock)
        create_tables(wiring.dynamodb(), table_names("test"))
        wiring.ledger_service().ensure_system_accounts()
        with Client(chalice_app, stage_name="test", project_dir=str(PROJECT_ROOT)) as client:
            yield _make_records(client.http, signer, clock, tmp_path_factory.mktemp("outbox"))
        wiring.reset()
    os.environ.clear()
    os.environ.update(saved)


def test_every_route_has_one_row_and_the_roles_it_declares() -> None:
    declared = {key(s.method, s.path): s for s in ROUTES}
    assert set(MATRIX) == set(declared), {
        "routes without a row": sorted(set(declared) - set(MATRIX)),
        "rows without a route": sorted(set(MATRIX) - set(declared)),
    }
    for name, row in MATRIX.items():
        spec = declared[name]
        assert spec.public == (row.scope is Scope.PUBLIC), name
        assert ",".join(sorted(r.value for r in spec.roles)) == row.roles, name


@pytest.mark.parametrize("name", sorted(MATRIX))
def test_each_cell_answers_as_the_matrix_says(app: App, name: str) -> None:
    method, path = name.split(" ", 1)
    row = MATRIX[name]
    anonymous = app.send(path, method, row, {"Content-Type": "application/json"})
    if row.scope is Scope.PUBLIC:
        assert anonymous.status_code not in (401, 403), anonymous.body
        return
    assert anonymous.status_code == 401, anonymous.body
    allowed = row.roles.split(",")

    # another court first, before the own court's cells change the records
    stranger = app.headers(allowed[0], courts=(OTHER_COURT,))
    elsewhere = app.send(path, method, row, stranger)
    seen = elsewhere.body.decode("utf-8", "replace")
    assert elsewhere.status_code < 500, seen
    if row.scope is Scope.RECORD:
        assert elsewhere.status_code == 404, seen
        assert app.records["case_number"] not in seen
    elif row.scope in (Scope.COURT, Scope.NATIONWIDE):
        assert elsewhere.status_code == 403, seen
        assert _problem_type(elsewhere).endswith("identity/court-not-yours")
    elif row.scope is Scope.FILTERED:
        assert elsewhere.status_code < 300, seen
        assert COURT not in seen
        assert app.records["account_number"] not in seen

    for role in Role:
        headers = app.headers(role.value, courts=(COURT,), oversees=NATIONWIDE)
        answer = app.send(path, method, row, headers)
        problem = _problem_type(answer)
        if role.value in allowed:
            assert answer.status_code < 500, (role, answer.body)
            assert not problem.endswith(REFUSALS), (role, answer.body)
            if row.scope is Scope.RECORD:
                assert answer.status_code != 404, (role, answer.body)  # the record is there
            if row.scope is Scope.SHARED and role.value == allowed[0]:
                assert answer.status_code // 100 == elsewhere.status_code // 100
        else:
            assert answer.status_code == 403, (role, answer.body)
            assert problem.endswith("identity/role-not-allowed")
    nobody = app.send(path, method, row, app.headers(courts=(COURT,)))
    assert nobody.status_code == 403

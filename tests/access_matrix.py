"""Who may call each route, and what another court sees there, written once as data.

``tests/test_access_matrix.py`` calls every cell against the app: every route with no token,
with every role, and with a token of another court. A route the app serves without a row here
fails that test, and so does a row whose route is gone.

Per route: the roles allowed (or ``PUBLIC``), and how it treats another court:

- ``RECORD``: the route reads or changes one record of a court (a case, refund, payout...);
  another court's answers 404, as a missing record does, and its own court's does not.
- ``COURT``: the route lists or files for the court named in the request; naming a court one
  neither belongs to nor oversees is 403 ``identity/court-not-yours``.
- ``FILTERED``: the route lists across courts; another court's records are left out.
- ``NATIONWIDE``: the route spans every court (the whole ledger, the journal); it needs
  oversight of every province, so a person of one court gets 403 ``identity/court-not-yours``.
- ``SHARED``: court-less by design (the calendar, the deployment's rail reconciliation,
  unidentified money, the signed digests): another court answers as the record's own court.

Path parameters are filled from the records of court 粤0604 the test creates once (by name,
``{case_id}`` and so on); ``query`` and ``body`` are sent with every cell of the route, with
the same placeholders.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Scope(StrEnum):
    PUBLIC = "public"
    RECORD = "record"
    COURT = "court"
    FILTERED = "filtered"
    NATIONWIDE = "nationwide"
    SHARED = "shared"


ALL = "admin,approver,auditor,clerk,finance"
COURT_OF_RECORDS = "%E7%B2%A40604"  # 粤0604, URL-encoded for query strings
PERIOD = "start=2026-01-01T00:00:00Z&end=2027-01-01T00:00:00Z"
REASON = {"reason": "核对后处理"}


@dataclass(frozen=True)
class Row:
    roles: str  # comma-separated roles, or "" for a public route
    scope: Scope
    query: str = ""
    body: Any = field(default_factory=dict)
    raw: bytes | None = None  # a raw body (a photo) instead of JSON


def public() -> Row:
    return Row("", Scope.PUBLIC)


MATRIX: dict[str, Row] = {
    # -- public pages and the payer -------------------------------------------------------
    "GET /": public(),
    "GET /health": public(),
    "GET /favicon.ico": public(),
    "GET /static/{name}": public(),
    "GET /pay": public(),
    "GET /pay/{account_number}": public(),
    "GET /claim": public(),
    "GET /receipts/{payment_id}": public(),
    "GET /oversight.css": public(),
    "GET /public/unclaimed": public(),
    "GET /collection/cases/{account_number}": public(),
    "POST /collection/cases/{account_number}/payments": public(),
    "GET /collection/payments/{payment_id}": public(),
    "POST /collection/payments/{payment_id}/card": public(),
    "GET /collection/payments/{payment_id}/receipt.pdf": public(),
    "GET /refunds/of-payment/{payment_id}": public(),
    "POST /claims/lookup": public(),
    "POST /claims/release": public(),
    "POST /claims/face-check": public(),
    "POST /claims/face-liveness": public(),
    "POST /claims/face-liveness/result": public(),
    "POST /claims/face-review": public(),
    "POST /claims/face-review/status": public(),
    "GET /openapi.json": public(),
    "GET /api-docs": public(),
    "POST /webhooks/stripe": public(),
    "POST /webhooks/stripe/payouts": public(),
    "POST /webhooks/stripe/refunds": public(),
    # -- cases ------------------------------------------------------------------------------
    "POST /cases": Row("admin,clerk", Scope.COURT, body={"$filing": True}),
    "GET /cases": Row(ALL, Scope.COURT, query=f"court={COURT_OF_RECORDS}"),
    "GET /cases/{case_id}": Row(ALL, Scope.RECORD),
    "GET /cases/{case_id}/balances": Row(ALL, Scope.RECORD),
    "GET /cases/{case_id}/history": Row(ALL, Scope.RECORD),
    "GET /cases/{case_id}/payments": Row(ALL, Scope.RECORD),
    "GET /cases/{case_id}/standing": Row(ALL, Scope.RECORD),
    "POST /cases/{case_id}/status": Row(
        "admin,clerk", Scope.RECORD, body={"status": "open", "reason": "核对后恢复"}
    ),
    "GET /case-accounts/{account_number}": Row(ALL, Scope.RECORD),
    "POST /cases/{case_id}/creditors/{party_id}/receiving-account": Row(
        "clerk",
        Scope.RECORD,
        body={
            "bank_name": "中国建设银行佛山分行",
            "account_name": "张三",
            "account_number": "6217003320000000001",
            **REASON,
        },
    ),
    "POST /cases/{case_id}/creditors/{party_id}/receiving-account/approve": Row(
        "approver,finance", Scope.RECORD
    ),
    "POST /cases/{case_id}/creditors/{party_id}/receiving-account/reject": Row(
        "approver,finance", Scope.RECORD, body=REASON
    ),
    "POST /cases/{case_id}/creditors/{party_id}/receiving-account/withdraw": Row(
        "admin,clerk", Scope.RECORD, body=REASON
    ),
    "POST /cases/{case_id}/creditors/{party_id}/receiving-account/return": Row(
        "approver,finance", Scope.RECORD, body={"question": "开户证明是否已附卷？"}
    ),
    "POST /cases/{case_id}/creditors/{party_id}/receiving-account/answer": Row(
        "clerk", Scope.RECORD, body={"answer": "已附卷"}
    ),
    # -- ledger -----------------------------------------------------------------------------
    "GET /ledger/accounts/{account_id}/balance": Row(ALL, Scope.RECORD),
    "GET /ledger/accounts/{account_id}/statement": Row(ALL, Scope.RECORD, query=PERIOD),
    "GET /ledger/accounts/{account_id}/verify": Row("admin,auditor,finance", Scope.RECORD),
    "GET /ledger/transfers/{transfer_id}": Row(ALL, Scope.RECORD),
    "GET /ledger/corrections": Row(ALL, Scope.FILTERED),
    "POST /ledger/corrections": Row(
        "clerk",
        Scope.RECORD,
        body={
            "id": "fix-matrix-2",
            "debit_account": "SYS-UNIDENTIFIED-CNY",
            "credit_account": "{account_number}",
            "amount": 100,
            "reason": "误入不明款",
        },
    ),
    "GET /ledger/corrections/{proposal_id}": Row(ALL, Scope.RECORD),
    "POST /ledger/corrections/{proposal_id}/post": Row("finance", Scope.RECORD),
    "POST /ledger/corrections/{proposal_id}/reject": Row("finance", Scope.RECORD, body=REASON),
    # -- collection staff -------------------------------------------------------------------
    "GET /collection/claims": Row("admin,auditor,clerk,finance", Scope.FILTERED),
    "GET /collection/counter-cash": Row("admin,auditor,clerk,finance", Scope.FILTERED),
    "POST /collection/counter-cash": Row(
        "clerk",
        Scope.RECORD,
        body={
            "id": "cash-matrix-2",
            "account_id": "{account_number}",
            "amount": 3_000,
            "receipt_no": "GD-MATRIX-2",
            "received_at": "2026-11-02T08:30:00+08:00",
        },
    ),
    "GET /collection/counter-cash/{entry_id}": Row("admin,auditor,clerk,finance", Scope.RECORD),
    "POST /collection/counter-cash/{entry_id}/confirm": Row("approver,finance", Scope.RECORD),
    "POST /collection/counter-cash/{entry_id}/reject": Row("finance", Scope.RECORD, body=REASON),
    "POST /collection/counter-cash/{entry_id}/return": Row(
        "approver,finance", Scope.RECORD, body={"question": "收据存根在哪里？"}
    ),
    "POST /collection/counter-cash/{entry_id}/answer": Row(
        "clerk", Scope.RECORD, body={"answer": "存根已交财务"}
    ),
    # unidentified money and the review queue have no court until claimed
    "GET /collection/unidentified": Row("admin,auditor,clerk,finance", Scope.SHARED),
    "GET /collection/reviews": Row("admin,auditor,clerk,finance", Scope.SHARED),
    "GET /collection/reviews/events": Row("admin,auditor,clerk,finance", Scope.SHARED),
    "POST /collection/unidentified/{reference}/claim": Row(
        "clerk,finance",
        Scope.RECORD,
        body={"account_number": "{account_number}", "reason": "付款人来电确认"},
    ),
    "POST /collection/unidentified/{reference}/claim/confirm": Row(
        "approver,finance", Scope.RECORD
    ),
    "POST /collection/unidentified/{reference}/claim/reject": Row(
        "finance", Scope.RECORD, body=REASON
    ),
    "POST /collection/unidentified/{reference}/claim/return": Row(
        "approver,finance", Scope.RECORD, body={"question": "付款人如何确认？"}
    ),
    "POST /collection/unidentified/{reference}/claim/answer": Row(
        "clerk,finance", Scope.RECORD, body={"answer": "付款人来电并提供凭证"}
    ),
    "GET /collection/surplus-drafts": Row(ALL, Scope.FILTERED),
    # -- approvals --------------------------------------------------------------------------
    "GET /approvals/waiting": Row(ALL, Scope.COURT, query=f"court={COURT_OF_RECORDS}"),
    "GET /approvals/mine": Row(ALL, Scope.FILTERED),
    "GET /approvals/overdue": Row(
        ALL, Scope.COURT, query=f"court={COURT_OF_RECORDS}&role=approver"
    ),
    "GET /approvals/{approval_id}": Row(ALL, Scope.RECORD),
    # -- refunds ----------------------------------------------------------------------------
    "POST /refunds": Row(
        "admin,clerk",
        Scope.RECORD,
        body={
            "source_kind": "counter_cash",
            "source_reference": "{entry_id}",
            "amount": 100,
            "reason_code": "overpayment",
        },
    ),
    "GET /refunds": Row(ALL, Scope.COURT, query=f"court={COURT_OF_RECORDS}"),
    "POST /refunds/drafts/concluded/{case_id}": Row("admin,clerk", Scope.RECORD),
    "GET /refunds/{refund_id}": Row(ALL, Scope.RECORD),
    "GET /refunds/{refund_id}/history": Row(ALL, Scope.RECORD),
    "POST /refunds/{refund_id}/submit": Row("admin,clerk", Scope.RECORD),
    "POST /refunds/{refund_id}/decision": Row(
        "approver,finance", Scope.RECORD, body={"decision": "approve"}
    ),
    "POST /refunds/{refund_id}/answer": Row("admin,clerk", Scope.RECORD, body={"answer": "已补充"}),
    "POST /refunds/{refund_id}/cancel": Row("admin,clerk,finance", Scope.RECORD, body=REASON),
    "POST /refunds/{refund_id}/reissue": Row("finance", Scope.RECORD),
    "POST /refunds/{refund_id}/bank-payment": Row(
        "finance", Scope.RECORD, body={"bank_reference": "BANK-2026-0001"}
    ),
    "POST /refunds/{refund_id}/bank-payment/confirm": Row("finance", Scope.RECORD),
    "POST /refunds/{refund_id}/bank-payment/failed": Row("finance", Scope.RECORD, body=REASON),
    # -- disbursements ----------------------------------------------------------------------
    "POST /cases/{case_id}/disbursements": Row(
        "clerk", Scope.RECORD, body={"creditor_party_id": "{creditor_id}", "amount": 100}
    ),
    "GET /cases/{case_id}/disbursements": Row(ALL, Scope.RECORD),
    "GET /disbursements": Row(ALL, Scope.COURT, query=f"court={COURT_OF_RECORDS}&state=proposed"),
    "GET /disbursements/{disbursement_id}": Row(ALL, Scope.RECORD),
    "POST /disbursements/{disbursement_id}/approve": Row("approver,finance", Scope.RECORD),
    "POST /disbursements/{disbursement_id}/reject": Row(
        "approver,finance", Scope.RECORD, body=REASON
    ),
    "POST /disbursements/{disbursement_id}/return": Row(
        "approver,finance", Scope.RECORD, body={"question": "债权人收款账户是否已核实？"}
    ),
    "POST /disbursements/{disbursement_id}/answer": Row(
        "clerk", Scope.RECORD, body={"answer": "已与债权人电话核实"}
    ),
    "POST /disbursements/{disbursement_id}/cancel": Row(
        "admin,approver,clerk,finance", Scope.RECORD, body=REASON
    ),
    "POST /disbursements/{disbursement_id}/deferral": Row(
        "clerk", Scope.RECORD, body={**REASON, "until": "2026-12-01T00:00:00+08:00"}
    ),
    "POST /disbursements/{disbursement_id}/deferral/approve": Row("approver,finance", Scope.RECORD),
    "POST /disbursements/{disbursement_id}/deferral/refuse": Row(
        "approver,finance", Scope.RECORD, body=REASON
    ),
    "POST /disbursements/{disbursement_id}/deferral/return": Row(
        "approver,finance", Scope.RECORD, body={"question": "异议是否已经立案审查？"}
    ),
    "POST /disbursements/{disbursement_id}/deferral/answer": Row(
        "clerk", Scope.RECORD, body={"answer": "已立案审查"}
    ),
    "POST /disbursements/{disbursement_id}/resume": Row("approver,finance", Scope.RECORD),
    "POST /disbursements/{disbursement_id}/staff-release": Row(
        "finance", Scope.RECORD, body=REASON
    ),
    "POST /disbursements/{disbursement_id}/staff-release/confirm": Row(
        "approver,finance", Scope.RECORD
    ),
    "POST /disbursements/{disbursement_id}/staff-release/refuse": Row(
        "approver,finance", Scope.RECORD, body=REASON
    ),
    "POST /disbursements/{disbursement_id}/staff-release/return": Row(
        "approver,finance", Scope.RECORD, body={"question": "单位账户是否已核实？"}
    ),
    "POST /disbursements/{disbursement_id}/staff-release/answer": Row(
        "finance", Scope.RECORD, body={"answer": "已向开户行核实"}
    ),
    "POST /disbursements/{disbursement_id}/reissue": Row("finance", Scope.RECORD),
    "POST /disbursements/{disbursement_id}/claim-link": Row("clerk", Scope.RECORD),
    # -- face checks ------------------------------------------------------------------------
    "PUT /identity/reference-photos/{case_id}/{party_id}": Row(
        "admin,clerk", Scope.RECORD, raw=b"\xff\xd8\xff\xe0 not a whole photo"
    ),
    # another court's claim reads as a claim with no check, as an unknown one does
    "GET /identity/claims/{disbursement_id}": Row(ALL, Scope.FILTERED),
    "POST /identity/claims/{disbursement_id}/unlock": Row(
        "admin,clerk", Scope.FILTERED, body=REASON
    ),
    "GET /identity/face-reviews": Row(
        "admin,approver,clerk", Scope.COURT, query=f"court={COURT_OF_RECORDS}"
    ),
    "GET /identity/face-reviews/{review_id}": Row("admin,approver,clerk", Scope.RECORD),
    "POST /identity/face-reviews/{review_id}/decision": Row(
        "admin,approver,clerk", Scope.RECORD, body={"approve": False, "reason": "不是本人"}
    ),
    "GET /identity/locked-claims": Row(
        "admin,clerk", Scope.COURT, query=f"court={COURT_OF_RECORDS}"
    ),
    # -- audit and exports ------------------------------------------------------------------
    "GET /audit/ledger-check": Row("admin,auditor,finance", Scope.NATIONWIDE),
    "POST /audit/digests": Row("admin,finance", Scope.NATIONWIDE),
    "GET /audit/latest-digest": Row("admin,auditor,finance", Scope.SHARED),
    "GET /audit/digests/{number}": Row("admin,auditor,finance", Scope.SHARED),
    "GET /audit/digests/{number}/proofs/{account_id}": Row("admin,auditor,finance", Scope.RECORD),
    "POST /exports": Row(
        "admin,auditor,finance",
        Scope.RECORD,
        body={
            "kind": "statement",
            "account": "{account_number}",
            "start": "2026-01-01T00:00:00Z",
            "end": "2027-01-01T00:00:00Z",
        },
    ),
    "GET /exports/{job_id}": Row("admin,auditor,finance", Scope.RECORD),
    # -- reconciliation: the deployment's rail account, shared by its courts ----------------
    "GET /reconciliation/days": Row(
        "admin,auditor,finance", Scope.SHARED, query="start=2026-11-01&end=2026-11-02"
    ),
    "POST /reconciliation/days/{day}/run": Row("admin,finance", Scope.SHARED),
    "GET /reconciliation/days/{day}": Row("admin,auditor,finance", Scope.SHARED),
    "GET /reconciliation/days/{day}/export.csv": Row("admin,auditor,finance", Scope.SHARED),
    "POST /reconciliation/days/{day}/items/{item}/resolve": Row(
        "finance", Scope.SHARED, body={"note": "已核实"}
    ),
    "POST /reconciliation/days/{day}/close": Row("finance", Scope.SHARED),
    # -- deadlines, monitoring, the calendar ------------------------------------------------
    "GET /deadlines": Row(ALL, Scope.FILTERED),
    "POST /deadlines/run": Row("admin", Scope.NATIONWIDE),
    "GET /deadlines/refund-due": Row("admin,auditor,finance", Scope.SHARED),
    "GET /monitoring": Row("admin,approver,auditor,finance", Scope.FILTERED),
    "GET /monitoring/overview": Row("admin,approver,auditor,finance", Scope.FILTERED),
    "GET /monitoring/courts.csv": Row("admin,approver,auditor,finance", Scope.FILTERED),
    # the PRC working calendar is the same for every court
    "GET /calendar/status": Row(ALL, Scope.SHARED),
    "GET /calendar/deadline": Row(ALL, Scope.SHARED, query="start=2026-11-02&working_days=5"),
    "GET /calendar/years/{year}": Row(ALL, Scope.SHARED),
    "POST /calendar/years/{year}": Row("admin", Scope.SHARED),
}

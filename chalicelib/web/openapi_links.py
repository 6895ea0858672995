"""The OpenAPI links of the document: which answer leads to which next call.

A link says where the next call's path parameters come from (a field of the answer, or the
request's own path), so a client, and the stateful fuzzer, can go from filing a case to reading
it, paying it and paying it out; from proposing a refund, disbursement, correction or counter
cash entry to deciding it. ``chalicelib.web.openapi`` refuses a link whose target is not a
route, leaves a path parameter unset or names a field its answer does not have, so a link
cannot outlive the route or field it names.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class Link:
    target: str  # "METHOD /path" of the next call
    parameters: Mapping[str, str]  # the target's path parameter -> a runtime expression


def _from_body(pointer: str, *targets: str, name: str) -> Iterator[Link]:
    for target in targets:
        yield Link(target, {name: f"$response.body#{pointer}"})


def _from_path(source: str, *targets: str, name: str) -> Iterator[Link]:
    for target in targets:
        yield Link(target, {name: f"$request.path.{source}"})


_CASE = "/cases/{case_id}"
_PAYMENT = "/collection/payments/{payment_id}"
_DISBURSEMENT = "/disbursements/{disbursement_id}"
_REFUND = "/refunds/{refund_id}"
_CORRECTION = "/ledger/corrections/{proposal_id}"
_CASH = "/collection/counter-cash/{entry_id}"
_CLAIM = "/collection/unidentified/{reference}/claim"
_DAY = "/reconciliation/days/{day}"

# The steps a disbursement takes after its proposal (each on the disbursement's own id).
_DISBURSEMENT_STEPS = tuple(
    f"POST {_DISBURSEMENT}/{step}"
    for step in (
        "approve", "reject", "return", "answer", "cancel", "deferral", "resume",
        "staff-release", "reissue", "claim-link",
    )
)  # fmt: skip
_REFUND_STEPS = tuple(
    f"POST {_REFUND}/{step}" for step in ("submit", "decision", "answer", "cancel", "reissue")
)

# Every link, by the operation ("METHOD /path") whose successful answer it leaves from.
LINKS: dict[str, tuple[Link, ...]] = {
    "POST /cases": (
        *_from_body(
            "/case_id",
            f"GET {_CASE}",
            f"GET {_CASE}/history",
            f"GET {_CASE}/balances",
            f"GET {_CASE}/standing",
            f"GET {_CASE}/payments",
            f"GET {_CASE}/disbursements",
            f"POST {_CASE}/status",
            f"POST {_CASE}/disbursements",
            "POST /refunds/drafts/concluded/{case_id}",
            name="case_id",
        ),
        *_from_body(
            "/account_number",
            "GET /case-accounts/{account_number}",
            "GET /collection/cases/{account_number}",
            "POST /collection/cases/{account_number}/payments",
            name="account_number",
        ),
        *_from_body(
            "/account_number", "GET /ledger/accounts/{account_id}/balance", name="account_id"
        ),
    ),
    "POST /collection/cases/{account_number}/payments": tuple(
        _from_body(
            "/payment/payment_id",
            f"GET {_PAYMENT}",
            f"POST {_PAYMENT}/card",
            "GET /refunds/of-payment/{payment_id}",
            name="payment_id",
        )
    ),
    f"POST {_CASE}/disbursements": tuple(
        _from_body(
            "/disbursement_id",
            f"GET {_DISBURSEMENT}",
            "GET /identity/claims/{disbursement_id}",
            *_DISBURSEMENT_STEPS,
            name="disbursement_id",
        )
    ),
    f"POST {_DISBURSEMENT}/approve": tuple(
        _from_body(
            "/disbursement_id", f"GET {_DISBURSEMENT}", *_DISBURSEMENT_STEPS, name="disbursement_id"
        )
    ),
    "POST /refunds": tuple(
        _from_body(
            "/id", f"GET {_REFUND}", f"GET {_REFUND}/history", *_REFUND_STEPS, name="refund_id"
        )
    ),
    f"POST {_REFUND}/submit": tuple(
        _from_body("/id", f"GET {_REFUND}/history", *_REFUND_STEPS, name="refund_id")
    ),
    "POST /ledger/corrections": tuple(
        _from_body(
            "/id",
            f"GET {_CORRECTION}",
            f"POST {_CORRECTION}/post",
            f"POST {_CORRECTION}/reject",
            name="proposal_id",
        )
    ),
    f"POST {_CORRECTION}/post": tuple(
        _from_body("/id", "GET /ledger/transfers/{transfer_id}", name="transfer_id")
    ),
    "POST /collection/counter-cash": tuple(
        _from_body(
            "/id",
            f"GET {_CASH}",
            f"POST {_CASH}/confirm",
            f"POST {_CASH}/reject",
            f"POST {_CASH}/return",
            f"POST {_CASH}/answer",
            name="entry_id",
        )
    ),
    f"POST {_CLAIM}": tuple(
        _from_path(
            "reference",
            f"POST {_CLAIM}/confirm",
            f"POST {_CLAIM}/reject",
            f"POST {_CLAIM}/return",
            f"POST {_CLAIM}/answer",
            name="reference",
        )
    ),
    "POST /exports": tuple(_from_body("/job/id", "GET /exports/{job_id}", name="job_id")),
    "POST /calendar/years/{year}": tuple(
        _from_body("/year", "GET /calendar/years/{year}", name="year")
    ),
    "POST /audit/digests": tuple(
        _from_body("/digest/number", "GET /audit/digests/{number}", name="number")
    ),
    f"POST {_DAY}/run": tuple(_from_path("day", f"GET {_DAY}", f"POST {_DAY}/close", name="day")),
    "GET /case-accounts/{account_number}": tuple(
        _from_body("/case_id", f"GET {_CASE}", name="case_id")
    ),
}

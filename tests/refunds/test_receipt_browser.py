"""The payer's receipt in headless Chromium on a phone shows the refund of that payment, with
its amount and status, once the chain approved it and the rail paid it back; so does the case's
pay page, under that payment's receipt."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from chalicelib import wiring
from chalicelib.approvals import Decision
from chalicelib.refunds import RefundState
from chalicelib.refunds.models import RequestRefund
from chalicelib.wiring import collection_service, refund_service
from tests.collection.conftest import PUBLISHABLE_KEY, WEBHOOK_SECRET, open_case
from tests.collection.test_pay_page_browser import (  # noqa: F401 - the stack fixture
    CHROMIUM,
    CHROMIUM_ARGS,
    stack,
)
from tests.conftest import write_secrets
from tests.refunds.conftest import CHIEF, CLERK, FINANCE, paid_online

playwright_api = pytest.importorskip("playwright.sync_api")

pytestmark = pytest.mark.browser


def test_the_receipt_shows_the_refund_of_the_payment(
    signer: Any,  # refund_service() reads the settings, which name the sign-in issuer
    stack: dict[str, Any],  # noqa: F811
    localstripe: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("STRIPE_API_BASE", localstripe)
    keys = {
        "stripe-secret-key": "sk_test_browser",
        "stripe-publishable-key": PUBLISHABLE_KEY,
        "stripe-webhook-secret": WEBHOOK_SECRET,
    }
    monkeypatch.setenv("SECRETS_DIR", str(write_secrets(tmp_path / "refund-secrets", keys)))
    wiring.reset()  # read the settings again, with the rail's keys
    wiring.override(dynamodb=stack["client"])
    case = open_case(serial=5678, amount=10_000)
    payment = paid_online(collection_service(), localstripe, case, 12_000, surplus=True)
    refunds = refund_service()
    refund = refunds.request(
        RequestRefund.model_validate(
            {
                "source_kind": "online",
                "source_reference": payment.payment_id,
                "amount": "20.00",
                "reason_code": "overpayment",
            }
        ),
        by=CLERK,
    )
    refunds.submit(refund.refund_id, by=CLERK)
    refunds.decide(refund.refund_id, Decision.APPROVE, by=CHIEF, text=None)
    assert refunds.decide(refund.refund_id, Decision.APPROVE, by=FINANCE, text=None).state == (
        RefundState.PAID
    )

    with playwright_api.sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 375, "height": 812}, is_mobile=True)
            page.goto(f"{stack['api']}/receipts/{payment.payment_id}")
            page.wait_for_selector("#status[data-state=paid]", timeout=15_000)
            shown = page.wait_for_selector("[data-refund-status=paid]", timeout=10_000)
            assert shown is not None
            assert shown.text_content() == "已退回原付款账户"
            assert page.text_content("#refund-list dt") == "¥20.00"
            assert page.is_visible("#refunds")
            page.click("#lang-switch")
            assert page.text_content("[data-refund-status=paid]") == (
                "Refunded to the original account"
            )

            # The pay page lists this phone's receipts of the case, each with its refunds.
            page.goto(f"{stack['api']}/pay/{case.account_number}?lang=zh")
            listed = page.wait_for_selector(
                "#receipt-list [data-refund-status=paid]", timeout=10_000
            )
            assert listed is not None
            assert listed.text_content() == "已退回原付款账户"
            assert page.text_content("#receipt-list .refunds dt") == "退付 ¥20.00"
            assert page.locator("#receipt-list a").all_text_contents() == [payment.receipt_number]
            page.click("#lang-switch")
            page.wait_for_selector("#receipt-list .refunds dt:text('Refunds ¥20.00')")
            assert page.text_content("#receipt-list [data-refund-status=paid]") == (
                "Refunded to the original account"
            )
        finally:
            browser.close()

"""End to end in headless Chromium on a 375-pixel phone: the creditor opens the SMS claim link,
sees the case, the amount and the masked account; finance releases; the local Stripe stand-in
pays and signs its event to the app; the page shows the money paid and the ledger agrees."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
import stripe

from chalicelib import wiring
from chalicelib.identity import Principal, Role
from chalicelib.ledger import SystemAccount, TransferCode, TransferRequest
from chalicelib.payouts.bodies import ProposeDisbursement
from chalicelib.wiring import disbursement_workflow as disbursements
from chalicelib.wiring import ledger_service
from infra.moto_server import start_moto_server, stop_moto_server
from infra.tables import TABLES, create_tables, default_table_name
from tests.collection.conftest import ROOT, free_port, open_case, wait_until_up
from tests.collection.test_pay_page_browser import CHROMIUM, CHROMIUM_ARGS
from tests.conftest import write_secrets

playwright_api = pytest.importorskip("playwright.sync_api")

pytestmark = pytest.mark.browser

SECRET = "whsec_claim_browser"
# config.json's names for the local stage, which ``chalice local`` uses
LOCAL = {spec.env_var: default_table_name(spec, "local") for spec in TABLES}


@pytest.fixture
def stack(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, signer: Any) -> Iterator[dict[str, Any]]:
    """moto server, the Stripe stand-in with payouts, and ``chalice local``, on free ports."""
    stripe_port, api_port = free_port(), free_port()
    stand_in = subprocess.Popen(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "infra.stripe_local", "--port", str(stripe_port)],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    moto, moto_url = start_moto_server("127.0.0.1", 0)
    stripe_url, api = f"http://127.0.0.1:{stripe_port}", f"http://127.0.0.1:{api_port}"
    settings = {
        **LOCAL,
        "STRIPE_API_BASE": stripe_url,
        "SECRETS_DIR": str(
            write_secrets(
                tmp_path / "secrets",
                {
                    "stripe-secret-key": "sk_test_claim",
                    "stripe-publishable-key": "pk_test_claim",
                    "stripe-webhook-secret": SECRET,
                },
            )
        ),
        "STRIPE_FINANCIAL_ACCOUNT": "fa_court",
        "STRIPE_PAYOUT_ROUTING_NUMBER": "110000000",
        "NOTIFY_OUTBOX_DIR": str(tmp_path / "outbox"),
        "PUBLIC_BASE_URL": api,
    }
    for name, value in settings.items():
        monkeypatch.setenv(name, value)
    client = boto3.client("dynamodb", endpoint_url=moto_url)
    create_tables(client, LOCAL)
    wiring.reset()
    wiring.override(dynamodb=client)
    ledger_service().ensure_system_accounts()
    chalice = Path(sys.executable).with_name("chalice")
    server = subprocess.Popen(  # noqa: S603 - the project's own chalice, on loopback
        [str(chalice), "local", "--host", "127.0.0.1", "--port", str(api_port),
         "--stage", "local", "--no-autoreload"],
        cwd=ROOT, env={**os.environ, "AWS_ENDPOINT_URL_DYNAMODB": moto_url},
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        wait_until_up(stripe_url + "/js.stripe.com/v3/")
        wait_until_up(api + "/claim", seconds=30)
        hook = urllib.parse.urlencode({"url": f"{api}/webhooks/stripe/payouts", "secret": SECRET})
        urllib.request.urlopen(  # noqa: S310 - loopback
            f"{stripe_url}/_config/webhooks/claim-{api_port}", data=hook.encode(), timeout=5
        ).close()
        yield {"api": api, "stripe": stripe_url, "outbox": tmp_path / "outbox"}
    finally:
        server.terminate()
        server.wait(timeout=10)
        stand_in.terminate()
        stand_in.wait(timeout=10)
        wiring.reset()
        stop_moto_server(moto)


def _post(url: str, headers: dict[str, str], body: dict[str, Any]) -> dict[str, Any]:
    data = json.dumps(body, ensure_ascii=False).encode()
    request = urllib.request.Request(url, data=data, headers=headers, method="POST")  # noqa: S310
    with urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310 - loopback
        return dict(json.load(answer))


def test_the_creditor_follows_the_claim_link_until_paid(stack: dict[str, Any], token: Any) -> None:
    case = open_case(serial=5151)
    ledger_service().transfer(
        TransferRequest.between(
            id="collection:claim-e2e", debit=SystemAccount.PAYMENT_CLEARING.of(),
            credit=case.account_number, amount=1_000_000, code=TransferCode.COLLECTION,
            requested_by="collection",
        )
    )  # fmt: skip
    creditor = next(p.party_id for p in case.parties if p.role.value == "creditor")
    workflow = disbursements()
    clerk = Principal(subject="clerk-1", name="clerk-1", roles=frozenset({Role.CLERK}))
    chief = Principal(subject="chief-1", name="chief-1", roles=frozenset({Role.APPROVER}))
    d = workflow.propose(
        case.case_id, ProposeDisbursement(creditor_party_id=creditor, amount=300_000), by=clerk
    )
    workflow.approve(d.disbursement_id, by=chief)
    finance = Principal(subject="finance-1", name="finance-1", roles=frozenset({Role.FINANCE}))
    workflow.approve(d.disbursement_id, by=finance)
    sms = (stack["outbox"] / "notifications.jsonl").read_text(encoding="utf-8")
    link = json.loads(sms.splitlines()[-1])["body"].split("：", 2)[-1].split()[0]
    assert link.startswith(stack["api"] + "/claim#")
    code = link.split("#", 1)[1]

    with playwright_api.sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 375, "height": 812}, is_mobile=True)
            requested: list[str] = []
            page.on("request", lambda request: requested.append(request.url))
            page.goto(link)
            page.wait_for_selector("#status[data-state=ready]")
            assert code not in page.url  # taken out of the address bar at once
            assert not any(code in url for url in requested)  # and never sent in a URL
            assert page.text_content("#case-number") == "(2026)粤0604执5151号"
            assert page.text_content("#amount") == "¥3000.00"
            assert str(page.text_content("#destination")).endswith("**** 3445")
            assert "6222020200112233445" not in page.content()
            assert "13812345678" not in page.content()
            assert page.evaluate("document.documentElement.scrollWidth") <= 375

            page.click("#lang-switch")
            assert page.text_content("h1") == "Collect your money"
            page.click("#lang-switch")

            # The creditor has no phone able to do the face check: finance pays, two people.
            base = f"{stack['api']}/disbursements/{d.disbursement_id}/staff-release"
            _post(base, token("finance", subject="finance-1"), {"reason": "债权人无法进行人脸核验"})
            _post(base + "/confirm", token("approver", subject="chief-2"), {})
            sent = _post(base + "/confirm", token("finance", subject="finance-2"), {})
            assert sent["state"] == "sent"
            page.wait_for_selector("#status[data-state=sending]", timeout=15_000)

            rail = stripe.StripeClient("sk_test_claim", base_addresses={"api": stack["stripe"]})
            rail.v1.test_helpers.treasury.outbound_payments.post(sent["rail_reference"])
            page.wait_for_selector("#status[data-state=paid]", timeout=30_000)
            assert page.text_content("#status") == "已发放"
        finally:
            browser.close()

    ledger = ledger_service()
    assert ledger.balance(case.account_number).posted == 1_000_000 - 300_000
    assert ledger.balance(SystemAccount.PAYOUTS_IN_TRANSIT.of()).posted == 300_000
    assert workflow.get(d.disbursement_id).state.value == "paid"

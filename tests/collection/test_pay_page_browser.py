"""End to end in headless Chromium on a 375-pixel phone screen: the app under ``chalice local``,
DynamoDB on a moto server, Stripe on localstripe (its Stripe.js stand-in in the page, its signed
webhooks to the app). Find the case by its number, have a card declined, pay part, pay the
rest, see the receipts; the case balance is right."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from chalicelib import wiring
from chalicelib.collection.store import CollectionStore
from chalicelib.wiring import ledger_service
from infra.moto_server import start_moto_server, stop_moto_server
from infra.tables import create_tables, table_names
from tests.collection.conftest import (
    DECLINED,
    PUBLISHABLE_KEY,
    ROOT,
    VISA,
    WEBHOOK_SECRET,
    free_port,
    open_case,
    outbox_deliveries,
    wait_until_up,
)
from tests.conftest import write_secrets

playwright_api = pytest.importorskip("playwright.sync_api")

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
LOCAL_TABLES = {
    "CASES_TABLE": "courtfunds-local-cases",
    "LEDGER_TABLE": "courtfunds-local-ledger",
    "COLLECTION_TABLE": "courtfunds-local-collection",
    "APPROVALS_TABLE": "courtfunds-local-approvals",
    "REFUNDS_TABLE": "courtfunds-local-refunds",
    "OVERSIGHT_TABLE": "courtfunds-local-oversight",
}


@pytest.fixture
def stack(
    localstripe: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[dict[str, Any]]:
    """moto server + ``chalice local`` on free loopback ports, localstripe delivering webhooks
    to the app; everything stopped afterwards."""
    for name, value in LOCAL_TABLES.items():
        monkeypatch.setenv(name, value)
    moto, moto_url = start_moto_server("127.0.0.1", 0)
    client = boto3.client("dynamodb", endpoint_url=moto_url)
    create_tables(client, table_names("local"))
    wiring.reset()
    wiring.override(dynamodb=client)
    ledger_service().ensure_system_accounts()

    port = free_port()
    api = f"http://127.0.0.1:{port}"
    outbox = tmp_path / "outbox"
    env = {
        **os.environ,
        "AWS_ENDPOINT_URL_DYNAMODB": moto_url,
        "STRIPE_API_BASE": localstripe,
        "SECRETS_DIR": str(
            write_secrets(
                tmp_path / "secrets",
                {
                    "stripe-secret-key": "sk_test_browser",
                    "stripe-publishable-key": PUBLISHABLE_KEY,
                    "stripe-webhook-secret": WEBHOOK_SECRET,
                },
            )
        ),
        "STRIPE_WALLETS": "alipay,wechat_pay",
        "NOTIFY_OUTBOX_DIR": str(outbox),
        "AUTH_JWKS_FILE": str(tmp_path / "jwks.json"),
    }
    chalice = Path(sys.executable).with_name("chalice")
    server = subprocess.Popen(  # noqa: S603 - the project's own chalice, on loopback
        [str(chalice), "local", "--host", "127.0.0.1", "--port", str(port),
         "--stage", "local", "--no-autoreload"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        wait_until_up(api + "/pay", seconds=30)
        hook = urllib.parse.urlencode({"url": f"{api}/webhooks/stripe", "secret": WEBHOOK_SECRET})
        urllib.request.urlopen(  # noqa: S310 - loopback
            f"{localstripe}/_config/webhooks/browser-{port}", data=hook.encode(), timeout=5
        ).close()
        yield {"api": api, "client": client, "outbox": outbox}
    finally:
        server.terminate()
        server.wait(timeout=10)
        wiring.reset()
        stop_moto_server(moto)


def fill_card(page: Any, number: str = VISA) -> None:
    """Type into the card fields that localstripe's Stripe.js stand-in mounts."""
    page.fill("#card-element input[placeholder=number]", number)
    page.fill("#card-element input[placeholder=exp_month]", "12")
    page.fill("#card-element input[placeholder=exp_year]", "30")
    page.fill("#card-element input[placeholder=cvc]", "123")


def pay(page: Any, amount: str | None) -> str:
    """Pay on the open pay page; return the receipt number shown once paid."""
    if amount is None:
        page.click("#pay-all")
    else:
        page.fill("#amount", amount)
    fill_card(page)
    page.click("#pay-button")
    page.wait_for_url("**/receipts/**")
    page.wait_for_selector("#status[data-state=paid]", timeout=15_000)
    return str(page.text_content("#receipt-number"))


def test_payer_pays_in_two_parts_on_a_phone_and_the_case_is_paid(stack: dict[str, Any]) -> None:
    case = open_case(serial=4321, amount=10_000)
    with playwright_api.sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 375, "height": 812}, is_mobile=True)
            started: list[Any] = []
            page.on("request", lambda request: remember_start(request, started))
            page.goto(f"{stack['api']}/pay")
            mistyped = case.account_number[:-1] + str((int(case.account_number[-1]) + 1) % 10)
            page.fill("#account", mistyped)
            page.click("#find-form button[type=submit]")
            page.wait_for_selector("#message:not([hidden])")
            assert "校验位不符" in str(page.text_content("#message"))
            # A mistyped link to the pay page itself offers the field to type it again.
            page.goto(f"{stack['api']}/pay/{mistyped}")
            page.wait_for_selector("#find-form:not([hidden])")
            assert "校验位不符" in str(page.text_content("#load-error"))
            page.fill("#account", " ".join(case.account_number[i : i + 4] for i in (0, 4, 8, 12)))
            page.click("#find-form button[type=submit]")
            page.wait_for_url(f"**/pay/{case.account_number}?lang=zh")
            page.wait_for_selector("#case:not([hidden])")
            assert page.is_hidden("#find-form")
            assert page.text_content("#case-number") == "(2026)粤0604执**21号"
            assert page.text_content("#remaining") == "¥100.00"
            assert page.input_value("#amount") == "100.00"
            assert "张三" not in page.content()  # no party's personal data on the page
            # Wallets are enabled, but localstripe's Stripe.js has no wallet confirmations:
            # the page offers only what the loaded library can complete.
            assert page.get_attribute("body", "data-wallets") == "alipay,wechat_pay"
            assert page.is_hidden("#wallets")

            page.fill("#amount", "40.00")
            fill_card(page, DECLINED)
            page.click("#pay-button")
            page.wait_for_selector("#message:not([hidden])")
            assert "支付被拒绝" in str(page.text_content("#message"))

            # One failed status answer (the rail briefly down) must not stop the receipt page
            # following the payment: a payer told nothing may well pay again.
            failed_once: list[str] = []
            page.route("**/collection/payments/*", lambda route: fail_once(route, failed_once))
            first = pay(page, "40.00")
            assert len(failed_once) == 1
            page.unroute("**/collection/payments/*")
            assert first.startswith("粤0604-")
            assert page.text_content("#amount") == "¥40.00"

            page.click("#back")
            page.wait_for_selector("#case:not([hidden])")
            assert page.text_content("#remaining") == "¥60.00"
            assert page.is_hidden("#receipts")
            second = pay(page, None)
            assert second != first
            assert page.text_content("#amount") == "¥60.00"
            # The page sends integer fen, never a number it worked out in floating point.
            assert [body["amount"] for body in started] == [4_000, 4_000, 6_000]

            pdf = page.request.get(stack["api"] + str(page.get_attribute("#pdf-zh", "href")))
            assert pdf.headers["content-type"] == "application/pdf"
            assert pdf.body().startswith(b"%PDF")

            page.click("#back")
            page.wait_for_selector("#paid-in-full:not([hidden])")
            assert page.text_content("#remaining") == "¥0.00"
            # Paid in full: no pay form, and the receipts of this device's payments instead.
            assert page.is_hidden("#pay-form")
            assert page.locator("#receipt-list a").all_text_contents() == [first, second]
            assert page.evaluate("document.documentElement.scrollWidth") <= 375

            page.click("#lang-switch")
            assert page.text_content("h1") == "Pay enforcement money"
            assert page.text_content("#paid-in-full") == "This case has been paid in full."
        finally:
            browser.close()

    assert ledger_service().balance(case.account_number).posted == 10_000
    store = CollectionStore(stack["client"], LOCAL_TABLES["COLLECTION_TABLE"])
    assert store.standing(case.case_id).paid == 10_000
    # localstripe's signed webhooks reach the app about a second after each payment; they find
    # the payments posted already and post nothing more.
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and len(delivered := processed_events(stack)) < 2:
        time.sleep(0.3)
    assert len(delivered) >= 2
    assert ledger_service().balance(case.account_number).posted == 10_000
    messages = outbox_deliveries(stack["outbox"])
    assert [(m.kind, m.address) for m in messages] == [
        ("case.money_arrived", "13812345678"),
        ("case.paid_in_full", "13812345678"),
    ]


def fail_once(route: Any, failed: list[str]) -> None:
    if route.request.method == "GET" and not failed:
        failed.append(route.request.url)
        problem = {
            "type": "https://court-funds.example/problems/collection/rail-unavailable",
            "title": "The payment service is temporarily unavailable",
            "status": 503,
        }
        route.fulfill(status=503, content_type="application/problem+json", body=json.dumps(problem))
    else:
        route.continue_()


def remember_start(request: Any, started: list[Any]) -> None:
    if request.method == "POST" and request.url.endswith("/payments"):
        started.append(json.loads(request.post_data))


def processed_events(stack: dict[str, Any]) -> list[dict[str, Any]]:
    items = stack["client"].scan(TableName=LOCAL_TABLES["COLLECTION_TABLE"])["Items"]
    return [
        i for i in items if i["pk"]["S"].startswith("EVENT#") and i["state"]["S"] == "processed"
    ]

"""End to end in headless Chromium on a 375-pixel phone screen, with Chromium's fake camera fed
from a test photo: the creditor opens the SMS claim link, agrees to the face check, the camera
takes the picture, and only the right face is paid, through the local payout stand-in. The app
runs under ``chalice local`` with the local stack's settings (offline dlib verifier), DynamoDB
and S3 on a moto server, Stripe on localstripe with its payout extension."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from PIL import Image, ImageOps

from chalicelib import wiring
from chalicelib.ledger import SystemAccount
from chalicelib.notifications import OutboxNotifier
from chalicelib.wiring import ledger_service
from infra import localstack
from infra.buckets import bucket_names, create_buckets
from infra.moto_server import start_moto_server, stop_moto_server
from infra.tables import create_tables, table_names
from tests.collection.conftest import ROOT, free_port, wait_until_up
from tests.collection.test_pay_page_browser import CHROMIUM, CHROMIUM_ARGS
from tests.payouts.conftest import fund, open_case

playwright_api = pytest.importorskip("playwright.sync_api")

pytestmark = pytest.mark.browser

FUNDED = 1_000_000
PAID = 300_000
# Where each test photo's face sits, so a 640x480 frame holds the whole face (the fraction of
# the spare height above the crop).
CENTRING = {"obama2.jpg": 0.3, "biden.jpg": 0.06}


def y4m_of(photo: bytes, centring: float, path: Path) -> Path:
    """A one-frame Y4M video of the photo at 640x480 (4:2:0, JPEG's YCbCr), the format Chromium's
    fake camera reads; it repeats the frame."""
    with Image.open(io.BytesIO(photo)) as opened:
        frame = ImageOps.fit(opened.convert("RGB"), (640, 480), centering=(0.5, centring))
    y, cb, cr = frame.convert("YCbCr").split()
    half = (320, 240)
    with path.open("wb") as out:
        out.write(b"YUV4MPEG2 W640 H480 F30:1 Ip A1:1 C420jpeg\nFRAME\n")
        out.write(y.tobytes())
        out.write(cb.resize(half, Image.Resampling.BILINEAR).tobytes())
        out.write(cr.resize(half, Image.Resampling.BILINEAR).tobytes())
    return path


def _call(url: str, *, body: Any = None, headers: dict[str, str], method: str = "POST") -> Any:
    data = json.dumps(body).encode() if isinstance(body, dict) else body
    request = urllib.request.Request(url, data=data, headers=headers, method=method)  # noqa: S310
    with urllib.request.urlopen(request, timeout=60) as answer:  # noqa: S310 - loopback
        return json.loads(answer.read())


@pytest.fixture
def stack(signer: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    """moto, localstripe with payouts posting after a second (it delivers their events to the
    app's payout webhook, as the local stack names it), and ``chalice local`` with the local
    stack's environment, all on free loopback ports; stopped afterwards."""
    moto, moto_url = start_moto_server("127.0.0.1", 0)
    stripe_port, api_port = free_port(), free_port()
    stripe_url, api = f"http://127.0.0.1:{stripe_port}", f"http://127.0.0.1:{api_port}"
    monkeypatch.setattr(localstack, "STATE", tmp_path)
    env = localstack.local_environment(moto_url=moto_url, stripe_url=stripe_url, api_url=api)
    env["AUTH_JWKS_FILE"] = os.environ["AUTH_JWKS_FILE"]  # the test's own signer
    env["STRIPE_LOCAL_PAYOUT_AUTO_POST"] = "1"  # the stand-in posts a payout after a second
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    dynamodb = boto3.client("dynamodb", endpoint_url=moto_url)
    s3 = boto3.client("s3", endpoint_url=moto_url)
    create_tables(dynamodb, table_names("local"))
    create_buckets(s3, bucket_names("local"))
    wiring.reset()
    wiring.override(dynamodb=dynamodb, s3=s3)
    ledger_service().ensure_system_accounts()
    processes = [
        subprocess.Popen(  # noqa: S603 - our own interpreter and module, on loopback
            [sys.executable, "-m", "infra.stripe_local", "--port", str(stripe_port)],
            cwd=ROOT, env={**os.environ}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        ),
        subprocess.Popen(  # noqa: S603 - the project's own chalice, on loopback
            [str(Path(sys.executable).with_name("chalice")), "local", "--host", "127.0.0.1",
             "--port", str(api_port), "--stage", "local", "--no-autoreload"],
            cwd=ROOT, env={**os.environ}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        ),
    ]  # fmt: skip
    try:
        wait_until_up(stripe_url + "/js.stripe.com/v3/", seconds=30)
        wait_until_up(api + "/claim", seconds=30)
        yield {"api": api, "outbox": tmp_path / "outbox"}
    finally:
        for process in processes:
            process.terminate()
            process.wait(timeout=10)
        wiring.reset()
        stop_moto_server(moto)


def _claim_code(outbox: Path) -> str:
    deliveries = OutboxNotifier(outbox / "notifications.jsonl", clock=wiring.clock()).deliveries()
    [code] = [
        d.body.split("/claim#", 1)[1].split()[0]
        for d in deliveries
        if d.kind == "payout.claim_link"
    ]
    return code


def _face_check_on_a_phone(api: str, code: str, video: Path, *, confirm: bool) -> tuple[str, str]:
    """Open the claim link with the fake camera showing ``video``; return the face check's
    outcome and the claim status the page shows at the end."""
    args = [
        *CHROMIUM_ARGS,
        "--use-fake-ui-for-media-stream",
        "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-video-capture={video}",
    ]
    with playwright_api.sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=CHROMIUM, args=args)
        try:
            context = browser.new_context(
                viewport={"width": 375, "height": 812}, is_mobile=True, permissions=["camera"]
            )
            page = context.new_page()
            page.goto(f"{api}/claim#{code}")
            page.wait_for_selector("#status[data-state=ready]", timeout=30_000)
            assert code not in page.url  # the code left the address bar
            page.click("#face-agree")
            page.wait_for_selector("#face-video[data-ready=yes]", timeout=30_000)
            assert page.evaluate("document.documentElement.scrollWidth") <= 375
            page.click("#face-shoot")
            page.wait_for_selector("#face-outcome[data-outcome]:not([data-outcome=''])",
                                   timeout=90_000)  # fmt: skip
            outcome = str(page.get_attribute("#face-outcome", "data-outcome"))
            if outcome == "no_match":  # Chinese by default; the switch shows the same in English
                assert "核验未通过" in page.inner_text("#face-outcome")
                page.click("#lang-switch")
                assert page.inner_text("#face-outcome").startswith("Not verified")
                assert "4 attempts left" in page.inner_text("#face-outcome")
            if confirm and outcome == "match":
                assert page.is_visible("#face-confirm")
                page.click("#face-confirm")
                page.wait_for_selector("#status[data-state=paid]", timeout=60_000)
            return outcome, str(page.get_attribute("#status", "data-state"))
        finally:
            browser.close()


def _approved_payout(
    api: str, token: Any, face: Callable[[str], bytes], serial: int
) -> tuple[Any, dict[str, Any]]:
    """A funded case with the creditor's reference photo and an approved payout of PAID. The
    serial (case number) is used by no other test: moto servers started in one process share
    their backend, and a worker runs the payouts' claim page test beside these."""
    case = open_case(serial=serial)
    fund(case, FUNDED, transfer_id=f"collection:claim-face-{serial}")  # one moto per process
    creditor = next(p.party_id for p in case.parties if p.role.value == "creditor")
    _call(
        f"{api}/identity/reference-photos/{case.case_id}/{creditor}",
        body=face("obama.jpg"),
        headers={**token("clerk"), "Content-Type": "image/jpeg"},
        method="PUT",
    )
    proposed = _call(
        f"{api}/cases/{case.case_id}/disbursements",
        body={"creditor_party_id": creditor, "amount": PAID, "note": "无争议部分"},
        headers=token("clerk", subject="clerk-1"),
    )
    for role, subject in (("approver", "chief-1"), ("finance", "finance-1")):
        _call(
            f"{api}/disbursements/{proposed['disbursement_id']}/approve",
            body={}, headers=token(role, subject=subject),
        )  # fmt: skip
    return case, proposed


def _paid_and_right(case: Any) -> None:
    ledger = ledger_service()
    balance = ledger.balance(case.account_number)
    assert (balance.posted, balance.available) == (FUNDED - PAID, FUNDED - PAID)
    assert balance.debits_pending == 0
    assert ledger.balance(SystemAccount.PAYOUTS_IN_TRANSIT.of()).credits_pending == 0
    assert ledger.verify(case.account_number).ok


def test_only_the_right_face_is_paid(
    stack: dict[str, Any], token: Any, face: Callable[[str], bytes], tmp_path: Path
) -> None:
    api = stack["api"]
    case, proposed = _approved_payout(api, token, face, 6151)
    code = _claim_code(stack["outbox"])
    ledger = ledger_service()

    wrong = y4m_of(face("biden.jpg"), CENTRING["biden.jpg"], tmp_path / "biden.y4m")
    outcome, status = _face_check_on_a_phone(api, code, wrong, confirm=True)
    assert (outcome, status) == ("no_match", "ready")
    balance = ledger.balance(case.account_number)
    assert (balance.posted, balance.available) == (FUNDED, FUNDED - PAID)  # reserved, not paid
    assert balance.debits_pending == PAID  # the reservation, held against payouts in transit
    assert ledger.balance(SystemAccount.PAYOUTS_IN_TRANSIT.of()).credits_pending == PAID
    assert ledger.verify(case.account_number).ok

    right = y4m_of(face("obama2.jpg"), CENTRING["obama2.jpg"], tmp_path / "obama2.y4m")
    outcome, status = _face_check_on_a_phone(api, code, right, confirm=True)
    assert (outcome, status) == ("match", "paid")
    _paid_and_right(case)

    trail = _call(
        f"{api}/identity/claims/{proposed['disbursement_id']}",
        headers=token("auditor"), method="GET",
    )["trail"]  # fmt: skip
    assert [e["details"]["outcome"] for e in trail] == ["no_match", "match"]
    assert all(e["details"]["liveness"] == "not_checked" for e in trail)


def test_a_refused_creditor_is_paid_after_a_human_review(
    stack: dict[str, Any], token: Any, face: Callable[[str], bytes], tmp_path: Path
) -> None:
    """The camera's face does not match; the creditor asks a person to check, another officer
    than the proposer approves, and the page collects the grant and is paid."""
    api = stack["api"]
    case, proposed = _approved_payout(api, token, face, 6252)
    code = _claim_code(stack["outbox"])
    video = y4m_of(face("biden.jpg"), CENTRING["biden.jpg"], tmp_path / "biden.y4m")
    reviewer = token("clerk", subject="clerk-2")
    args = [
        *CHROMIUM_ARGS,
        "--use-fake-ui-for-media-stream",
        "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-video-capture={video}",
    ]
    with playwright_api.sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=CHROMIUM, args=args)
        try:
            context = browser.new_context(
                viewport={"width": 375, "height": 812}, is_mobile=True, permissions=["camera"]
            )
            page = context.new_page()
            page.goto(f"{api}/claim#{code}")
            page.wait_for_selector("#status[data-state=ready]", timeout=30_000)
            page.click("#face-agree")
            page.wait_for_selector("#face-video[data-ready=yes]", timeout=30_000)
            page.click("#face-shoot")
            page.wait_for_selector("#face-outcome[data-outcome=no_match]", timeout=90_000)
            assert page.is_visible("#face-review-note")
            page.click("#face-review")
            page.wait_for_selector("#face-outcome[data-outcome=review_pending]", timeout=30_000)
            assert page.evaluate("document.documentElement.scrollWidth") <= 375

            [review] = _call(
                f"{api}/identity/face-reviews?court={urllib.parse.quote('粤0604')}",
                headers=reviewer,
                method="GET",
            )["reviews"]
            assert review["disbursement_id"] == proposed["disbursement_id"]
            _call(
                f"{api}/identity/face-reviews/{review['review_id']}/decision",
                body={"approve": True, "reason": "到庭核对身份证原件，确为本人"},
                headers=reviewer,
            )
            page.wait_for_selector("#face-outcome[data-outcome=review_granted]", timeout=60_000)
            page.click("#face-confirm")
            page.wait_for_selector("#status[data-state=paid]", timeout=60_000)
        finally:
            browser.close()
    _paid_and_right(case)
    trail = _call(
        f"{api}/identity/claims/{proposed['disbursement_id']}",
        headers=token("auditor"), method="GET",
    )["trail"]  # fmt: skip
    decisions = [e["details"] for e in trail if e["kind"] == "decision"]
    assert [d["outcome"] for d in decisions] == ["no_match", "match"]
    assert decisions[-1]["checks"] == ["human review by clerk-2"]


def test_without_a_camera_an_uploaded_photo_is_checked_and_refused_with_its_reason(
    stack: dict[str, Any], token: Any, face: Callable[[str], bytes]
) -> None:
    """A phone whose camera cannot be used (here: none at all) uploads a photo instead; a
    picture of two people is refused with the reason in the page's language, nothing moves."""
    api = stack["api"]
    case, _ = _approved_payout(api, token, face, 6353)
    code = _claim_code(stack["outbox"])
    photo = {"name": "photo.jpg", "mimeType": "image/jpeg", "buffer": face("two_people.jpg")}
    with playwright_api.sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport={"width": 375, "height": 812}, is_mobile=True)
            page = context.new_page()
            page.goto(f"{api}/claim#{code}")
            page.wait_for_selector("#status[data-state=ready]", timeout=30_000)
            page.click("#face-agree")
            page.wait_for_selector("#face-no-camera", state="visible", timeout=30_000)
            assert not page.is_visible("#face-shoot")
            page.set_input_files("#face-upload", files=[photo])
            page.wait_for_selector("#face-outcome[data-outcome=refused]", timeout=90_000)
            assert page.inner_text("#face-outcome") == "画面中只能有您一人"
            page.click("#lang-switch")
            assert page.inner_text("#face-outcome") == "only you in the picture"
            assert page.is_visible("#face-retry")
            assert page.evaluate("document.documentElement.scrollWidth") <= 375
        finally:
            browser.close()
    balance = ledger_service().balance(case.account_number)
    assert (balance.posted, balance.available) == (FUNDED, FUNDED - PAID)  # reserved, not paid

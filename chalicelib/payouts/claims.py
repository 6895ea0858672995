"""Claim links: the one-time code a creditor receives by SMS, and what it may be used for.

The code is 32 random bytes (43 URL-safe characters, 256 bits): guessing one is hopeless, and
failed lookups are also counted per client and refused beyond a limit. The link carries the code
in the URL fragment (``/claim#...``), which browsers never send to a server or put in a
Referer; the page posts it in a request body. Only the code's SHA-256 is stored. A new code
(reissue, a lost SMS) replaces the old one, and the code can release the money once.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

from chalicelib.cases import FundType
from chalicelib.money import format_yuan
from chalicelib.notifications import Channel, Notification, Recipient
from chalicelib.payouts.models import Disbursement

CODE_BYTES = 32


def new_code() -> str:
    return secrets.token_urlsafe(CODE_BYTES)


def code_hash(code: str) -> str:
    return hashlib.sha256(code.encode("ascii")).hexdigest()


def client_key(source_ip: str | None) -> str:
    """How failed lookups are counted: per client address, hashed (no address is stored)."""
    return hashlib.sha256((source_ip or "unknown").encode()).hexdigest()[:32]


def window_of(now: datetime, minutes: int) -> str:
    start = int(now.timestamp()) // (minutes * 60)
    return str(start)


def claim_notice(d: Disbursement, code: str, base_url: str) -> Notification:
    """The SMS that tells the creditor the money is ready, with the claim link."""
    link = f"{base_url}/claim#{code}"
    fund = "案款" if d.fund_type == FundType.ENFORCEMENT else "款项"
    body = (
        f"【{d.court_name}】{d.case_number}的{fund}{format_yuan(d.amount)}元已批准发放给您。"
        f"请在{d.claim_expires_at:%Y-%m-%d}前打开链接核验身份并领取：{link} "
        "请勿转发此短信。"
    )
    return Notification(
        key=f"payout-claim:{d.disbursement_id}:{d.attempt}:{code_hash(code)[:16]}",
        kind="payout.claim_link",
        case_id=d.case_id,
        recipients=(
            Recipient(channel=Channel.SMS, address=d.creditor_phone, party_id=d.creditor_party_id),
        ),
        subject="案款领取",
        body=body,
    )

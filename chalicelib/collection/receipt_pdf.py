"""The electronic receipt as a PDF: Chinese by default, English on request.

The Chinese text needs a CJK font; the project installs WenQuanYi Micro Hei (``make
system-deps``) and ``RECEIPT_FONT`` may point elsewhere. Receipts carry no party's personal data:
the case, the amount, the time, the payment reference and the court's receipt number.
"""

from __future__ import annotations

import io
import logging
import os
from functools import lru_cache
from typing import Literal

from reportlab.lib import colors
from reportlab.lib.pagesizes import A5, landscape
from reportlab.lib.units import mm
from reportlab.lib.utils import simpleSplit
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen import canvas

from chalicelib.cases.identifiers import group_account_number
from chalicelib.collection.errors import ReceiptUnavailable
from chalicelib.collection.models import CHINA_TIME, Payment
from chalicelib.money import format_yuan
from chalicelib.settings import DEFAULT_RECEIPT_FONT

log = logging.getLogger(__name__)

Language = Literal["zh", "en"]
DEFAULT_FONT = DEFAULT_RECEIPT_FONT
FONT_NAME = "ReceiptCJK"

_DIGITS = "零壹贰叁肆伍陆柒捌玖"
_SMALL_UNITS = ("", "拾", "佰", "仟")
_GROUP_UNITS = ("", "万", "亿", "万亿")

_LABELS: dict[Language, dict[str, str]] = {
    "zh": {
        "title": "执行款电子收据",
        "receipt_number": "收据编号",
        "case_number": "案号",
        "account": "案款账号",
        "amount": "缴款金额",
        "amount_words": "金额大写",
        "paid_at": "到账时间",
        "reference": "支付流水号",
        "method": "缴款方式",
        "method_value": "网上支付",
        "status": "状态",
        "status_value": "已到账",
        "time_zone": "北京时间",
        "footer": "本收据由系统自动生成，可凭收据编号向法院核验。"
        "款项已记入本案案款账户（一案一账号）。",
    },
    "en": {
        "title": "Electronic receipt for enforcement money",
        "receipt_number": "Receipt No.",
        "case_number": "Case No.",
        "account": "Case account",
        "amount": "Amount",
        "amount_words": "In words (Chinese)",
        "paid_at": "Received at",
        "reference": "Payment reference",
        "method": "Paid by",
        "method_value": "online payment",
        "status": "Status",
        "status_value": "Received",
        "time_zone": "China Standard Time",
        "footer": "Issued by the court's system; verify it with the court by its receipt number. "
        "The money is held in this case's own account.",
    },
}


def amount_in_words(fen: int) -> str:
    """Fen in the capital numerals of Chinese financial documents: 12345 -> 壹佰贰拾叁元肆角伍分."""
    if fen < 0:
        raise ValueError("a receipt amount is not negative")
    yuan, cents = divmod(fen, 100)
    jiao, fen_digit = divmod(cents, 10)
    text = _yuan_in_words(yuan) + "元" if yuan else ""
    if cents == 0:
        return (text or "零元") + "整"
    if jiao:
        text += _DIGITS[jiao] + "角"
    elif yuan:
        text += "零"
    return text + (_DIGITS[fen_digit] + "分" if fen_digit else "整")


def _yuan_in_words(yuan: int) -> str:
    groups = []
    while yuan:
        yuan, group = divmod(yuan, 10_000)
        groups.append(group)
    text = ""
    pending_zero = False
    for level in range(len(groups) - 1, -1, -1):
        group = groups[level]
        if group == 0:
            pending_zero = bool(text)
            continue
        if text and (pending_zero or group < 1000):
            text += "零"
        text += _group_in_words(group) + _GROUP_UNITS[level]
        pending_zero = False
    return text


def _group_in_words(group: int) -> str:
    text = ""
    zero = False
    for position in range(3, -1, -1):
        digit = group // 10**position % 10
        if digit == 0:
            zero = bool(text)
            continue
        if zero:
            text += "零"
            zero = False
        text += _DIGITS[digit] + _SMALL_UNITS[position]
    return text


@lru_cache(maxsize=1)
def _register_font(path: str) -> str:
    if not os.path.exists(path):
        log.error("receipt font %s is missing; `make system-deps` installs it", path)
        raise ReceiptUnavailable("the receipt font is not installed on this server")
    pdfmetrics.registerFont(TTFont(FONT_NAME, path, subfontIndex=0))
    return FONT_NAME


def receipt_rows(payment: Payment, *, lang: Language) -> list[tuple[str, str]]:
    """What the receipt says, label and value, in the payer's words: the amount grouped as on
    the pages, the time in China Standard Time, the way of paying without the rail's name."""
    if payment.paid_at is None or payment.receipt_number is None:
        raise ValueError("only a received payment has a receipt")
    china_time = payment.paid_at.astimezone(CHINA_TIME)
    labels = _LABELS[lang]
    amount = payment.amount_received or payment.amount
    return [
        (labels["receipt_number"], payment.receipt_number),
        (labels["case_number"], payment.case.case_number),
        (labels["account"], group_account_number(payment.case.account_number)),
        (labels["amount"], f"{payment.currency} {format_yuan(amount, grouped=True)}"),
        (labels["amount_words"], "人民币" + amount_in_words(amount)),
        (
            labels["paid_at"],
            f"{china_time:%Y-%m-%d %H:%M:%S} ({labels['time_zone']})",
        ),
        (labels["reference"], payment.rail_reference or ""),
        (labels["method"], labels["method_value"]),
        (labels["status"], labels["status_value"]),
    ]


def render_receipt(payment: Payment, *, lang: Language, font: str = DEFAULT_FONT) -> bytes:
    """The receipt of a received payment as a one-page PDF, drawn with the CJK font at ``font``
    (the ``receipt_font`` setting)."""
    rows = receipt_rows(payment, lang=lang)
    font = _register_font(font)
    labels = _LABELS[lang]

    buffer = io.BytesIO()
    width, height = landscape(A5)
    page = canvas.Canvas(buffer, pagesize=(width, height), invariant=True)
    page.setTitle(f"{labels['title']} {payment.receipt_number}")
    page.setAuthor(payment.case.court_name)
    margin = 14 * mm
    page.setStrokeColor(colors.HexColor("#9b1c1c"))
    page.setLineWidth(1.2)
    page.rect(margin / 2, margin / 2, width - margin, height - margin)

    page.setFillColor(colors.black)
    page.setFont(font, 16)
    page.drawCentredString(width / 2, height - margin - 6 * mm, payment.case.court_name)
    page.setFont(font, 13)
    page.drawCentredString(width / 2, height - margin - 14 * mm, labels["title"])

    top = height - margin - 26 * mm
    line = 8.2 * mm
    label_x, value_x = margin + 4 * mm, margin + 46 * mm
    for index, (label, value) in enumerate(rows):
        y = top - index * line
        page.setFont(font, 9.5)
        page.setFillColor(colors.HexColor("#555555"))
        page.drawString(label_x, y, label)
        page.setFillColor(colors.black)
        page.setFont(font, 11)
        page.drawString(value_x, y, value)
        page.setStrokeColor(colors.HexColor("#dddddd"))
        page.setLineWidth(0.4)
        page.line(label_x, y - 2.6 * mm, width - margin - 4 * mm, y - 2.6 * mm)

    page.setFont(font, 8)
    page.setFillColor(colors.HexColor("#555555"))
    footer = simpleSplit(labels["footer"], font, 8, width - 2 * margin - 8 * mm)
    for index, text in enumerate(reversed(footer)):
        page.drawString(label_x, margin + 2 * mm + index * 4 * mm, text)
    page.showPage()
    page.save()
    return buffer.getvalue()

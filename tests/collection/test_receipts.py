"""The receipt: the amount in capital numerals, and a PDF only for a received payment."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from chalicelib.collection import ReceiptUnavailable
from chalicelib.collection.models import CaseSnapshot, Payment, PaymentStatus
from chalicelib.collection.receipt_pdf import amount_in_words, receipt_rows, render_receipt

NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("fen", "words"),
    [
        (0, "零元整"),
        (5, "伍分"),
        (50, "伍角整"),
        (100, "壹元整"),
        (12_345, "壹佰贰拾叁元肆角伍分"),
        (100_005, "壹仟元零伍分"),
        (1_000_100, "壹万零壹元整"),
        (10_000_000_000, "壹亿元整"),
        (1_020_300_405, "壹仟零贰拾万叁仟零肆元零伍分"),
        (12_345_678_905, "壹亿贰仟叁佰肆拾伍万陆仟柒佰捌拾玖元零伍分"),
    ],
)
def test_amount_in_capital_numerals(fen: int, words: str) -> None:
    assert amount_in_words(fen) == words


def payment(status: PaymentStatus, **changes: object) -> Payment:
    case = CaseSnapshot(
        case_id="c1",
        case_number="(2026)粤0604执1234号",
        court_code="粤0604",
        court_name="佛山市禅城区人民法院",
        account_number="4406042600000016",
        adjudicated_amount=10_000,
        currency="CNY",
    )
    values: dict[str, object] = {
        "payment_id": "pay_1",
        "case": case,
        "amount": 4_000,
        "currency": "CNY",
        "status": status,
        "rail": "stripe",
        "created_at": NOW,
        "updated_at": NOW,
        "rail_reference": "pi_1",
    }
    return Payment.model_validate(values | changes)


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_received_payment_renders_a_one_page_pdf_with_the_cjk_font_embedded(lang: str) -> None:
    received = payment(PaymentStatus.SUCCEEDED, paid_at=NOW, receipt_number="粤0604-2026-0000001")
    pdf = render_receipt(received, lang=lang)  # type: ignore[arg-type]

    assert pdf.startswith(b"%PDF")
    assert pdf.count(b"/Type /Page") - pdf.count(b"/Type /Pages") == 1
    assert b"/FontFile2" in pdf


def test_payment_not_received_has_no_receipt() -> None:
    with pytest.raises(ValueError, match="received"):
        render_receipt(payment(PaymentStatus.PROCESSING), lang="zh")


def test_missing_font_is_a_clear_retryable_error(monkeypatch: pytest.MonkeyPatch) -> None:
    received = payment(PaymentStatus.SUCCEEDED, paid_at=NOW, receipt_number="粤0604-2026-0000001")
    with pytest.raises(ReceiptUnavailable) as raised:
        render_receipt(received, lang="zh", font="/nonexistent/font.ttc")
    assert raised.value.status == 503


def test_receipt_shows_the_case_the_amount_the_china_time_the_reference_and_its_number(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """What the PDF says, read from the drawing calls (its subset font hides the text bytes)."""
    from reportlab.pdfgen.canvas import Canvas

    drawn: list[str] = []
    for name in ("drawString", "drawCentredString"):
        original = getattr(Canvas, name)

        def record(
            self: Canvas,
            x: float,
            y: float,
            text: str,
            *a: object,
            _o: object = original,
            **k: object,
        ) -> None:
            drawn.append(text)
            _o(self, x, y, text, *a, **k)  # type: ignore[operator]

        monkeypatch.setattr(Canvas, name, record)
    received = payment(
        PaymentStatus.SUCCEEDED,
        paid_at=datetime(2026, 12, 31, 16, 30, tzinfo=UTC),  # 00:30 on 1 January in Beijing
        amount_received=4_000,
        receipt_number="粤0604-2027-0000001",
    )
    render_receipt(received, lang="zh")

    for expected in (
        "佛山市禅城区人民法院",
        "粤0604-2027-0000001",
        "(2026)粤0604执1234号",
        "4406 0426 0000 0016",
        "CNY 40.00",
        "人民币肆拾元整",
        "2027-01-01 00:30:00 (北京时间)",
        "pi_1",
    ):
        assert expected in drawn, expected


@pytest.mark.parametrize(("lang", "zone"), [("zh", "北京时间"), ("en", "China Standard Time")])
def test_the_receipt_reads_as_the_pages_do_and_never_names_the_rail(lang: str, zone: str) -> None:
    received = payment(
        PaymentStatus.SUCCEEDED,
        amount=300_000,
        paid_at=NOW,
        receipt_number="粤0604-2026-0000001",
    )
    rows = dict(receipt_rows(received, lang=lang))  # type: ignore[arg-type]
    text = " ".join(rows.values()).lower()

    assert "CNY 3,000.00" in rows.values()
    assert "stripe" not in text
    assert f"2026-11-02 17:00:00 ({zone})" in rows.values()

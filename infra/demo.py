"""Demo data for the local stack: a court, cases with parties, and their accounts."""

from __future__ import annotations

from chalicelib.cases import Case
from chalicelib.cases.models import OpenCase
from chalicelib.wiring import case_service, ledger_service

COURT_CODE = "粤0604"
COURT_NAME = "佛山市禅城区人民法院"

_CREDITORS = [
    ("张三", "person", "440104198001011238", "13812345678", "6222020200112233445"),
    (
        "广东某某建材有限公司",
        "organisation",
        "91350100M000100Y43",
        "13922223333",
        "44050100123456789",
    ),
    ("李四", "person", "11010519491231002X", "13700001111", "6217000012345678901"),
]
_DEBTORS = [
    ("佛山某某贸易有限公司", "organisation", "91440604MA4UJ2AR8E", "13987654321"),
    ("王五", "person", "440602199003152316", "13600002222"),
    ("陈六", "person", "44060419851120001X", "13500003333"),
]


def demo_filings() -> list[OpenCase]:
    filings = []
    amounts = [12_345_600, 5_000_000, 880_000]
    for index, (creditor, debtor, amount) in enumerate(
        zip(_CREDITORS, _DEBTORS, amounts, strict=True), start=1
    ):
        c_name, c_type, c_id, c_phone, c_account = creditor
        d_name, d_type, d_id, d_phone = debtor
        filings.append(
            OpenCase.model_validate(
                {
                    "case_number": f"(2026)粤0604执{1230 + index}号",
                    "court_code": COURT_CODE,
                    "court_name": COURT_NAME,
                    "fund_types": ["enforcement", "enforcement_fee"],
                    "adjudicated_amount": amount,
                    "parties": [
                        {
                            "role": "creditor",
                            "name": c_name,
                            "type": c_type,
                            "id_number": c_id,
                            "phone": c_phone,
                            "receiving_account": {
                                "bank_name": "中国工商银行佛山分行",
                                "account_name": c_name,
                                "account_number": c_account,
                            },
                        },
                        {
                            "role": "debtor",
                            "name": d_name,
                            "type": d_type,
                            "id_number": d_id,
                            "phone": d_phone,
                        },
                    ],
                }
            )
        )
    return filings


def load_demo_data() -> list[Case]:
    """Idempotent: filing the same demo cases again returns the ones already open."""
    ledger_service().ensure_system_accounts()
    service = case_service()
    return [service.open(f, actor="demo loader")[0] for f in demo_filings()]

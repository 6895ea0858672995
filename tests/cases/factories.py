"""Valid case filings for tests, with real check digits."""

from __future__ import annotations

import copy
from typing import Any

# Check characters computed by the algorithms in chalicelib.cases.identifiers; the tests in
# test_identifiers.py prove them independently.
CREDITOR_ID = "440104198001011238"
DEBTOR_ID = "11010519491231002X"
DEBTOR_CREDIT_CODE = "91350100M000100Y43"


def filing(serial: int = 1234, **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "case_number": f"(2026)粤0604执{serial}号",
        "court_code": "粤0604",
        "court_name": "佛山市禅城区人民法院",
        "fund_types": ["enforcement", "enforcement_fee"],
        "adjudicated_amount": 12_345_600,
        "parties": [
            {
                "role": "creditor",
                "name": "张三",
                "type": "person",
                "id_number": CREDITOR_ID,
                "phone": "13812345678",
                "receiving_account": {
                    "bank_name": "中国工商银行佛山分行",
                    "account_name": "张三",
                    "account_number": "6222020200112233445",
                },
            },
            {
                "role": "debtor",
                "name": "佛山某某贸易有限公司",
                "type": "organisation",
                "id_number": DEBTOR_CREDIT_CODE,
                "phone": "13987654321",
            },
        ],
    }
    body.update(copy.deepcopy(changes))
    return body

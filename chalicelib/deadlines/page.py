"""The public page of unclaimed money (公示): rendered on the server, no script, only the day
the money arrived, the amount and a masked payer reference."""

from __future__ import annotations

import html
from collections.abc import Iterable

from chalicelib.deadlines.models import Publication
from chalicelib.money import format_yuan

PAGE = """<!doctype html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>不明款项公示 · Unclaimed payments</title>
<link rel="stylesheet" href="/oversight.css">
</head>
<body>
<main>
<h1>不明款项公示 <small>Unclaimed payments</small></h1>
<p>以下款项到账后未能确认所属案件。如系您的付款，请持付款凭证联系法院财务部门认领；公示期满仍未认领的，
将原路退回付款人。<br><span lang="en">These payments reached the court without a case we could
recognise. If one is yours, bring your payment record to the court's finance office; what is not
claimed by the end of the period is refunded to the payer.</span></p>
{body}
</main>
</body>
</html>
"""


def render(publications: Iterable[Publication]) -> str:
    rows = [
        "<tr>"
        f"<td>{p.arrived_on.isoformat()}</td>"
        f'<td class="num">{html.escape(format_yuan(p.amount))} {html.escape(p.currency)}</td>'
        f"<td><code>{html.escape(p.masked_reference)}</code></td>"
        f"<td>{p.published_until.isoformat()}</td>"
        "</tr>"
        for p in publications
    ]
    if not rows:
        body = '<p>目前没有公示中的款项。<span lang="en">Nothing is published now.</span></p>'
    else:
        body = (
            '<div class="scroll"><table><thead><tr><th>到账日期 Arrived</th>'
            '<th class="num">金额 Amount</th><th>付款参考 Reference</th>'
            "<th>公示至 Until</th></tr></thead><tbody>" + "".join(rows) + "</tbody></table></div>"
        )
    return PAGE.replace("{body}", body)

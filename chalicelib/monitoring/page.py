"""The monitoring page (集中监管) for court leaders: figures per court, a chart of money held
and of working days to payout, unidentified funds and reconciliation. Rendered on the server
as HTML with inline SVG charts and no script."""

from __future__ import annotations

import html
from collections.abc import Sequence

from chalicelib.monitoring.figures import CourtFigures, Overview

ROW = 30  # px per bar in the charts
LABEL = 70  # px for the court code
WIDTH = 360  # the charts' drawing width; the SVG scales to the screen


STATUS_NAMES = {
    "not_run": "未对账 not run",
    "open": "有差异 open",
    "balanced": "已平 balanced",
    "closed": "已结 closed",
}


def _e(text: object) -> str:
    return html.escape(str(text))


def _yuan(fen: int) -> str:
    """Yuan with thousands separators, so a sum in the millions reads at a glance."""
    whole, cents = divmod(abs(fen), 100)
    return f"{'-' if fen < 0 else ''}{whole:,}.{cents:02d}"


def _bars(rows: Sequence[tuple[str, float, str, float | None]], title: str, caption: str) -> str:
    """A horizontal bar chart: (label, value, value text, optional marker value)."""
    top = max([v for _, v, _, _ in rows] + [m or 0 for *_, m in rows] + [1])
    span = WIDTH - LABEL - 90
    height = ROW * max(len(rows), 1) + 8
    parts = [
        f'<svg viewBox="0 0 {WIDTH} {height}" role="img" aria-label="{_e(title)}">',
        f'<line class="axis" x1="{LABEL}" y1="0" x2="{LABEL}" y2="{height}"/>',
    ]
    for n, (label, value, text, marker) in enumerate(rows):
        y = n * ROW + 6
        width = max(round(span * value / top, 1), 1 if value else 0)
        parts.append(f'<text x="0" y="{y + 14}">{_e(label)}</text>')
        parts.append(
            f'<rect class="bar" x="{LABEL}" y="{y}" width="{width}" height="18" rx="2">'
            f"<title>{_e(label)}: {_e(text)}</title></rect>"
        )
        if marker is not None:
            mx = LABEL + round(span * marker / top, 1)
            parts.append(f'<rect class="worst" x="{mx - 1.5}" y="{y - 2}" width="3" height="22"/>')
        parts.append(f'<text x="{LABEL + width + 6}" y="{y + 14}">{_e(text)}</text>')
    if not rows:
        parts.append('<text x="8" y="20">—</text>')
    parts.append("</svg>")
    return f"<figure><figcaption>{caption}</figcaption>{''.join(parts)}</figure>"


def _held_chart(courts: tuple[CourtFigures, ...]) -> str:
    rows = [(c.court, float(c.held), f"¥{_yuan(c.held)}", None) for c in courts]
    return _bars(rows, "money held per court", "在账案款 <small>Money held</small>")


def _payout_chart(courts: tuple[CourtFigures, ...]) -> str:
    rows = [
        (
            c.court,
            c.payout_days_average or 0.0,
            "—"
            if c.payout_days_average is None
            else f"{c.payout_days_average} / {c.payout_days_worst}",
            None if c.payout_days_worst is None else float(c.payout_days_worst),
        )
        for c in courts
    ]
    return _bars(
        rows,
        "working days from arrival to payout, average and worst",
        "到账至发放（工作日） <small>Working days to payout: average / worst (red)</small>",
    )


def _court_table(courts: tuple[CourtFigures, ...]) -> str:
    head = (
        "<tr><th>法院 Court</th><th class=num>案件 Cases</th><th class=num>在账 Held (¥)</th>"
        "<th class=num>逾期 Overdue</th><th class=num>临期 Near due</th>"
        "<th class=num>延缓 Deferred</th><th class=num>发放 Paid out</th>"
        "<th class=num>平均 Avg days</th><th class=num>最长 Worst</th></tr>"
    )
    body = "".join(
        "<tr>"
        f"<td>{_e(c.court)}</td><td class=num>{c.cases}</td>"
        f"<td class=num>{_e(_yuan(c.held))}</td>"
        f"<td class='num{' bad' if c.overdue else ''}'>{c.overdue}</td>"
        f"<td class=num>{c.near_due}</td><td class=num>{c.deferred}</td>"
        f"<td class=num>{c.payouts}</td>"
        f"<td class=num>{'—' if c.payout_days_average is None else c.payout_days_average}</td>"
        f"<td class=num>{'—' if c.payout_days_worst is None else c.payout_days_worst}</td>"
        "</tr>"
        for c in courts
    )
    return f'<div class="scroll"><table><thead>{head}</thead><tbody>{body}</tbody></table></div>'


def render(view: Overview, *, csv_link: str) -> str:
    held = sum(c.held for c in view.courts)
    overdue = sum(c.overdue for c in view.courts)
    u = view.unidentified
    alarm = f'<p class="alarm">{_e(view.calendar_alarm)}</p>' if view.calendar_alarm else ""
    days = "".join(
        f'<li class="{_e(d.status)}">{d.day.isoformat()} · {_e(STATUS_NAMES[d.status])}'
        + (f" · ¥{_e(_yuan(d.unexplained))}" if d.unexplained else "")
        + "</li>"
        for d in view.reconciliation
    )
    return f"""<!doctype html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>集中监管 · Monitoring</title>
<link rel="stylesheet" href="/oversight.css">
</head>
<body>
<main>
<h1>执行款集中监管 <small>Enforcement funds monitoring</small></h1>
<p class="meta">{view.day.isoformat()} · {len(view.courts)} 个法院 courts ·
<a href="{_e(csv_link)}">CSV</a></p>
{alarm}
<div class="cards">
<div class="card"><b>¥{_e(_yuan(held))}</b><span>在账案款 Money held</span></div>
<div class="card"><b class="{"bad" if overdue else "good"}">{overdue}</b>
<span>逾期事项 Items overdue</span></div>
<div class="card"><b>{u.open}</b><span>不明款 Unidentified (¥{_e(_yuan(u.amount))})</span></div>
<div class="card"><b class="{"bad" if u.overdue else "good"}">{u.overdue}</b>
<span>超期未认领 Unclaimed past {
        ""
        if u.oldest_working_days is None
        else "limit; oldest " + str(u.oldest_working_days) + " working days"
    }</span></div>
</div>
<div class="charts">
{_held_chart(view.courts)}
{_payout_chart(view.courts)}
</div>
<h2>各法院 <small>By court</small></h2>
{_court_table(view.courts)}
<h2>对账 <small>Reconciliation with the rail, last 7 days</small></h2>
<ul class="days">{days}</ul>
</main>
</body>
</html>
"""

"""The alarm a whole-ledger check raises: every break logged, and a CloudWatch metric.

The metric is written as a CloudWatch embedded-metric log line, so Lambda's own log delivery
publishes it with no extra call; the alarm on it (``LedgerBreaks`` > 0) is defined in
``infra/audit.py`` and notifies the finance office's topic.
"""

from __future__ import annotations

import json
import logging

from chalicelib.audit.models import LedgerBreak
from chalicelib.clock import Clock

log = logging.getLogger(__name__)

METRIC_NAMESPACE = "CourtFunds/Audit"
BREAKS_METRIC = "LedgerBreaks"


def metric_line(*, stage: str, breaks: int, accounts: int, clock: Clock) -> str:
    """One CloudWatch embedded-metric-format record: breaks found and accounts checked."""
    return json.dumps(
        {
            "_aws": {
                "Timestamp": int(clock.now().timestamp() * 1000),
                "CloudWatchMetrics": [
                    {
                        "Namespace": METRIC_NAMESPACE,
                        "Dimensions": [["Stage"]],
                        "Metrics": [
                            {"Name": BREAKS_METRIC, "Unit": "Count"},
                            {"Name": "AccountsChecked", "Unit": "Count"},
                        ],
                    }
                ],
            },
            "Stage": stage,
            BREAKS_METRIC: breaks,
            "AccountsChecked": accounts,
        },
        separators=(",", ":"),
    )


def log_break(found: LedgerBreak) -> None:
    log.error(
        "ledger break: account %s, entry %s, %s: %s",
        found.account_id,
        found.seq,
        found.kind.value,
        found.detail,
    )

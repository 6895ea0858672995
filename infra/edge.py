"""The deployed API's front guard: a WAF rate rule per client address on the anonymous routes.

The app counts each client's calls itself (``chalicelib/ratelimit.py``); this rule stops a flood
at the edge, before it costs a Lambda call, and is set a little looser than the app's limits
(WAF counts over five minutes). ``make package`` (``infra/package.py``) merges these resources
into the stage's template beside the tables of ``infra/tables.py``:

    python -m infra.edge template prod     # print the resources for a stage
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

# WAF evaluates rate rules over a five-minute window.
WAF_WINDOW_SECONDS = 300
_STAGE_ARN = "arn:aws:apigateway:${AWS::Region}::/restapis/${RestAPI}/stages/"
# The anonymous routes that read a case or open a payment.
PUBLIC_PREFIXES = ("/collection/cases/", "/collection/payments/")


def waf_limit(per_window: int, window_seconds: int) -> int:
    """The app's per-window limit scaled to WAF's five minutes, with room for bursts."""
    return max(10, 2 * per_window * WAF_WINDOW_SECONDS // window_seconds)


def resources(stage: str, *, per_window: int, window_seconds: int) -> dict[str, Any]:
    """A regional WebACL with one rate-based rule, associated with the API's stage.

    ``RestAPI`` is the API resource in Chalice's generated template; its stage is named after
    ``api_gateway_stage`` in ``.chalice/config.json``, which is the stage name here, and SAM
    names the stage resource it makes ``RestAPI<stage>Stage``: the association waits for it.
    """
    scope_down = {
        "OrStatement": {
            "Statements": [
                {
                    "ByteMatchStatement": {
                        "FieldToMatch": {"UriPath": {}},
                        "PositionalConstraint": "STARTS_WITH",
                        "SearchString": prefix,
                        "TextTransformations": [{"Priority": 0, "Type": "NONE"}],
                    }
                }
                for prefix in PUBLIC_PREFIXES
            ]
        }
    }
    acl = {
        "Type": "AWS::WAFv2::WebACL",
        "Properties": {
            "Name": f"courtfunds-{stage}-public",
            "Scope": "REGIONAL",
            "DefaultAction": {"Allow": {}},
            "VisibilityConfig": _visibility(f"courtfunds-{stage}-public"),
            "Rules": [
                {
                    "Name": "public-routes-per-client",
                    "Priority": 0,
                    "Action": {"Block": {"CustomResponse": {"ResponseCode": 429}}},
                    "Statement": {
                        "RateBasedStatement": {
                            "Limit": waf_limit(per_window, window_seconds),
                            "AggregateKeyType": "IP",
                            "ScopeDownStatement": scope_down,
                        }
                    },
                    "VisibilityConfig": _visibility("public-routes-per-client"),
                }
            ],
        },
    }
    association = {
        "Type": "AWS::WAFv2::WebACLAssociation",
        "DependsOn": f"RestAPI{stage}Stage",
        "Properties": {
            "ResourceArn": {"Fn::Sub": _STAGE_ARN + stage},
            "WebACLArn": {"Fn::GetAtt": ["PublicRateLimit", "Arn"]},
        },
    }
    return {"Resources": {"PublicRateLimit": acl, "PublicRateLimitAssociation": association}}


def _visibility(name: str) -> dict[str, Any]:
    return {"SampledRequestsEnabled": True, "CloudWatchMetricsEnabled": True, "MetricName": name}


def stage_resources(stage: str) -> dict[str, Any]:
    """The rule for ``stage`` at the app's default limits (what ``make package`` merges)."""
    from chalicelib.settings import Settings

    defaults = Settings.model_fields
    per_window = int(defaults["public_lookups_per_window"].default) + int(
        defaults["public_payments_per_window"].default
    )
    window = int(defaults["rate_window_seconds"].default)
    return resources(stage, per_window=per_window, window_seconds=window)


def main(argv: list[str]) -> int:
    if argv[:1] != ["template"]:
        print(__doc__)
        return 2
    stage = argv[1] if len(argv) > 1 else os.environ.get("STAGE", "local")
    print(json.dumps(stage_resources(stage), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""The deployed template's rate rule and the table TTL that lets rate limit windows expire."""

from __future__ import annotations

from typing import Any

from chalicelib.settings import Settings
from infra import edge, tables


def test_the_waf_rule_limits_each_client_on_the_public_routes() -> None:
    template = edge.resources("prod", per_window=40, window_seconds=60)["Resources"]
    [rule] = template["PublicRateLimit"]["Properties"]["Rules"]
    statement = rule["Statement"]["RateBasedStatement"]
    assert statement["AggregateKeyType"] == "IP"
    assert statement["Limit"] == 400  # 40 a minute is 200 per five minutes, doubled for bursts
    prefixes = {
        s["ByteMatchStatement"]["SearchString"]
        for s in statement["ScopeDownStatement"]["OrStatement"]["Statements"]
    }
    assert prefixes == {"/collection/cases/", "/collection/payments/"}
    assert rule["Action"]["Block"]["CustomResponse"]["ResponseCode"] == 429
    association = template["PublicRateLimitAssociation"]["Properties"]
    assert association["ResourceArn"]["Fn::Sub"].endswith("/restapis/${RestAPI}/stages/prod")


def test_the_edge_limit_is_looser_than_the_apps_own() -> None:
    fields = Settings.model_fields
    per_minute: Any = fields["public_lookups_per_window"].default
    per_minute += fields["public_payments_per_window"].default
    window: Any = fields["rate_window_seconds"].default
    assert edge.waf_limit(per_minute, window) > per_minute * 300 // window


def test_the_collection_table_expires_rate_windows() -> None:
    resources = tables.cloudformation_resources("prod")["Resources"]
    ttl = resources["CollectionTable"]["Properties"]["TimeToLiveSpecification"]
    assert ttl == {"AttributeName": "expires_at", "Enabled": True}


def test_created_tables_have_the_ttl_switched_on(aws: Any) -> None:
    described = aws.describe_time_to_live(TableName="courtfunds-test-collection")
    assert described["TimeToLiveDescription"]["AttributeName"] == "expires_at"


def test_the_deployment_package_merges_the_rate_rule() -> None:
    from infra.package import function_names, merge_template

    resources = merge_template("prod", function_names())["Resources"]
    assert resources["PublicRateLimit"]["Type"] == "AWS::WAFv2::WebACL"
    association = resources["PublicRateLimitAssociation"]
    assert association["DependsOn"] == "RestAPIprodStage"  # the stage SAM makes for the API

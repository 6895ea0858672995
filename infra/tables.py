"""The DynamoDB tables, defined once.

Deployment (the CloudFormation template merged into ``chalice package``), the local stack and
the tests all create the tables from ``TABLES`` below. Every table has the same generic key
shape (``pk``/``sk``) and two sparse secondary indexes, so each capability designs its own
item layout without a schema change.

    python -m infra.tables create      # create missing tables at AWS_ENDPOINT_URL_DYNAMODB
    python -m infra.tables template    # print the CloudFormation resources for deployment
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class TableSpec:
    logical_name: str  # used in CloudFormation and as the env variable prefix
    env_var: str  # the Lambda environment variable that carries the physical name
    purpose: str
    indexes: tuple[str, ...] = ("gsi1", "gsi2")
    ttl_attribute: str | None = None  # items with this epoch-seconds attribute expire


TABLES: tuple[TableSpec, ...] = (
    TableSpec("CasesTable", "CASES_TABLE", "cases, parties, status history, counters"),
    TableSpec("PayoutsTable", "PAYOUTS_TABLE", "disbursements to creditors, claim links"),
    TableSpec("LedgerTable", "LEDGER_TABLE", "accounts, transfers, entries (hash chains)"),
    TableSpec(
        "CollectionTable",
        "COLLECTION_TABLE",
        "payments, webhook events, receipts, rate limit windows",
        ttl_attribute="expires_at",
    ),
    TableSpec("IdentityTable", "IDENTITY_TABLE", "reference photos on file, face checks, grants"),
    TableSpec("ApprovalsTable", "APPROVALS_TABLE", "approvals with their history, queues"),
    TableSpec("RefundsTable", "REFUNDS_TABLE", "refunds, their attempts and history, holds"),
    TableSpec(
        "OversightTable",
        "OVERSIGHT_TABLE",
        "working-day calendar schedules, deadline clocks and escalations, reconciliation days",
    ),
)


def default_table_name(spec: TableSpec, stage: str) -> str:
    base = spec.logical_name.removesuffix("Table").lower()
    return f"courtfunds-{stage}-{base}"


def table_names(stage: str) -> dict[str, str]:
    """Env variable -> physical table name for a stage, honouring overrides in the environment."""
    return {s.env_var: os.environ.get(s.env_var, default_table_name(s, stage)) for s in TABLES}


def create_table_request(spec: TableSpec, name: str) -> dict[str, Any]:
    """The CreateTable arguments for one table (the shape boto3 and CloudFormation share)."""
    attributes = [
        {"AttributeName": "pk", "AttributeType": "S"},
        {"AttributeName": "sk", "AttributeType": "S"},
    ]
    indexes = []
    for index in spec.indexes:
        attributes += [
            {"AttributeName": f"{index}pk", "AttributeType": "S"},
            {"AttributeName": f"{index}sk", "AttributeType": "S"},
        ]
        indexes.append(
            {
                "IndexName": index,
                "KeySchema": [
                    {"AttributeName": f"{index}pk", "KeyType": "HASH"},
                    {"AttributeName": f"{index}sk", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
        )
    request: dict[str, Any] = {
        "TableName": name,
        "AttributeDefinitions": attributes,
        "KeySchema": [
            {"AttributeName": "pk", "KeyType": "HASH"},
            {"AttributeName": "sk", "KeyType": "RANGE"},
        ],
        "BillingMode": "PAY_PER_REQUEST",
    }
    if indexes:
        request["GlobalSecondaryIndexes"] = indexes
    return request


def create_tables(client: Any, names: dict[str, str]) -> list[str]:
    """Create every table that does not exist yet; return the names created."""
    existing: set[str] = set()
    for page in client.get_paginator("list_tables").paginate():
        existing.update(page["TableNames"])
    created = []
    for spec in TABLES:
        name = names[spec.env_var]
        if name in existing:
            continue
        client.create_table(**create_table_request(spec, name))
        created.append(name)
    for name in created:
        client.get_waiter("table_exists").wait(TableName=name, WaiterConfig={"Delay": 1})
    for spec in TABLES:
        if spec.ttl_attribute and names[spec.env_var] in created:
            client.update_time_to_live(
                TableName=names[spec.env_var],
                TimeToLiveSpecification={"Enabled": True, "AttributeName": spec.ttl_attribute},
            )
    return created


def cloudformation_resources(stage: str) -> dict[str, Any]:
    """Tables as CloudFormation resources, to merge into ``chalice package --merge-template``."""
    resources: dict[str, Any] = {}
    for spec in TABLES:
        properties = create_table_request(spec, default_table_name(spec, stage))
        properties["PointInTimeRecoverySpecification"] = {"PointInTimeRecoveryEnabled": True}
        properties["SSESpecification"] = {"SSEEnabled": True}
        if spec.ttl_attribute:
            properties["TimeToLiveSpecification"] = {
                "AttributeName": spec.ttl_attribute,
                "Enabled": True,
            }
        properties["DeletionProtectionEnabled"] = True
        # The system of record outlives any stack: kept when the stack is deleted or a change
        # would replace the table, and DynamoDB refuses to delete it while protected.
        resources[spec.logical_name] = {
            "Type": "AWS::DynamoDB::Table",
            "DeletionPolicy": "Retain",
            "UpdateReplacePolicy": "Retain",
            "Properties": properties,
        }
    return {"Resources": resources}


def main(argv: list[str]) -> int:
    stage = os.environ.get("STAGE", "local")
    if argv[:1] == ["create"]:
        import boto3

        created = create_tables(boto3.client("dynamodb"), table_names(stage))
        print("created: " + (", ".join(created) or "nothing, all tables exist"))
        return 0
    if argv[:1] == ["template"]:
        print(json.dumps(cloudformation_resources(argv[1] if len(argv) > 1 else stage), indent=2))
        return 0
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

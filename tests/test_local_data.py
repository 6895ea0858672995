"""The local stack keeps its data across restarts: a snapshot taken from moto under its lock,
put back when the stack starts again; counters continue, so numbers are never issued twice."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from infra import snapshot
from infra.moto_server import serial_app, start_moto_server, stop_moto_server
from infra.tables import TABLES, create_tables, default_table_name

NAMES = {spec.env_var: default_table_name(spec, "local") for spec in TABLES}


@pytest.fixture
def moto() -> Iterator[tuple[Any, str]]:
    server, url = start_moto_server()
    try:
        yield server, url
    finally:
        reset(url)
        stop_moto_server(server)


def reset(url: str) -> None:
    """What a restart does to moto: everything in memory is gone."""
    request = urllib.request.Request(f"{url}/moto-api/reset", method="POST")  # noqa: S310
    urllib.request.urlopen(request, timeout=5).close()  # noqa: S310 - our own loopback server


def next_receipt_number(client: Any) -> int:
    answer = client.update_item(
        TableName=NAMES["COLLECTION_TABLE"],
        Key={"pk": {"S": "RECEIPTNO#粤0604#2026"}, "sk": {"S": "SEQ"}},
        UpdateExpression="ADD #next :one",
        ExpressionAttributeNames={"#next": "next"},
        ExpressionAttributeValues={":one": {"N": "1"}},
        ReturnValues="UPDATED_NEW",
    )
    return int(answer["Attributes"]["next"]["N"])


def test_data_and_counters_survive_a_restart(moto: tuple[Any, str], tmp_path: Path) -> None:
    server, url = moto
    client = boto3.client("dynamodb", endpoint_url=url)
    create_tables(client, NAMES)
    case = {"pk": {"S": "CASE#c1"}, "sk": {"S": "CASE"}, "doc": {"S": "粤0604 的案件"}}
    client.put_item(TableName=NAMES["CASES_TABLE"], Item=case)
    assert [next_receipt_number(client) for _ in range(2)] == [1, 2]
    data = tmp_path / "data" / "dynamodb.json"

    assert snapshot.take(serial_app(server), data, prefix="courtfunds-local-") == 2
    reset(url)
    assert NAMES["CASES_TABLE"] not in client.list_tables()["TableNames"]

    create_tables(client, NAMES)
    assert snapshot.restore(client, data) == 2
    kept = client.get_item(TableName=NAMES["CASES_TABLE"], Key={k: case[k] for k in ("pk", "sk")})
    assert kept["Item"] == case
    assert next_receipt_number(client) == 3  # never 1 again


def test_a_snapshot_keeps_only_the_local_stacks_tables(
    moto: tuple[Any, str], tmp_path: Path
) -> None:
    server, url = moto
    client = boto3.client("dynamodb", endpoint_url=url)
    create_tables(client, NAMES | {"CASES_TABLE": "someone-elses-table"})
    client.put_item(TableName="someone-elses-table", Item={"pk": {"S": "x"}, "sk": {"S": "y"}})
    data = tmp_path / "dynamodb.json"
    snapshot.take(serial_app(server), data, prefix="courtfunds-local-")
    tables = json.loads(data.read_text())["tables"]
    assert "someone-elses-table" not in tables
    assert not data.with_suffix(".partial").exists()


def test_no_snapshot_restores_nothing(moto: tuple[Any, str], tmp_path: Path) -> None:
    _, url = moto
    assert snapshot.restore(boto3.client("dynamodb", endpoint_url=url), tmp_path / "none") == 0

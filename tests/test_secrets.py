"""Secrets by name: files in the local stack, SSM Parameter Store or Secrets Manager (on moto)
in dev and prod."""

from __future__ import annotations

from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from chalicelib.secrets import (
    DirectorySecrets,
    ParameterStoreSecrets,
    SecretMissing,
    SecretsManagerSecrets,
)


def test_a_local_secret_is_read_from_its_file(tmp_path: Path) -> None:
    (tmp_path / "stripe-secret-key").write_text("sk_test_local\n")
    assert DirectorySecrets(tmp_path).get("stripe-secret-key") == "sk_test_local"


def test_a_missing_local_secret_says_where_to_put_it(tmp_path: Path) -> None:
    with pytest.raises(SecretMissing, match=str(tmp_path / "stripe-webhook-secret")):
        DirectorySecrets(tmp_path).get("stripe-webhook-secret")


def test_an_empty_local_secret_is_refused(tmp_path: Path) -> None:
    (tmp_path / "stripe-secret-key").write_text("  \n")
    with pytest.raises(SecretMissing, match="empty"):
        DirectorySecrets(tmp_path).get("stripe-secret-key")


def test_a_deployed_secret_is_read_decrypted_once_from_parameter_store() -> None:
    with mock_aws():
        client = boto3.client("ssm", region_name="us-east-1")
        name = "/courtfunds/prod/stripe-secret-key"
        client.put_parameter(Name=name, Value="sk_live_x", Type="SecureString")
        calls: list[str] = []
        client.meta.events.register("before-call.ssm.GetParameter", lambda **_: calls.append("get"))
        secrets = ParameterStoreSecrets(client)
        assert secrets.get(name) == "sk_live_x"
        assert secrets.get(name) == "sk_live_x"
        assert calls == ["get"]


def test_a_missing_deployed_secret_names_the_parameter() -> None:
    with mock_aws():
        client = boto3.client("ssm", region_name="us-east-1")
        with pytest.raises(SecretMissing, match="/courtfunds/prod/stripe-webhook-secret"):
            ParameterStoreSecrets(client).get("/courtfunds/prod/stripe-webhook-secret")


def test_a_secret_kept_in_secrets_manager_is_read_once() -> None:
    with mock_aws():
        client = boto3.client("secretsmanager", region_name="us-east-1")
        name = "/courtfunds/prod/stripe-secret-key"
        client.create_secret(Name=name, SecretString="sk_live_y")
        calls: list[str] = []
        client.meta.events.register(
            "before-call.secrets-manager.GetSecretValue", lambda **_: calls.append("get")
        )
        secrets = SecretsManagerSecrets(client)
        assert secrets.get(name) == "sk_live_y"
        assert secrets.get(name) == "sk_live_y"
        assert calls == ["get"]


def test_a_missing_secrets_manager_secret_is_named() -> None:
    with mock_aws():
        client = boto3.client("secretsmanager", region_name="us-east-1")
        with pytest.raises(SecretMissing, match="Secrets Manager"):
            SecretsManagerSecrets(client).get("/courtfunds/prod/stripe-webhook-secret")


def test_a_binary_only_secrets_manager_secret_is_refused() -> None:
    with mock_aws():
        client = boto3.client("secretsmanager", region_name="us-east-1")
        client.create_secret(Name="grant-key", SecretBinary=b"\x00\x01")
        with pytest.raises(SecretMissing, match="holds no string"):
            SecretsManagerSecrets(client).get("grant-key")

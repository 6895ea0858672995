"""The stages, table names and policies agree with the one table definition in infra/."""

from __future__ import annotations

import json
from pathlib import Path

from infra.tables import TABLES, cloudformation_resources, default_table_name

ROOT = Path(__file__).resolve().parent.parent


def test_every_stage_names_the_tables_infra_defines() -> None:
    config = json.loads((ROOT / ".chalice" / "config.json").read_text())
    assert config["autogen_policy"] is False
    assert set(config["stages"]) == {"local", "dev", "prod"}
    for stage, settings in config["stages"].items():
        env = settings["environment_variables"]
        assert env["STAGE"] == stage
        for spec in TABLES:
            assert env[spec.env_var] == default_table_name(spec, stage)
        policy = json.loads((ROOT / ".chalice" / settings["iam_policy_file"]).read_text())
        resources = [r for s in policy["Statement"] for r in s["Resource"] if "dynamodb" in r]
        assert f"arn:*:dynamodb:*:*:table/courtfunds-{stage}-*" in resources
        actions = {a for s in policy["Statement"] for a in s["Action"]}
        assert "dynamodb:Scan" not in actions
        assert "dynamodb:DeleteItem" not in actions


def test_deployed_stages_verify_tokens_against_a_cognito_pool() -> None:
    config = json.loads((ROOT / ".chalice" / "config.json").read_text())
    for stage, settings in config["stages"].items():
        env = settings["environment_variables"]
        # The local stack supplies its own key file; no stage in config.json names one.
        assert "AUTH_JWKS_FILE" not in env
        if stage != "local":
            # Issuer and JWKS URL (https) come from the pool id: tests/test_settings.py.
            assert {"COGNITO_USER_POOL_ID", "COGNITO_APP_CLIENT_ID"} <= set(env)
            assert not {"AUTH_ISSUER", "AUTH_AUDIENCE"} & set(env)


def test_deployment_template_holds_every_table() -> None:
    resources = cloudformation_resources("prod")["Resources"]
    assert set(resources) == {spec.logical_name for spec in TABLES}
    for resource in resources.values():
        assert resource["Properties"]["BillingMode"] == "PAY_PER_REQUEST"
        assert resource["DeletionPolicy"] == "Retain"
        assert resource["UpdateReplacePolicy"] == "Retain"
        assert resource["Properties"]["DeletionProtectionEnabled"] is True


def test_every_stage_names_the_buckets_infra_defines_and_may_reach_them() -> None:
    from infra.buckets import BUCKETS, default_bucket_name

    config = json.loads((ROOT / ".chalice" / "config.json").read_text())
    for stage, settings in config["stages"].items():
        env = settings["environment_variables"]
        policy = json.loads((ROOT / ".chalice" / settings["iam_policy_file"]).read_text())
        resources = {
            r
            for s in policy["Statement"]
            for r in ([s["Resource"]] if isinstance(s["Resource"], str) else s["Resource"])
        }
        for spec in BUCKETS:
            assert env[spec.env_var] == default_bucket_name(spec, stage)
            assert f"arn:*:s3:::{default_bucket_name(spec, stage)}/*" in resources
        # moto's canned CompareFaces must never decide a local face check
        assert env["FACE_VERIFIER"] == ("local" if stage == "local" else "rekognition")


def test_buckets_are_private_encrypted_and_tls_only_when_deployed() -> None:
    from infra.buckets import cloudformation_resources as bucket_resources

    resources = bucket_resources("prod")["Resources"]
    bucket = resources["ReferencePhotosBucket"]["Properties"]
    assert all(bucket["PublicAccessBlockConfiguration"].values())
    sse = bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]
    assert sse["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms"
    statement = resources["ReferencePhotosBucketPolicy"]["Properties"]["PolicyDocument"]
    assert statement["Statement"][0]["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}

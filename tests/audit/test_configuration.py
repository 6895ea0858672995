"""The digest bucket, signing key and alarm agree across config.json, the policies and infra."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import ValidationError

from chalicelib.settings import load
from infra.audit import cloudformation_resources, digest_bucket_name, digest_key_alias

ROOT = Path(__file__).resolve().parent.parent.parent


def test_every_stage_names_its_digest_bucket_and_deployed_stages_a_kms_key() -> None:
    config = json.loads((ROOT / ".chalice" / "config.json").read_text())
    for stage, settings in config["stages"].items():
        env = settings["environment_variables"]
        assert env["AUDIT_BUCKET"] == digest_bucket_name(stage)
        # the local stack signs with its own key file; only deployed stages name a KMS key
        assert env.get("DIGEST_KMS_KEY_ID") == (
            None if stage == "local" else digest_key_alias(stage)
        )
        assert "DIGEST_KEY_FILE" not in env
        policy = json.loads((ROOT / ".chalice" / settings["iam_policy_file"]).read_text())
        by_sid = {statement["Sid"]: statement for statement in policy["Statement"]}
        digests = by_sid["LedgerDigestsWriteOnce"]
        assert f"arn:aws:s3:::{digest_bucket_name(stage)}/*" in digests["Resource"]
        assert not any("Delete" in action for action in digests["Action"])
        signing = by_sid["DigestSigning"]
        assert set(signing["Action"]) == {"kms:Sign", "kms:GetPublicKey"}
        assert digest_key_alias(stage) in json.dumps(signing["Condition"])


def test_template_locks_the_bucket_in_compliance_mode_with_an_ecc_signing_key() -> None:
    resources = cloudformation_resources("prod")["Resources"]
    bucket = resources["DigestBucket"]["Properties"]
    assert bucket["ObjectLockEnabled"] is True
    assert bucket["ObjectLockConfiguration"]["Rule"]["DefaultRetention"]["Mode"] == "COMPLIANCE"
    assert resources["DigestBucket"]["DeletionPolicy"] == "Retain"
    key = resources["DigestSigningKey"]["Properties"]
    assert (key["KeySpec"], key["KeyUsage"]) == ("ECC_NIST_P256", "SIGN_VERIFY")
    alarm = resources["LedgerBreaksAlarm"]["Properties"]
    assert (alarm["MetricName"], alarm["Threshold"]) == ("LedgerBreaks", 0)


def test_the_local_key_file_is_refused_outside_the_local_stack(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("AUTH_ISSUER", "https://auth.court-funds.test")
    monkeypatch.setenv("AUTH_AUDIENCE", "court-funds-test")
    monkeypatch.setenv("DIGEST_KEY_FILE", str(tmp_path / "key.pem"))
    monkeypatch.setenv("STAGE", "prod")
    with pytest.raises(ValidationError, match="digest_key_file"):
        load()


def test_every_stage_names_its_exports_bucket_and_deployed_stages_the_export_lambda() -> None:
    from infra.audit import export_function_name, exports_bucket_name, ledger_check_function_name

    config = json.loads((ROOT / ".chalice" / "config.json").read_text())
    resources = cloudformation_resources("prod")["Resources"]
    assert resources["ExportsBucket"]["Properties"]["BucketName"] == exports_bucket_name("prod")
    for stage, settings in config["stages"].items():
        env = settings["environment_variables"]
        assert env["EXPORTS_BUCKET"] == exports_bucket_name(stage)
        if stage != "local":
            assert env["EXPORT_RUNNER"] == "lambda"
            assert env["EXPORT_FUNCTION"] == export_function_name(stage)
        policy = json.loads((ROOT / ".chalice" / settings["iam_policy_file"]).read_text())
        by_sid = {statement["Sid"]: statement for statement in policy["Statement"]}
        assert by_sid["AuditExports"]["Resource"] == [
            f"arn:aws:s3:::{exports_bucket_name(stage)}/*"
        ]
        assert by_sid["InvokeBackgroundWork"]["Resource"] == [
            f"arn:aws:lambda:*:*:function:{export_function_name(stage)}",
            f"arn:aws:lambda:*:*:function:{ledger_check_function_name(stage)}",
        ]
        if stage != "local":
            assert env["LEDGER_CHECK_FUNCTION"] == ledger_check_function_name(stage)

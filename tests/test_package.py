"""The deployment package's merge template: tables from infra/, functions referring to them,
sized, and sweepers one at a time. (``make package`` runs ``chalice package`` and cfn-lint.)"""

from __future__ import annotations

from infra.package import API, SWEEPER, function_names, merge_template
from infra.tables import TABLES


def test_every_function_chalice_emits_is_sized_and_every_schedule_is_a_sweeper() -> None:
    functions = function_names()
    assert functions["APIHandler"] == API
    assert functions["SweepPayments"] == SWEEPER
    assert functions["ExpirePendingTransfers"] == SWEEPER
    assert API.timeout_s <= 29  # API Gateway stops waiting at 29 s
    assert SWEEPER.reserved == 1


def test_functions_refer_to_the_tables_of_the_template() -> None:
    resources = merge_template("prod", function_names())["Resources"]
    for spec in TABLES:
        assert resources[spec.logical_name]["Type"] == "AWS::DynamoDB::Table"
        assert resources[spec.logical_name]["UpdateReplacePolicy"] == "Retain"
    for name in function_names():
        variables = resources[name]["Properties"]["Environment"]["Variables"]
        assert variables == {spec.env_var: {"Ref": spec.logical_name} for spec in TABLES}
    assert resources["SweepPayments"]["Properties"]["ReservedConcurrentExecutions"] == 1
    assert "ReservedConcurrentExecutions" not in resources["APIHandler"]["Properties"]


def _stage_environment(stage: str) -> dict[str, str]:
    import json
    from pathlib import Path

    config = json.loads(
        (Path(__file__).resolve().parent.parent / ".chalice/config.json").read_text()
    )
    return dict(config["stages"][stage]["environment_variables"])


def _policy(stage: str) -> dict[str, dict[str, object]]:
    import json
    from pathlib import Path

    path = Path(__file__).resolve().parent.parent / f".chalice/policy-{stage}.json"
    return {s["Sid"]: s for s in json.loads(path.read_text())["Statement"]}


def test_the_audit_buckets_key_and_alarm_are_in_the_package_under_the_names_the_app_uses() -> None:
    from infra.audit import RETENTION_DAYS

    for stage in ("dev", "prod"):
        resources = merge_template(stage, function_names(stage))["Resources"]
        env = _stage_environment(stage)
        digests = resources["DigestBucket"]
        assert digests["Properties"]["BucketName"] == env["AUDIT_BUCKET"]
        assert digests["Properties"]["ObjectLockEnabled"] is True
        rule = digests["Properties"]["ObjectLockConfiguration"]["Rule"]["DefaultRetention"]
        assert rule == {"Mode": "COMPLIANCE", "Days": RETENTION_DAYS}
        assert (digests["DeletionPolicy"], digests["UpdateReplacePolicy"]) == ("Retain", "Retain")
        exports = resources["ExportsBucket"]["Properties"]
        assert exports["BucketName"] == env["EXPORTS_BUCKET"]
        assert (
            resources["DigestSigningKeyAlias"]["Properties"]["AliasName"]
            == env["DIGEST_KMS_KEY_ID"]
        )
        assert resources["LedgerBreaksAlarm"]["Type"] == "AWS::CloudWatch::Alarm"


def test_functions_invoked_by_name_carry_the_names_config_and_policy_give_them() -> None:
    for stage in ("dev", "prod"):
        functions = function_names(stage)
        resources = merge_template(stage, functions)["Resources"]
        env = _stage_environment(stage)
        invoked = {
            resources[name]["Properties"]["FunctionName"]
            for name in ("RunExport", "ContinueLedgerCheck")
        }
        assert invoked == {env["EXPORT_FUNCTION"], env["LEDGER_CHECK_FUNCTION"]}
        allowed = _policy(stage)["InvokeBackgroundWork"]
        assert allowed["Action"] == ["lambda:InvokeFunction"]
        assert {str(arn).rsplit(":", 1)[1] for arn in allowed["Resource"]} == invoked  # type: ignore[attr-defined]
        # a slice of the daily check hands over long before its own timeout
        from chalicelib.audit.daily import RESERVE_SECONDS

        for name in ("DailyLedgerCheck", "ContinueLedgerCheck"):
            assert functions[name].timeout_s > 3 * RESERVE_SECONDS
            assert functions[name].reserved == 1
        assert functions["RunExport"].timeout_s == 900


def test_the_policy_grants_the_audit_buckets_only_what_the_functions_call() -> None:
    for stage in ("dev", "prod"):
        env, policy = _stage_environment(stage), _policy(stage)
        digests, exports = env["AUDIT_BUCKET"], env["EXPORTS_BUCKET"]
        by_bucket: dict[str, set[str]] = {}
        for statement in policy.values():
            for arn in statement["Resource"] if isinstance(statement["Resource"], list) else []:
                for bucket in (digests, exports):
                    if str(arn) in (f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"):
                        by_bucket.setdefault(str(arn), set()).update(statement["Action"])  # type: ignore[arg-type]
        assert by_bucket == {
            # written once (a compliance retain-until date needs PutObjectRetention) and read
            # back, never deleted; the bucket listed to find the latest digest (and so that a
            # missing one answers NoSuchKey)
            f"arn:aws:s3:::{digests}/*": {"s3:PutObject", "s3:GetObject", "s3:PutObjectRetention"},
            f"arn:aws:s3:::{digests}": {"s3:ListBucket"},
            # multipart upload (PutObject), job records and download links (GetObject), an
            # abandoned upload aborted; listing only so a missing job answers 404, not 403
            f"arn:aws:s3:::{exports}/*": {
                "s3:PutObject",
                "s3:GetObject",
                "s3:AbortMultipartUpload",
            },
            f"arn:aws:s3:::{exports}": {"s3:ListBucket"},
        }

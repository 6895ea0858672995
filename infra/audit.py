"""The audit's resources, defined once: the write-once digest bucket, the digest signing key,
the bucket of exports (kept 30 days) and the alarm on ledger breaks.

Deployment merges ``cloudformation_resources(stage)`` into ``chalice package
--merge-template`` beside the tables; the local stack and the tests create the bucket with
``create_digest_bucket`` (moto enforces Object Lock), and sign with a local key file.

    python -m infra.audit template prod    # print the CloudFormation resources
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

RETENTION_DAYS = 3650  # ten years: the retention of court financial records


def digest_bucket_name(stage: str) -> str:
    return f"courtfunds-{stage}-digests"


def exports_bucket_name(stage: str) -> str:
    return f"courtfunds-{stage}-exports"


def export_function_name(stage: str) -> str:
    """The export Lambda as Chalice names it (app name, stage, function)."""
    return f"court-funds-{stage}-run_export"


def ledger_check_function_name(stage: str) -> str:
    """The daily ledger check's continuation Lambda as Chalice names it."""
    return f"court-funds-{stage}-continue_ledger_check"


def create_exports_bucket(client: Any, name: str) -> None:
    existing = {b["Name"] for b in client.list_buckets().get("Buckets", [])}
    if name not in existing:
        client.create_bucket(Bucket=name)


def digest_key_alias(stage: str) -> str:
    return f"alias/courtfunds-{stage}-digest"


def create_digest_bucket(client: Any, name: str, *, retention_days: int = RETENTION_DAYS) -> None:
    """A bucket with Object Lock on and a default compliance retention (idempotent)."""
    existing = {b["Name"] for b in client.list_buckets().get("Buckets", [])}
    if name in existing:
        return
    client.create_bucket(Bucket=name, ObjectLockEnabledForBucket=True)
    client.put_object_lock_configuration(
        Bucket=name,
        ObjectLockConfiguration={
            "ObjectLockEnabled": "Enabled",
            "Rule": {"DefaultRetention": {"Mode": "COMPLIANCE", "Days": retention_days}},
        },
    )


def create_local_buckets(client: Any) -> None:
    """The local stack's buckets, on moto."""
    create_digest_bucket(client, digest_bucket_name("local"))
    create_exports_bucket(client, exports_bucket_name("local"))


def cloudformation_resources(stage: str) -> dict[str, Any]:
    return {
        "Resources": {
            "DigestBucket": {
                "Type": "AWS::S3::Bucket",
                "DeletionPolicy": "Retain",
                "UpdateReplacePolicy": "Retain",
                "Properties": {
                    "BucketName": digest_bucket_name(stage),
                    "ObjectLockEnabled": True,
                    "ObjectLockConfiguration": {
                        "ObjectLockEnabled": "Enabled",
                        "Rule": {
                            "DefaultRetention": {"Mode": "COMPLIANCE", "Days": RETENTION_DAYS}
                        },
                    },
                    "VersioningConfiguration": {"Status": "Enabled"},
                    "PublicAccessBlockConfiguration": {
                        "BlockPublicAcls": True,
                        "BlockPublicPolicy": True,
                        "IgnorePublicAcls": True,
                        "RestrictPublicBuckets": True,
                    },
                    "BucketEncryption": {
                        "ServerSideEncryptionConfiguration": [
                            {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}
                        ]
                    },
                },
            },
            "ExportsBucket": {
                "Type": "AWS::S3::Bucket",
                "Properties": {
                    "BucketName": exports_bucket_name(stage),
                    "LifecycleConfiguration": {
                        "Rules": [
                            {"Id": "ExportsExpire", "Status": "Enabled", "ExpirationInDays": 30},
                            {
                                "Id": "AbandonedUploads",
                                "Status": "Enabled",
                                "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1},
                            },
                        ]
                    },
                    "PublicAccessBlockConfiguration": {
                        "BlockPublicAcls": True,
                        "BlockPublicPolicy": True,
                        "IgnorePublicAcls": True,
                        "RestrictPublicBuckets": True,
                    },
                },
            },
            "DigestSigningKey": {
                "Type": "AWS::KMS::Key",
                "DeletionPolicy": "Retain",
                "UpdateReplacePolicy": "Retain",
                "Properties": {
                    "Description": f"Signs the court funds ledger digests ({stage})",
                    "KeySpec": "ECC_NIST_P256",
                    "KeyUsage": "SIGN_VERIFY",
                    "KeyPolicy": {
                        "Version": "2012-10-17",
                        "Statement": [
                            {
                                "Sid": "AccountAdministers",
                                "Effect": "Allow",
                                "Principal": {
                                    "AWS": {"Fn::Sub": "arn:aws:iam::${AWS::AccountId}:root"}
                                },
                                "Action": "kms:*",
                                "Resource": "*",
                            }
                        ],
                    },
                },
            },
            "DigestSigningKeyAlias": {
                "Type": "AWS::KMS::Alias",
                "Properties": {
                    "AliasName": digest_key_alias(stage),
                    "TargetKeyId": {"Ref": "DigestSigningKey"},
                },
            },
            "LedgerBreaksAlarm": {
                "Type": "AWS::CloudWatch::Alarm",
                "Properties": {
                    "AlarmName": f"courtfunds-{stage}-ledger-breaks",
                    "AlarmDescription": "The daily whole-ledger check found a break",
                    "Namespace": "CourtFunds/Audit",
                    "MetricName": "LedgerBreaks",
                    "Dimensions": [{"Name": "Stage", "Value": stage}],
                    "Statistic": "Maximum",
                    "Period": 86400,
                    "EvaluationPeriods": 1,
                    "Threshold": 0,
                    "ComparisonOperator": "GreaterThanThreshold",
                    "TreatMissingData": "breaching",
                },
            },
        }
    }


def main(argv: list[str]) -> int:
    if argv[:1] == ["template"]:
        stage = argv[1] if len(argv) > 1 else os.environ.get("STAGE", "local")
        print(json.dumps(cloudformation_resources(stage), indent=2))
        return 0
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

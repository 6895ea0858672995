"""The S3 buckets, defined once: reference photos of creditors for the face check.

Deployment (CloudFormation resources merged into ``chalice package``), the local stack and the
tests create them from ``BUCKETS``: encrypted with KMS by default, every public access blocked,
objects owned by the bucket owner (no ACLs), TLS required, no versioning (a deleted photo is gone,
not kept as an old version).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class BucketSpec:
    logical_name: str
    env_var: str
    purpose: str
    # Objects under these prefixes expire by lifecycle after the given days, whatever the app
    # does: the floor under the app's own, shorter retention.
    expire_days: tuple[tuple[str, int], ...] = ()


BUCKETS: tuple[BucketSpec, ...] = (
    BucketSpec(
        "ReferencePhotosBucket",
        "REFERENCE_PHOTOS_BUCKET",
        "creditors' reference photos for the face check",
    ),
)

PUBLIC_ACCESS_BLOCK = {
    "BlockPublicAcls": True,
    "IgnorePublicAcls": True,
    "BlockPublicPolicy": True,
    "RestrictPublicBuckets": True,
}
ENCRYPTION = {
    "Rules": [
        {
            "ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms"},
            "BucketKeyEnabled": True,
        }
    ]
}


def default_bucket_name(spec: BucketSpec, stage: str) -> str:
    base = spec.logical_name.removesuffix("Bucket")
    words = "".join(f"-{c.lower()}" if c.isupper() else c for c in base).lstrip("-")
    return f"courtfunds-{stage}-{words}"


def bucket_names(stage: str) -> dict[str, str]:
    return {s.env_var: os.environ.get(s.env_var, default_bucket_name(s, stage)) for s in BUCKETS}


def _lifecycle(spec: BucketSpec) -> dict[str, Any]:
    rules: list[dict[str, Any]] = [
        {
            "ID": "abort-incomplete-uploads",
            "Status": "Enabled",
            "Filter": {"Prefix": ""},
            "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1},
        }
    ]
    for prefix, days in spec.expire_days:
        rules.append(
            {
                "ID": f"expire-{prefix.strip('/')}",
                "Status": "Enabled",
                "Filter": {"Prefix": prefix},
                "Expiration": {"Days": days},
            }
        )
    return {"Rules": rules}


def create_buckets(client: Any, names: dict[str, str]) -> list[str]:
    """Create every bucket that does not exist yet, with its protections; return those made."""
    existing = {b["Name"] for b in client.list_buckets().get("Buckets", [])}
    created = []
    for spec in BUCKETS:
        name = names[spec.env_var]
        if name in existing:
            continue
        region = client.meta.region_name
        location = (
            {}
            if region == "us-east-1"
            else {"CreateBucketConfiguration": {"LocationConstraint": region}}
        )
        client.create_bucket(Bucket=name, ObjectOwnership="BucketOwnerEnforced", **location)
        client.put_public_access_block(
            Bucket=name, PublicAccessBlockConfiguration=PUBLIC_ACCESS_BLOCK
        )
        client.put_bucket_encryption(Bucket=name, ServerSideEncryptionConfiguration=ENCRYPTION)
        client.put_bucket_lifecycle_configuration(
            Bucket=name, LifecycleConfiguration=_lifecycle(spec)
        )
        created.append(name)
    return created


def cloudformation_resources(stage: str) -> dict[str, Any]:
    """Buckets and their TLS-only policies as CloudFormation resources."""
    resources: dict[str, Any] = {}
    for spec in BUCKETS:
        lifecycle = _lifecycle(spec)
        for rule in lifecycle["Rules"]:
            rule["Prefix"] = rule.pop("Filter")["Prefix"]
            rule["Id"] = rule.pop("ID")
            if "Expiration" in rule:
                rule["ExpirationInDays"] = rule.pop("Expiration")["Days"]
            if "AbortIncompleteMultipartUpload" in rule:
                rule["AbortIncompleteMultipartUpload"] = {"DaysAfterInitiation": 1}
        resources[spec.logical_name] = {
            "Type": "AWS::S3::Bucket",
            "DeletionPolicy": "Retain",
            "Properties": {
                "BucketName": default_bucket_name(spec, stage),
                "BucketEncryption": {
                    "ServerSideEncryptionConfiguration": ENCRYPTION["Rules"],
                },
                "PublicAccessBlockConfiguration": PUBLIC_ACCESS_BLOCK,
                "OwnershipControls": {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]},
                "LifecycleConfiguration": {"Rules": lifecycle["Rules"]},
            },
        }
        arn = f"arn:${{AWS::Partition}}:s3:::${{{spec.logical_name}}}"
        resources[f"{spec.logical_name}Policy"] = {
            "Type": "AWS::S3::BucketPolicy",
            "Properties": {
                "Bucket": {"Ref": spec.logical_name},
                "PolicyDocument": {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Sid": "TlsOnly",
                            "Effect": "Deny",
                            "Principal": "*",
                            "Action": "s3:*",
                            "Resource": [{"Fn::Sub": arn}, {"Fn::Sub": f"{arn}/*"}],
                            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                        }
                    ],
                },
            },
        }
    return {"Resources": resources}

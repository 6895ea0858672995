"""The manifest of an export, built while its rows are written: per account the run of its
chain the export holds, per currency the control totals, then signed with the ledger's key."""

from __future__ import annotations

import base64
from typing import Any

from chalicelib.audit.signing import ALGORITHM, DigestSigner
from chalicelib.exports.errors import ExportError
from chalicelib.exports.models import (
    AccountRange,
    CurrencyControl,
    DigestAnchor,
    DigestReference,
    ExportFile,
    ExportJob,
    Manifest,
    SignedManifest,
)
from chalicelib.exports.rows import control_amounts


class ManifestTally:
    """Counts rows as they are written. Entry rows extend their account's range; every row
    adds its debits and credits to its currency's control totals."""

    def __init__(self, heads: dict[str, tuple[int, str]] | None = None) -> None:
        self.rows = 0
        self._heads = heads or {}
        self._accounts: dict[str, dict[str, Any]] = {}
        self._controls: dict[str, list[int]] = {}

    def add(self, row: dict[str, Any]) -> None:
        self.rows += 1
        control = self._controls.setdefault(str(row["currency"]), [0, 0, 0])
        debit, credit = control_amounts(row)
        control[0] += debit
        control[1] += credit
        control[2] += 1
        if "hash" not in row:
            return
        published = self._heads.get(row["account_id"])
        if published is not None and published[0] == row["seq"] and published[1] != row["hash"]:
            raise ExportError(
                f"entry {row['seq']} of account {row['account_id']} no longer has the hash the "
                "latest digest published: run the ledger check"
            )
        account = self._accounts.get(row["account_id"])
        if account is None:
            self._accounts[row["account_id"]] = {
                "first_seq": row["seq"],
                "last_seq": row["seq"],
                "first_prev_hash": row["prev_hash"],
                "head_hash": row["hash"],
                "rows": 1,
            }
            return
        if row["seq"] > account["last_seq"]:
            account["last_seq"], account["head_hash"] = row["seq"], row["hash"]
        if row["seq"] < account["first_seq"]:
            account["first_seq"], account["first_prev_hash"] = row["seq"], row["prev_hash"]
        account["rows"] += 1

    def account_ids(self) -> list[str]:
        return sorted(self._accounts)

    def accounts(self) -> list[AccountRange]:
        return [
            AccountRange(account_id=account_id, **values)
            for account_id, values in sorted(self._accounts.items())
        ]

    def controls(self) -> list[CurrencyControl]:
        return [
            CurrencyControl(currency=currency, debits=d, credits=c, rows=n)
            for currency, (d, c, n) in sorted(self._controls.items())
        ]


def sign_manifest(
    job: ExportJob,
    tally: ManifestTally,
    *,
    columns: list[str],
    files: list[ExportFile],
    digest: DigestReference | None,
    anchors: list[DigestAnchor],
    signer: DigestSigner,
    made_at: Any,
) -> SignedManifest:
    request = job.request
    manifest = Manifest(
        export_id=job.id,
        kind=request.kind,
        format=request.format,
        start=request.start,
        end=request.end,
        account=request.account,
        made_at=made_at,
        made_for=job.requested_by,
        columns=columns,
        rows=tally.rows,
        accounts=tally.accounts(),
        controls=tally.controls(),
        digest=digest,
        anchors=anchors,
        files=files,
        key_id=signer.key_id,
        algorithm=ALGORITHM,
    )
    signature = base64.b64encode(signer.sign(manifest.message())).decode()
    return SignedManifest(manifest=manifest, signature=signature)

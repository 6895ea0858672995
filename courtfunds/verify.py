"""Checking a downloaded export offline: the manifest's signature, each file's SHA-256, every
row's hash, each account's chain against the manifest, the order, the control totals and the
digest. Every finding names the line of the file it is on where there is one."""

from __future__ import annotations

import base64
import hashlib
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chalicelib.audit.digest import SignedDigest, sha256_hex
from chalicelib.audit.merkle import verify_inclusion
from chalicelib.audit.signing import verify_signature
from chalicelib.exports.models import AccountRange, Manifest, SignedManifest
from chalicelib.exports.requests import ExportKind
from chalicelib.exports.rows import CODE_NAMES, control_amounts, entry_from_row
from courtfunds.rows import HeaderMismatch, Numbered, read_rows


@dataclass(frozen=True)
class Finding:
    line: int | None  # the line in the exported file; None: the file or export as a whole
    kind: str  # altered, missing, inserted, reordered, signature, file, totals, digest
    detail: str

    def __str__(self) -> str:
        where = f"line {self.line}" if self.line is not None else "export"
        return f"{where}: {self.kind}: {self.detail}"


@dataclass
class _Row:
    line: int
    seq: int
    prev_hash: str
    hash: str


def verify_export(
    folder: Path, public_key_pem: str, *, digest_document: bytes | None = None
) -> list[Finding]:
    """Every problem found with the export in ``folder`` (empty: it is intact)."""
    findings: list[Finding] = []
    signed = SignedManifest.model_validate_json((folder / "manifest.json").read_bytes())
    manifest = signed.manifest
    if not verify_signature(public_key_pem, manifest.message(), base64.b64decode(signed.signature)):
        findings.append(
            Finding(None, "signature", "the manifest's signature does not verify with the key")
        )
    findings += _check_digest(manifest, public_key_pem, digest_document)
    for exported in manifest.files:
        path = folder / exported.name
        if not path.exists():
            findings.append(Finding(None, "missing", f"the file {exported.name} is missing"))
            continue
        if _file_sha256(path) != exported.sha256:
            findings.append(
                Finding(
                    None,
                    "file",
                    f"{exported.name} is not the file the manifest signed (SHA-256 differs)",
                )
            )
        try:
            rows = list(read_rows(path, manifest.format, manifest.columns))
        except HeaderMismatch as exc:
            findings.append(Finding(1, "altered", str(exc)))
            continue
        if manifest.kind == ExportKind.TRIAL_BALANCE:
            findings += _check_trial_balance(rows)
        else:
            findings += _check_entries(rows, manifest)
        findings += _check_totals(rows, manifest)
    return findings


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        for chunk in iter(lambda: file.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _check_digest(manifest: Manifest, public_key_pem: str, document: bytes | None) -> list[Finding]:
    if manifest.digest is None or document is None:
        return []
    signed = SignedDigest.model_validate_json(document)
    found = []
    if not signed.verifies(public_key_pem):
        found.append(Finding(None, "digest", "the digest's signature does not verify"))
    if (
        sha256_hex(signed.document()) != manifest.digest.sha256
        or signed.digest.root != manifest.digest.root
    ):
        found.append(Finding(None, "digest", "the digest is not the one the manifest names"))
    return found


def _order_key(manifest: Manifest, row: dict[str, Any]) -> tuple[str, ...]:
    if manifest.kind == ExportKind.JOURNAL:
        return (str(row["transfer_created_at"]), str(row["transfer_id"]), str(row["account_id"]))
    return (f"{int(row['seq']):012d}",)


def _check_entries(rows: list[Numbered], manifest: Manifest) -> list[Finding]:
    findings: list[Finding] = []
    chains: dict[str, list[_Row]] = defaultdict(list)
    previous: tuple[tuple[str, ...], int] | None = None
    for line, row in rows:
        try:
            entry = entry_from_row(row)
            key = _order_key(manifest, row)
        except (ValueError, KeyError, TypeError):
            findings.append(Finding(line, "altered", "the row cannot be read as a ledger entry"))
            continue
        if entry.computed_hash() != entry.hash or row.get("code_name") != CODE_NAMES[entry.code]:
            findings.append(
                Finding(
                    line,
                    "altered",
                    f"account {entry.account_id} entry {entry.seq} does not match its hash",
                )
            )
            continue
        if previous is not None and key < previous[0]:
            findings.append(
                Finding(line, "reordered", f"this row belongs before line {previous[1]}")
            )
        previous = (key, line)
        chains[entry.account_id].append(_Row(line, entry.seq, entry.prev_hash, entry.hash))
    ranges = {r.account_id: r for r in manifest.accounts}
    for account_id, chain in chains.items():
        expected = ranges.get(account_id)
        if expected is None:
            findings += [
                Finding(r.line, "inserted", f"account {account_id} is not in the manifest")
                for r in chain
            ]
            continue
        findings += _check_chain(account_id, sorted(chain, key=lambda r: (r.seq, r.line)), expected)
    for account_id, expected in ranges.items():
        if account_id not in chains:
            findings.append(
                Finding(None, "missing", f"all {expected.rows} rows of account {account_id}")
            )
    return findings + _check_anchors(chains, manifest)


def _check_anchors(chains: dict[str, list[_Row]], manifest: Manifest) -> list[Finding]:
    """Each published head in the manifest is in the signed digest (its path leads to the
    root), and where the export holds that entry, the row carries the published hash."""
    if manifest.digest is None:
        return []
    findings = []
    number, root = manifest.digest.number, bytes.fromhex(manifest.digest.root)
    for anchor in manifest.anchors:
        leaf = anchor.leaf
        path = [bytes.fromhex(h) for h in anchor.path]
        if not verify_inclusion(leaf.line(), anchor.index, manifest.digest.accounts, path, root):
            findings.append(
                Finding(
                    None, "digest", f"account {leaf.account_id}'s head is not in digest {number}"
                )
            )
            continue
        for row in chains.get(leaf.account_id, []):
            if row.seq == leaf.seq and row.hash != leaf.head_hash:
                findings.append(
                    Finding(
                        row.line,
                        "altered",
                        f"account {leaf.account_id} entry {leaf.seq} is not the head digest "
                        f"{number} published",
                    )
                )
    return findings


def _check_chain(account_id: str, chain: list[_Row], expected: AccountRange) -> list[Finding]:
    findings: list[Finding] = []
    before: _Row | None = None
    for row in chain:
        if row.seq < expected.first_seq or row.seq > expected.last_seq:
            findings.append(
                Finding(
                    row.line,
                    "inserted",
                    f"account {account_id} entry {row.seq} is outside the exported run "
                    f"{expected.first_seq}-{expected.last_seq}",
                )
            )
            continue
        if before is None:
            if row.seq > expected.first_seq:
                findings.append(_missing(account_id, expected.first_seq, row.seq - 1, None, row))
            elif row.prev_hash != expected.first_prev_hash:
                findings.append(
                    Finding(row.line, "altered", "the first entry does not chain as signed")
                )
        elif row.seq == before.seq:
            findings.append(
                Finding(
                    row.line,
                    "inserted",
                    f"account {account_id} entry {row.seq} is also on line {before.line}",
                )
            )
            continue
        elif row.seq > before.seq + 1:
            findings.append(_missing(account_id, before.seq + 1, row.seq - 1, before, row))
        elif row.prev_hash != before.hash:
            findings.append(
                Finding(
                    row.line,
                    "inserted",
                    f"account {account_id} entry {row.seq} does not chain to line {before.line}",
                )
            )
        before = row
    if before is not None and before.seq < expected.last_seq:
        findings.append(
            Finding(
                None,
                "missing",
                f"account {account_id} entries {before.seq + 1}-{expected.last_seq}, "
                f"after line {before.line}",
            )
        )
    elif before is not None and before.hash != expected.head_hash:
        findings.append(Finding(before.line, "altered", "the last entry is not the signed head"))
    return findings


def _missing(account_id: str, first: int, last: int, before: _Row | None, after: _Row) -> Finding:
    entries = f"entry {first}" if first == last else f"entries {first}-{last}"
    where = f"between lines {before.line} and {after.line}" if before else "before this line"
    return Finding(after.line, "missing", f"account {account_id} {entries} are missing {where}")


def _check_trial_balance(rows: list[Numbered]) -> list[Finding]:
    findings: list[Finding] = []
    previous: str | None = None
    sums: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for line, row in rows:
        try:
            sign = 1 if row["normal_side"] == "credit" else -1
            opening, closing = int(row["opening"]), int(row["closing"])
            moved = int(row["credits"]) - int(row["debits"])
            account_id = str(row["account_id"])
        except (ValueError, KeyError, TypeError):
            findings.append(Finding(line, "altered", "the row cannot be read"))
            continue
        if opening + sign * moved != closing:
            findings.append(
                Finding(line, "altered", f"account {account_id}: opening and movements ≠ closing")
            )
        if previous is not None and account_id < previous:
            findings.append(Finding(line, "reordered", "accounts are listed in id order"))
        previous = account_id
        sums[str(row["currency"])][0 if sign > 0 else 1] += closing
    for currency, (credit_normal, debit_normal) in sums.items():
        if credit_normal != debit_normal:
            findings.append(
                Finding(
                    None,
                    "totals",
                    f"{currency}: credit-normal balances {credit_normal} ≠ "
                    f"debit-normal balances {debit_normal}",
                )
            )
    return findings


def _check_totals(rows: list[Numbered], manifest: Manifest) -> list[Finding]:
    findings = []
    if len(rows) != manifest.rows:
        kind = "missing" if len(rows) < manifest.rows else "inserted"
        findings.append(
            Finding(
                None, kind, f"the file has {len(rows)} rows; the manifest signed {manifest.rows}"
            )
        )
    totals: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    for _, row in rows:
        try:
            debit, credit = control_amounts(row)
            currency = str(row["currency"])
        except (ValueError, KeyError, TypeError):
            continue
        totals[currency][0] += debit
        totals[currency][1] += credit
        totals[currency][2] += 1
    for control in manifest.controls:
        seen = totals.get(control.currency, [0, 0, 0])
        if seen != [control.debits, control.credits, control.rows]:
            findings.append(
                Finding(
                    None,
                    "totals",
                    f"{control.currency}: debits {seen[0]}, credits {seen[1]} in {seen[2]} rows; "
                    f"the manifest signed {control.debits}, {control.credits} in {control.rows}",
                )
            )
    return findings

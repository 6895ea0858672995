"""The ``courtfunds`` command: ``export`` asks the API for an export with a staff token, shows
its progress and downloads it with its manifest, the digest and the public key; and
``verify-export`` checks a downloaded export offline."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

from courtfunds.verify import verify_export

POLL_SECONDS = 1.0


class ApiError(Exception):
    pass


class Api:
    """The court funds API at ``base``, as one signed-in member of staff."""

    def __init__(self, base: str, token: str) -> None:
        self.base = base.rstrip("/")
        self.token = token

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(  # noqa: S310 - the auditor names the API's URL
            self.base + path,
            data=data,
            method=method,
            headers={"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=60) as answer:  # noqa: S310
                return json.loads(answer.read())
        except urllib.error.HTTPError as error:
            problem = error.read().decode("utf-8", "replace")
            raise ApiError(f"{method} {path}: {error.code} {problem}") from error


def download(url: str, target: Path) -> None:
    with urllib.request.urlopen(url, timeout=300) as answer, target.open("wb") as file:  # noqa: S310
        while chunk := answer.read(1 << 20):
            file.write(chunk)


def progress_bar(fraction: float | None, rows: int, *, width: int = 30) -> str:
    if fraction is None:
        return f"\r[{'?' * width}] {rows} rows"
    filled = int(width * fraction)
    return f"\r[{'#' * filled}{'.' * (width - filled)}] {fraction:4.0%} {rows} rows"


def run_export(
    api: Api,
    request: dict[str, Any],
    out: Path,
    *,
    show: Callable[[str], None],
    sleep: Callable[[float], None] = time.sleep,
    fetch: Callable[[str, Path], None] = download,
) -> dict[str, Any]:
    """Request the export, follow it to done, download its files, manifest, the digest it was
    checked against and the public key into ``out``; return the finished job."""
    view = api.call("POST", "/exports", request)
    job = view["job"]
    while view["job"]["status"] not in ("done", "failed"):
        show(progress_bar(view["progress"], view["job"]["rows_written"]))
        sleep(POLL_SECONDS)
        view = api.call("GET", f"/exports/{job['id']}")
    job = view["job"]
    show(progress_bar(view["progress"], job["rows_written"]) + "\n")
    if job["status"] == "failed":
        raise ApiError(f"the export failed: {job['problem']}")
    out.mkdir(parents=True, exist_ok=True)
    for name, url in view["downloads"].items():
        fetch(url, out / name)
    manifest = json.loads((out / "manifest.json").read_text())["manifest"]
    if manifest["digest"]:
        published = api.call("GET", f"/audit/digests/{manifest['digest']['number']}")
        from chalicelib.audit.digest import SignedDigest

        signed = SignedDigest.model_validate(published["digest"])
        (out / "digest.json").write_bytes(signed.document())
        (out / "public_key.pem").write_text(published["public_key"])
    else:
        latest = api.call("GET", "/audit/latest-digest")
        (out / "public_key.pem").write_text(latest["public_key"])
    return dict(job)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="courtfunds", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    export = commands.add_parser("export", help="request an export and download it")
    export.add_argument("--api", default=os.environ.get("COURTFUNDS_API", "http://127.0.0.1:8000"))
    export.add_argument("--token", default=os.environ.get("COURTFUNDS_TOKEN"))
    export.add_argument("--kind", choices=["journal", "statement", "trial_balance"], required=True)
    export.add_argument("--format", choices=["csv", "xlsx", "jsonl"], default="csv")
    export.add_argument("--start", required=True, help="ISO time with a zone, included")
    export.add_argument("--end", required=True, help="ISO time with a zone, excluded")
    export.add_argument("--account", help="the case account of a statement")
    export.add_argument("--out", type=Path, required=True, help="folder to download into")
    check = commands.add_parser("verify-export", help="check a downloaded export offline")
    check.add_argument("folder", type=Path)
    check.add_argument("--public-key", type=Path, help="default: public_key.pem in the folder")
    check.add_argument("--digest", type=Path, help="default: digest.json in the folder")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "export":
        if not args.token:
            print("courtfunds: give a staff token (--token or COURTFUNDS_TOKEN)", file=sys.stderr)
            return 2
        request = {"kind": args.kind, "format": args.format, "start": args.start, "end": args.end}
        if args.account:
            request["account"] = "".join(args.account.split())
        try:
            job = run_export(
                Api(args.api, args.token),
                request,
                args.out,
                show=lambda text: print(text, end="", file=sys.stderr, flush=True),
            )
        except ApiError as error:
            print(f"courtfunds: {error}", file=sys.stderr)
            return 1
        print(f"export {job['id']}: {job['rows_written']} rows in {args.out}")
        return 0
    folder: Path = args.folder
    key_file = args.public_key or folder / "public_key.pem"
    digest_file = args.digest or folder / "digest.json"
    findings = verify_export(
        folder,
        key_file.read_text(),
        digest_document=digest_file.read_bytes() if digest_file.exists() else None,
    )
    for finding in findings:
        print(finding)
    if findings:
        print(f"{len(findings)} problems found", file=sys.stderr)
        return 1
    print("the export is intact: signature, files, rows, chains, totals and digest agree")
    return 0

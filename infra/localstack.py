"""The local stack behind ``make run``: moto (DynamoDB, S3), localstripe and ``chalice local``,
all on 127.0.0.1, with the tables created from infra/tables.py and demo data loaded.

It prints the URLs and a sign-in token for each staff role; Ctrl-C stops every process it
started. Ports are options (``make run API_PORT=8001``); a port already in use is reported
before anything starts. The data is kept across restarts in ``.local/data/dynamodb.json``
(``infra/snapshot.py``); ``--fresh`` (``make run FRESH=1``) starts empty.
"""

from __future__ import annotations

import argparse
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from types import FrameType
from typing import Any

from infra import snapshot
from infra.local_auth import LocalSigner
from infra.moto_server import serial_app, start_moto_server, stop_moto_server

ROOT = Path(__file__).resolve().parent.parent
STATE = Path(os.environ.get("LOCAL_STATE_DIR", ROOT / ".local"))
HOST = "127.0.0.1"
ROLES = ("clerk", "approver", "finance", "auditor", "admin")
DATA = STATE / "data" / "dynamodb.json"
SNAPSHOT_EVERY_SECONDS = 2.0


def port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((HOST, port))
        except OSError:
            return False
    return True


def wait_for(url: str, *, seconds: float = 30.0, what: str) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=1).close()  # noqa: S310 - our own loopback URL
            return
        except urllib.error.HTTPError:
            return  # it answers; a 4xx is fine for a readiness probe
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"{what} did not start within {seconds:.0f} s ({url})")


def ports_available(**ports: int) -> bool:
    busy = [f"{name} port {port}" for name, port in ports.items() if not port_free(port)]
    if busy:
        print(
            "cannot start: already in use: " + ", ".join(busy) + ". Stop what uses it or choose "
            "other ports, e.g. make run API_PORT=8001 MOTO_PORT=5001 STRIPE_PORT=8421",
            file=sys.stderr,
        )
    return not busy


def write_local_secrets(folder: Path) -> None:
    """The local stack's Stripe keys, one file each, as ``chalicelib.secrets`` reads them; the
    webhook secret is made once and kept, so localstripe's registered webhook stays valid."""
    folder.mkdir(parents=True, exist_ok=True)
    webhook = folder / "stripe-webhook-secret"
    if not webhook.exists():
        webhook.write_text("whsec_" + secrets.token_hex(16))
    (folder / "stripe-secret-key").write_text("sk_test_local")
    (folder / "stripe-publishable-key").write_text("pk_test_local")
    grant_key = folder / "face-grant-key"  # made once: grants issued before a restart stay valid
    if not grant_key.exists():
        grant_key.write_text(secrets.token_hex(32))


def local_environment(*, moto_url: str, stripe_url: str, api_url: str) -> dict[str, str]:
    """What the app and the demo loader need to talk to the local stack."""
    write_local_secrets(STATE / "secrets")
    return {
        "STAGE": "local",
        "AWS_ACCESS_KEY_ID": "local",
        "AWS_SECRET_ACCESS_KEY": "local",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ENDPOINT_URL_DYNAMODB": moto_url,
        "AWS_ENDPOINT_URL_S3": moto_url,
        "CASES_TABLE": "courtfunds-local-cases",
        "PAYOUTS_TABLE": "courtfunds-local-payouts",
        "LEDGER_TABLE": "courtfunds-local-ledger",
        "COLLECTION_TABLE": "courtfunds-local-collection",
        "IDENTITY_TABLE": "courtfunds-local-identity",
        "REFERENCE_PHOTOS_BUCKET": "courtfunds-local-reference-photos",
        # Faces are compared offline with dlib: moto's canned CompareFaces never decides here.
        "FACE_VERIFIER": "local",
        "APPROVALS_TABLE": "courtfunds-local-approvals",
        "REFUNDS_TABLE": "courtfunds-local-refunds",
        "OVERSIGHT_TABLE": "courtfunds-local-oversight",
        "STRIPE_API_BASE": stripe_url,
        "SECRETS_FROM": "directory",
        "SECRETS_DIR": str(STATE / "secrets"),
        # The court's Treasury financial account at the stand-in, and Stripe's test routing
        # number (the stand-in accepts any; see infra/stripe_payouts_local.py), where the
        # stand-in sends payout events, and after how long a payout posts by itself.
        "STRIPE_FINANCIAL_ACCOUNT": "fa_local_court",
        "STRIPE_PAYOUT_ROUTING_NUMBER": "110000000",
        "STRIPE_LOCAL_PAYOUT_WEBHOOK": f"{api_url}/webhooks/stripe/payouts",
        "STRIPE_LOCAL_PAYOUT_AUTO_POST": "3",
        "PUBLIC_BASE_URL": api_url,
        # The key the local stack signs with; config.json leaves it out so this path wins.
        "AUTH_JWKS_FILE": str(STATE / "auth" / "jwks.json"),
        "NOTIFY_OUTBOX_DIR": str(STATE / "outbox"),
        # Digests are signed with a local P-256 key (KMS in dev and prod).
        "DIGEST_KEY_FILE": str(STATE / "digest-signing-key.pem"),
    }


def create_storage(moto_url: str) -> None:
    """The tables and buckets, from their one definition in infra/."""
    import boto3

    from infra.audit import create_local_buckets
    from infra.buckets import bucket_names, create_buckets
    from infra.tables import create_tables, table_names

    create_tables(boto3.client("dynamodb", endpoint_url=moto_url), table_names("local"))
    create_buckets(boto3.client("s3", endpoint_url=moto_url), bucket_names("local"))
    create_local_buckets(boto3.client("s3", endpoint_url=moto_url))


def local_signer() -> LocalSigner:
    """The stack's signing key, kept in the state folder, and its public half for the app."""
    signer = LocalSigner.load_or_create(STATE / "auth")
    signer.write_jwks(STATE / "auth" / "jwks.json")
    return signer


def arguments(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--api-port", type=int, default=8000)
    parser.add_argument("--moto-port", type=int, default=5000)
    parser.add_argument("--stripe-port", type=int, default=8420)
    parser.add_argument(
        "--fresh", action="store_true", help="start empty: forget the kept data and outbox"
    )
    return parser.parse_args(argv)


def load_data(moto_url: str) -> tuple[int, list[Any]]:
    """Create the tables and buckets, put back the kept table data, and file the demo cases
    (the kept ones when there are any); return how many items were kept and the demo cases."""
    import boto3

    from infra.demo import load_demo_data

    create_storage(moto_url)
    kept = snapshot.restore(boto3.client("dynamodb", endpoint_url=moto_url), DATA)
    return kept, load_demo_data()


def watch(processes: list[subprocess.Popen[bytes]], moto_app: Any, keep: Any) -> None:
    """Until a process stops, keep a snapshot of the data whenever calls were served."""
    kept_at_call = moto_app.calls
    while all(p.poll() is None for p in processes):
        time.sleep(SNAPSHOT_EVERY_SECONDS)
        if moto_app.calls != kept_at_call:
            kept_at_call = moto_app.calls
            keep()


def main(argv: list[str]) -> int:
    args = arguments(argv)
    if not ports_available(api=args.api_port, moto=args.moto_port, localstripe=args.stripe_port):
        return 2

    STATE.mkdir(exist_ok=True)
    moto_url = f"http://{HOST}:{args.moto_port}"
    stripe_url = f"http://{HOST}:{args.stripe_port}"
    api_url = f"http://{HOST}:{args.api_port}"
    env = {
        **os.environ,
        **local_environment(moto_url=moto_url, stripe_url=stripe_url, api_url=api_url),
    }
    os.environ.update(env)

    signer = local_signer()
    if args.fresh:
        forget_local_data()
    processes: list[subprocess.Popen[bytes]] = []
    moto, _ = start_moto_server(HOST, args.moto_port)
    moto_app = serial_app(moto)
    restored = False  # until the kept data is back, a snapshot would overwrite it with less

    def keep() -> None:
        if restored:
            snapshot.take(moto_app, DATA, prefix="courtfunds-local-")

    def stop(*_: object) -> None:
        for process in processes:
            if process.poll() is None:
                process.terminate()
        for process in processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
        keep()
        stop_moto_server(moto)

    def on_signal(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    # Installed explicitly: a shell that starts us in the background leaves SIGINT ignored.
    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    try:
        processes.append(
            subprocess.Popen(
                [sys.executable, "-m", "infra.stripe_local", "--port", str(args.stripe_port)],
                cwd=ROOT,
                env=env,
            )
        )
        wait_for(stripe_url + "/js.stripe.com/v3/", what="localstripe")
        register_webhook(
            stripe_url,
            f"{api_url}/webhooks/stripe",
            (STATE / "secrets" / "stripe-webhook-secret").read_text().strip(),
        )

        kept, cases = load_data(moto_url)
        restored = True
        keep()

        chalice = Path(sys.executable).with_name("chalice")
        processes.append(
            subprocess.Popen(
                [str(chalice), "local", "--host", HOST, "--port", str(args.api_port),
                 "--stage", "local", "--no-autoreload"],
                cwd=ROOT,
                env=env,
            )
        )  # fmt: skip
        wait_for(api_url + "/cases/none", what="chalice local")
        print_welcome(api_url, moto_url, stripe_url, signer, cases, kept=kept)
        watch(processes, moto_app, keep)
        failed = next(p for p in processes if p.poll() is not None)
        print(f"a local service stopped unexpectedly: {failed.args}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\nstopping the local stack ...")
        return 0
    finally:
        stop()


def forget_local_data() -> None:
    """``--fresh``: the kept tables and the outbox go; the signing key stays."""
    DATA.unlink(missing_ok=True)
    (STATE / "outbox" / "notifications.jsonl").unlink(missing_ok=True)


def register_webhook(stripe_url: str, target: str, secret: str) -> None:
    """Tell localstripe to deliver signed events to the app, as a Stripe dashboard would."""
    data = urllib.parse.urlencode({"url": target, "secret": secret}).encode()
    request = urllib.request.Request(  # noqa: S310 - our own loopback URL
        f"{stripe_url}/_config/webhooks/court-funds", data=data, method="POST"
    )
    urllib.request.urlopen(request, timeout=5).close()  # noqa: S310


def print_welcome(
    api_url: str,
    moto_url: str,
    stripe_url: str,
    signer: LocalSigner,
    cases: list[Any],
    *,
    kept: int,
) -> None:
    print("\nCourt enforcement funds: the local stack is running.\n")
    print(f"  API              {api_url}")
    print(f"  DynamoDB (moto)  {moto_url}")
    print(f"  Stripe (local)   {stripe_url}")
    print(f"  Data             {DATA} ({kept} items kept from the last run)")
    print(f"  Outbox (SMS)     {STATE / 'outbox' / 'notifications.jsonl'}")
    print("  The data is kept across restarts; make run FRESH=1 starts empty.")
    print("\nDemo cases (court 粤0604):")
    for case in cases:
        print(f"  {case.case_number}  account {case.account_number}  id {case.case_id}")
        print(f"      pay page: {api_url}/pay/{case.account_number}")
    from infra.demo import COURT_CODE

    print("\nSign-in tokens (valid 12 hours), e.g.")
    print(f'  curl -H "Authorization: Bearer $TOKEN" "{api_url}/cases?court=粤0604"\n')
    for role in ROLES:
        token = signer.token(role, subject=f"demo-{role}", name=f"Demo {role}", courts=[COURT_CODE])
        print(f"  {role:<9} {token}\n")
    # A higher court's auditor: belongs to the intermediate court 粤06 and reads every court
    # under it, 粤0604 included, without acting in them.
    overseer = signer.token(
        "auditor", subject="demo-overseer", name="Demo overseer", courts=["粤06"], oversees=["粤06"]
    )
    print(f"  {'overseer':<9} {overseer}\n")
    print("Ctrl-C stops everything.")
    sys.stdout.flush()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

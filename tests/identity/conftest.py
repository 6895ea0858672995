"""Face verification fixtures: the test photos (read in place, never copied) and the bucket."""

from __future__ import annotations

import io
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import PROJECT_ROOT, write_secrets
from tests.payouts.conftest import (
    CLERK,
    World,
    approve_all,
    world,  # noqa: F401 - the payouts' funded case, for claims
)

FACES = Path(os.environ.get("FACES_DIR", PROJECT_ROOT.parent / "shared" / "testdata" / "faces"))


@pytest.fixture(autouse=True)
def grant_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The grant key where the stage's secrets are read from."""
    folder = write_secrets(tmp_path / "secrets", {"face-grant-key": "test-only-grant-key-" * 2})
    monkeypatch.setenv("SECRETS_DIR", str(folder))


@pytest.fixture
def face() -> Callable[[str], bytes]:
    """``face("obama.jpg")`` -> the photo's bytes; skips, saying why, where they are absent."""

    def read(name: str) -> bytes:
        path = FACES / name
        if not path.is_file():
            message = f"test photo {path} is absent (set FACES_DIR to the faces folder)"
            print(message)
            pytest.skip(message)
        return path.read_bytes()

    return read


def as_jpeg(image: Any) -> bytes:
    out = io.BytesIO()
    image.convert("RGB").save(out, format="JPEG", quality=90)
    return out.getvalue()


@pytest.fixture
def buckets(aws: Any) -> Any:
    """Moto S3 with the buckets of infra/buckets.py; yields the client."""
    from chalicelib import wiring
    from infra.buckets import bucket_names, create_buckets

    client = wiring.s3()
    create_buckets(client, bucket_names("test"))
    return client


@pytest.fixture
def claim(
    world: World,  # noqa: F811 - the fixture imported above
    buckets: Any,
    api: Any,
    token: Any,
    face: Callable[[str], bytes],
) -> dict[str, Any]:
    """An approved payout of 3,000.00 yuan with its claim code, the creditor's photo on file,
    and the real face grants in place of the payout tests' stand-in."""
    from chalicelib import wiring
    from chalicelib.payouts.bodies import ProposeDisbursement
    from chalicelib.payouts.face_grants import PayoutFaceGrants
    from chalicelib.payouts.sending import PayoutSender
    from chalicelib.wiring import disbursement_workflow, face_checks, ledger_service

    grants = PayoutFaceGrants(face_checks)
    sender = PayoutSender(
        disbursement_workflow(), rail=wiring.payout_rail, ledger=ledger_service(), grants=grants,
        clock=wiring.clock(), settings=wiring.settings(),
    )  # fmt: skip
    wiring.override(face_grants=grants, payout_sender=sender)
    headers = {**token("clerk"), "Content-Type": "image/jpeg"}
    path = f"/identity/reference-photos/{world.case.case_id}/{world.creditor_id}"
    assert api.put(path, body=face("obama.jpg"), headers=headers).status_code == 201
    body = ProposeDisbursement.model_validate(
        {"creditor_party_id": world.creditor_id, "amount": 300_000, "note": "无争议部分"}
    )
    d = world.workflow.propose(world.case.case_id, body, by=CLERK)
    approve_all(world.workflow, d)
    [code] = world.claim_codes()
    return {"code": code, "disbursement_id": d.disbursement_id}

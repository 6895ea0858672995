"""`make run`'s local stack: starts every service on 127.0.0.1, serves demo data, stops cleanly."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from infra.local_auth import LocalSigner
from infra.localstack import port_free

ROOT = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _start(tmp_path: Path, *ports: int, fresh: bool = False) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.endswith("_TABLE")}
    env["LOCAL_STATE_DIR"] = str(tmp_path)
    api, moto, stripe = ports
    return subprocess.Popen(  # noqa: S603 - our own module, fixed arguments
        [sys.executable, "-m", "infra.localstack", "--api-port", str(api),
         "--moto-port", str(moto), "--stripe-port", str(stripe)] + (["--fresh"] if fresh else []),
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip


def _banner(stack: subprocess.Popen[str]) -> str:
    """What the stack printed up to its welcome's last line."""
    assert stack.stdout is not None
    output = []
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        line = stack.stdout.readline()
        if not line:
            break
        output.append(line)
        if "Ctrl-C stops everything" in line:
            break
    text = "".join(output)
    assert "Ctrl-C stops everything" in text, text
    return text


def _call(api: int, path: str, token: str, body: dict[str, Any] | None = None) -> Any:
    request = urllib.request.Request(
        f"http://127.0.0.1:{api}{path}",
        data=None if body is None else json.dumps(body, ensure_ascii=False).encode(),
        headers={"Authorization": "Bearer " + token, "Content-Type": "application/json"},
        method="GET" if body is None else "POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def _stop(stack: subprocess.Popen[str]) -> None:
    stack.send_signal(signal.SIGINT)
    assert stack.wait(timeout=30) == 0


@pytest.mark.slow
def test_the_stack_keeps_its_data_across_a_restart_and_fresh_starts_empty(
    tmp_path: Path,
) -> None:
    from tests.cases.factories import filing

    ports = (_free_port(), _free_port(), _free_port())
    query = "/cases?court=" + urllib.parse.quote("粤0604")
    stack = _start(tmp_path, *ports)
    try:
        banner = _banner(stack)
        assert str(tmp_path / "data" / "dynamodb.json") in banner
        token = LocalSigner.load_or_create(tmp_path / "auth").token("clerk", courts=["粤0604"])
        status, opened = _call(ports[0], "/cases", token, filing(serial=777))
        assert status == 201, opened
        _, before = _call(ports[0], query, token)
    finally:
        _stop(stack)

    stack = _start(tmp_path, *ports)
    try:
        assert "items kept from the last run" in _banner(stack)
        status, kept = _call(ports[0], f"/cases/{opened['case_id']}", token)
        assert status == 200
        assert kept["account_number"] == opened["account_number"]
        _, after = _call(ports[0], query, token)
        assert [c["case_id"] for c in after["cases"]] == [c["case_id"] for c in before["cases"]]
        # The next case's account serial continues from the kept counter.
        _, another = _call(ports[0], "/cases", token, filing(serial=778))
        assert another["account_number"] not in {c["account_number"] for c in after["cases"]}
    finally:
        _stop(stack)

    stack = _start(tmp_path, *ports, fresh=True)
    try:
        _banner(stack)
        status, _ = _call(ports[0], f"/cases/{opened['case_id']}", token)
        assert status == 404
        _, fresh = _call(ports[0], query, token)
        assert len(fresh["cases"]) == 3  # the demo cases only
    finally:
        _stop(stack)


@pytest.mark.slow
def test_local_stack_serves_demo_cases_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    ports = (_free_port(), _free_port(), _free_port())
    stack = _start(tmp_path, *ports)
    output = []
    try:
        assert stack.stdout is not None
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            line = stack.stdout.readline()
            if not line:
                break
            output.append(line)
            if "Ctrl-C stops everything" in line:
                break
        text = "".join(output)
        assert "Ctrl-C stops everything" in text, text
        for role in ("clerk", "approver", "finance", "auditor", "admin"):
            assert f"  {role} " in text

        signer = LocalSigner.load_or_create(tmp_path / "auth")
        query = urllib.parse.quote("粤0604")
        request = urllib.request.Request(
            f"http://127.0.0.1:{ports[0]}/cases?court={query}",
            headers={"Authorization": "Bearer " + signer.token("auditor", courts=["粤0604"])},
        )
        with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310
            cases = json.loads(answer.read())["cases"]
        assert len(cases) == 3
        assert all(c["parties"][0]["id_number"].count("*") == 10 for c in cases)
    finally:
        stack.send_signal(signal.SIGINT)
        assert stack.wait(timeout=30) == 0
    time.sleep(0.5)
    assert all(port_free(p) for p in ports), "a local service outlived Ctrl-C"


def test_a_port_in_use_is_reported_before_anything_starts(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        busy = int(taken.getsockname()[1])
        stack = _start(tmp_path, busy, _free_port(), _free_port())
        out, _ = stack.communicate(timeout=60)
    assert stack.returncode == 2
    assert f"already in use: api port {busy}" in out

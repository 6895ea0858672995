"""Chains come from the settings (APPROVAL_CHAINS): a court's own chain is used, a wrong one is
refused before any approval is opened."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import ValidationError

from chalicelib import wiring
from chalicelib.approvals import ChainKind
from chalicelib.identity.roles import Role
from chalicelib.money import Money
from tests.approvals.conftest import CLERK

ONE_STEP = {"tiers": [{"steps": [{"role": "finance", "title": "财务"}]}]}


def test_a_courts_own_chain_from_the_settings_is_used(
    aws: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    chains = {
        "courts": {
            "*": {kind.value: ONE_STEP for kind in ChainKind},
            "粤0605": {
                "refund": {
                    "tiers": [
                        {"up_to_fen": 100, "steps": [{"role": "approver", "title": "局长"}]},
                        {"steps": [{"role": "approver", "title": "院领导"}]},
                    ]
                }
            },
        }
    }
    monkeypatch.setenv("APPROVAL_CHAINS", json.dumps(chains, ensure_ascii=False))
    wiring.reset()
    approvals = wiring.approval_service()
    own = approvals.open(ChainKind.REFUND, "r1", court="粤0605", amount=Money(100), requester=CLERK)
    other = approvals.open(
        ChainKind.REFUND, "r2", court="粤0604", amount=Money(100), requester=CLERK
    )
    assert [s.title for s in own.steps] == ["局长"]
    assert [s.role for s in other.steps] == [Role.FINANCE]


def test_a_chain_that_misses_a_kind_is_refused_before_any_approval(
    aws: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("APPROVAL_CHAINS", json.dumps({"courts": {"*": {"refund": ONE_STEP}}}))
    wiring.reset()
    with pytest.raises(ValidationError, match="missing"):
        wiring.approval_service()

"""Fixtures for the approval chain: the service on moto and a few people of the court."""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib.approvals import ApprovalService
from chalicelib.identity.roles import Principal, Role
from chalicelib.wiring import approval_service

COURT = "粤0604"


def person(subject: str, *roles: Role, name: str | None = None) -> Principal:
    return Principal(subject=subject, name=name or subject, roles=frozenset(roles))


CLERK = person("clerk-li", Role.CLERK, name="李")
CHIEF = person("chief-wang", Role.APPROVER, name="王")
LEADER = person("leader-zhao", Role.APPROVER, name="赵")
FINANCE = person("finance-chen", Role.FINANCE, name="陈")


@pytest.fixture
def approvals(aws: Any) -> ApprovalService:
    return approval_service()

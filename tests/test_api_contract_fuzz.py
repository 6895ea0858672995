"""Schemathesis against the app, from the OpenAPI document the app serves.

Each operation is called with requests drawn from its own contract, signed in as a member of
staff holding a role the route admits (public routes without a token): no answer may be a
server error, every answer must match the document, and every error must be problem+json.

The calls go through ``chalice.test.Client`` rather than Chalice's local HTTP server: the
client runs the same route table, middleware and edge in this process, on the moto mock every
other test uses, while the local server would rebind the app object's class for the whole test
session and serve from another thread. Schemathesis sees the answers as HTTP answers (status,
headers, body) through its ``Response`` type and runs its own checks on them.

The stateful run follows the document's links (file a case, then read it, pay it, propose
paying it out, ...) with the ids the answers gave, so calls reach records that exist; a link
whose target answers 404 for what was just made fails it.

``FUZZ_EXAMPLES`` sets the examples per operation and ``FUZZ_SCENARIOS`` the stateful scenarios:
a few in ``make test``, more in ``make fuzz``.
"""

from __future__ import annotations

import itertools
import json
import os
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.core.failures import FailureGroup
from schemathesis.core.transport import Response
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import ignored_auth, positive_data_acceptance

from chalicelib import wiring
from tests.cases.factories import filing
from tests.collection.conftest import free_port, localstripe  # noqa: F401 (a fixture)
from tests.conftest import write_secrets

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "3"))
SCENARIOS = int(os.environ.get("FUZZ_SCENARIOS", "8"))
BASE = "http://courtfunds.test"


def send(api: Any, case: Any, headers: dict[str, str]) -> Response:
    """One generated request through the Chalice test client, answered as schemathesis reads
    an HTTP answer."""
    kwargs = case.as_transport_kwargs(base_url=BASE, headers=headers)
    kwargs.pop("timeout", None)
    # The test's token, not one schemathesis made up from the document's bearer scheme.
    ours = {name.lower() for name in headers}
    drawn = {k: v for k, v in (kwargs.get("headers") or {}).items() if k.lower() not in ours}
    kwargs["headers"] = {**drawn, **headers}
    prepared = requests.Request(
        method=kwargs["method"],
        url=kwargs["url"],
        headers=kwargs.get("headers"),
        params=kwargs.get("params"),
        json=kwargs.get("json"),
        data=kwargs.get("data"),
        cookies=kwargs.get("cookies"),
    ).prepare()
    target = urlsplit(prepared.url or "")
    path = target.path + (f"?{target.query}" if target.query else "")
    body = prepared.body
    raw = body.encode() if isinstance(body, str) else (body or b"")
    answer = api.request(prepared.method, path, headers=dict(prepared.headers), body=raw)
    return Response(
        status_code=answer.status_code,
        headers={name: [str(value)] for name, value in answer.headers.items()},
        content=answer.body if isinstance(answer.body, bytes) else str(answer.body).encode(),
        request=prepared,
        elapsed=0.0,
        verify=False,
    )


def sign_in(case: Any, token: Any) -> dict[str, str]:
    """A token for the first role the route admits; none for a public route."""
    roles = case.operation.definition.raw.get("x-roles") or []
    return {"Authorization": token(roles[0])["Authorization"]} if roles else {}


def holds_to_contract(case: Any, answer: Response, **recorded: Any) -> None:
    """No server error, every error problem+json with its status, and schemathesis's checks
    of the answer against the document (``recorded``: the stateful run's recorder)."""
    where = f"{case.method} {case.formatted_path}"
    assert answer.status_code < 500, (where, answer.content[:300])
    if answer.status_code >= 400:
        media = answer.headers.get("content-type", [""])[0]
        assert media.startswith("application/problem+json"), (where, media)
        assert json.loads(answer.content)["status"] == answer.status_code, where
    # The token comes from this test, not from the document's scheme, so schemathesis cannot
    # tell a valid one from a made-up one; tests/test_routes_roles.py proves that a missing or
    # wrong token is refused on every staff route.
    # Positive data the document allows can still be refused with 422: the models' own
    # validators (court codes, case numbers, dates within range) say more than their JSON
    # schema can, which the README lists as a limit of the document.
    excluded = [ignored_auth, positive_data_acceptance]
    case.validate_response(answer, excluded_checks=excluded, **recorded)


def configure(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *, rail: str) -> None:
    """Every setting a deployed stage has: rail keys and where the rail answers, the export
    and digest buckets and the digest signing key."""
    from chalicelib.settings import load
    from infra.audit import create_digest_bucket, create_exports_bucket

    secrets = {
        "stripe-secret-key": "sk_test_contract",
        "stripe-publishable-key": "pk_test_contract",
        "stripe-webhook-secret": "whsec_contract",
        "face-grant-key": "contract-test-grant-key-" * 2,
    }
    monkeypatch.setenv("SECRETS_DIR", str(write_secrets(tmp_path / "secrets", secrets)))
    monkeypatch.setenv("NOTIFY_OUTBOX_DIR", str(tmp_path / "outbox"))
    monkeypatch.setenv("STRIPE_API_BASE", rail)
    monkeypatch.setenv("STRIPE_FINANCIAL_ACCOUNT", "fa_contract")
    monkeypatch.setenv("STRIPE_PAYOUT_ROUTING_NUMBER", "110000000")
    create_exports_bucket(wiring.s3(), "courtfunds-contract-exports")
    create_digest_bucket(wiring.s3(), "courtfunds-contract-digests", retention_days=1)
    key = wiring.kms().create_key(KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY")
    monkeypatch.setenv("EXPORTS_BUCKET", "courtfunds-contract-exports")
    monkeypatch.setenv("AUDIT_BUCKET", "courtfunds-contract-digests")
    monkeypatch.setenv("DIGEST_KMS_KEY_ID", key["KeyMetadata"]["KeyId"])
    wiring.override(settings=load())


@pytest.fixture
def stage(aws: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A deployed stage whose payment rail is unreachable, as in an outage: one call at a
    time reaches every route, and none may fail with more than its 503."""
    configure(tmp_path, monkeypatch, rail=f"http://127.0.0.1:{free_port()}")


@pytest.fixture
def stage_with_rail(
    aws: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> None:
    """A deployed stage with the payment rail up (the local Stripe stand-in, a session
    fixture of the collection tests), so a scenario that files a case can start paying it."""
    configure(tmp_path, monkeypatch, rail=request.getfixturevalue("localstripe"))


def test_every_answer_matches_the_contract(api: Any, token: Any, stage: None) -> None:
    served = api.get("/openapi.json")
    assert served.status_code == 200
    schema = contract(json.loads(served.body))
    failures: list[str] = []
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def check(case: Any) -> None:
            answer = send(api, case, sign_in(case, token))
            holds_to_contract(case, answer)

        try:
            check()
        except (Exception, BaseExceptionGroup) as error:  # every operation is tried; all shown
            failures.append(f"{operation.method.upper()} {operation.path}: {error}"[:2000])
    documented = json.loads(served.body)["paths"]
    assert operations == sum(len(methods) for methods in documented.values())
    assert not failures, "\n\n".join(failures)


def contract(document: dict[str, Any], *, negative: bool = True) -> Any:
    """The document as schemathesis tests it. The token comes from the test (``sign_in``), so
    schemathesis draws none from the bearer scheme, and no request that lacks one."""
    schema = schemathesis.openapi.from_dict(document)
    modes = list(GenerationMode) if negative else [GenerationMode.POSITIVE]
    schema.config.generation.update(modes=modes, with_security_parameters=False)
    return schema


def linked_operations(document: dict[str, Any]) -> list[str]:
    """The operation ids that links leave from or lead to: the chains the stateful run walks."""
    found: set[str] = set()
    for methods in document["paths"].values():
        for operation in methods.values():
            for answer in operation["responses"].values():
                for link in answer.get("links", {}).values():
                    found |= {operation["operationId"], link["operationId"]}
    return sorted(found)


def linked_scenarios(api: Any, token: Any, schema: Any) -> Any:
    """Schemathesis's state machine over the document's links, calling the app in process.
    A case filed by a scenario gets a filing the validators accept (a fresh case number each
    time): random text almost never makes a valid case number, ID number and check digit, so
    without it no chain would get past its first call."""
    serials = itertools.count(7000)
    machine = schema.as_state_machine()
    # Every scenario starts by filing a case: the chains that start elsewhere (a refund of a
    # payment, a correction between accounts) need records random data never names.
    filing_rule = "RANDOM__POST_cases"
    assert filing_rule in machine.root_rules, sorted(machine.root_rules)

    class Scenarios(machine):  # type: ignore[misc,valid-type]
        root_rules = frozenset({filing_rule})

        def before_call(self, case: Any) -> None:
            if (case.method, case.path) == ("POST", "/cases"):
                case.body = filing(next(serials))

        def call(self, case: Any, **kwargs: Any) -> Response:
            return send(api, case, sign_in(case, token))

        def validate_response(self, response: Response, case: Any, *_: Any, **__: Any) -> None:
            holds_to_contract(case, response, recorder=self.recorder)

    for other in machine.root_rules - {filing_rule}:
        setattr(Scenarios, other, None)  # no longer a rule Hypothesis can draw
    return Scenarios


def scenario_settings(scenarios: int) -> Any:
    return settings(
        max_examples=scenarios,
        stateful_step_count=6,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )


def test_linked_calls_hold_to_the_contract(api: Any, token: Any, stage_with_rail: None) -> None:
    document = json.loads(api.get("/openapi.json").body)
    links = sum(
        len(answer.get("links", {}))
        for operations in document["paths"].values()
        for operation in operations.values()
        for answer in operation["responses"].values()
    )
    assert links > 50
    chains = contract(document, negative=False).include(operation_id=linked_operations(document))
    machine = linked_scenarios(api, token, chains)
    machine.run(settings=scenario_settings(SCENARIOS))


def test_a_link_whose_target_loses_what_was_just_made_fails_the_stateful_run(
    api: Any, token: Any, stage: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The stateful run can fail: with cases no longer found once filed (every route reading
    a case answers 404), the case a scenario just filed is "not available" through the links
    from its filing, and the run says so."""
    from chalicelib.cases.errors import CaseNotFound

    def lost(case_id: str) -> Any:
        raise CaseNotFound(f"there is no case {case_id}")

    monkeypatch.setattr(wiring.case_service(), "get", lost)
    document = json.loads(api.get("/openapi.json").body)
    filed = contract(document, negative=False).include(path_regex=r"^/cases")
    machine = linked_scenarios(api, token, filed)
    with pytest.raises(FailureGroup) as failed:
        machine.run(settings=scenario_settings(12))
    assert "for a resource that was just created" in str(failed.value), failed.value

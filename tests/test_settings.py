"""The settings object: read from the environment, validated, and clear about what is wrong."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from chalicelib.settings import MissingSetting, Settings, load
from tests.conftest import PROJECT_ROOT


@pytest.fixture(autouse=True)
def _signed_in_stage(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AUTH_ISSUER", "https://auth.court-funds.test")
    monkeypatch.setenv("AUTH_AUDIENCE", "court-funds-test")


def test_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NOTIFY_BY", "sms")
    loaded = load()
    assert loaded.notify_by == "sms"
    assert loaded.ledger_table == "courtfunds-test-ledger"


def test_a_wrong_value_names_the_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NOTIFY_BY", "pigeon")
    with pytest.raises(ValidationError, match="notify_by"):
        load()


def test_a_missing_table_name_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LEDGER_TABLE")
    with pytest.raises(ValidationError, match="ledger_table"):
        load()


def stage_environments() -> dict[str, dict[str, str]]:
    config = json.loads((PROJECT_ROOT / ".chalice" / "config.json").read_text())
    return {name: stage["environment_variables"] for name, stage in config["stages"].items()}


def load_stage(monkeypatch: pytest.MonkeyPatch, env: dict[str, str]) -> Settings:
    """The settings a stage's Lambda reads: its config.json variables and nothing else."""
    for field in Settings.model_fields:
        monkeypatch.delenv(field.upper(), raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return load()


def test_every_stage_configures_every_setting_the_code_reads(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    required = {
        name.upper() for name, field in Settings.model_fields.items() if field.is_required()
    }
    known = {name.upper() for name in Settings.model_fields}
    for stage, env in stage_environments().items():
        assert required <= set(env), f"{stage} lacks {sorted(required - set(env))}"
        assert set(env) <= known, f"{stage} sets what nothing reads: {sorted(set(env) - known)}"
        with monkeypatch.context() as patched:
            assert load_stage(patched, env).stage == stage


def test_deployed_stages_read_their_secrets_from_parameter_store_and_may_read_only_those(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for stage, env in stage_environments().items():
        if stage == "local":
            continue
        with monkeypatch.context() as patched:
            loaded = load_stage(patched, env)
        assert loaded.secrets_from == "ssm"
        assert all(name.startswith(f"/courtfunds/{stage}/") for name in loaded.secret_names())
        config = json.loads((PROJECT_ROOT / ".chalice" / "config.json").read_text())
        policy_file = config["stages"][stage]["iam_policy_file"]
        policy = json.loads((PROJECT_ROOT / ".chalice" / policy_file).read_text())
        granted = [
            resource
            for statement in policy["Statement"]
            if any(action.startswith(("ssm:", "secretsmanager:")) for action in statement["Action"])
            for resource in statement["Resource"]
        ]
        assert sorted(granted) == sorted(
            f"arn:*:ssm:*:*:parameter{name}" for name in loaded.secret_names()
        )
        actions = {a for s in policy["Statement"] for a in s["Action"] if a.startswith("ssm:")}
        assert actions == {"ssm:GetParameter"}


def test_deployed_sign_in_names_the_missing_cognito_ids(monkeypatch: pytest.MonkeyPatch) -> None:
    loaded = load_stage(monkeypatch, stage_environments()["prod"])
    with pytest.raises(MissingSetting, match="COGNITO_USER_POOL_ID and COGNITO_APP_CLIENT_ID"):
        loaded.sign_in()


def test_deployed_sign_in_checks_tokens_against_the_cognito_pool(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    env = stage_environments()["prod"] | {
        "COGNITO_USER_POOL_ID": "ap-east-1_AbCdEf123",
        "COGNITO_APP_CLIENT_ID": "4b1c2d3e4f5g6h7i8j9k0l1m2n",
    }
    sign_in = load_stage(monkeypatch, env).sign_in()
    assert sign_in.issuer == "https://cognito-idp.ap-east-1.amazonaws.com/ap-east-1_AbCdEf123"
    assert sign_in.jwks_url == sign_in.issuer + "/.well-known/jwks.json"
    assert sign_in.audience == "4b1c2d3e4f5g6h7i8j9k0l1m2n"
    assert sign_in.jwks_file is None


def test_a_malformed_pool_id_is_refused_at_load(monkeypatch: pytest.MonkeyPatch) -> None:
    env = stage_environments()["prod"] | {"COGNITO_USER_POOL_ID": "REPLACE-WITH-POOL-ID"}
    with pytest.raises(ValidationError, match="cognito_user_pool_id"):
        load_stage(monkeypatch, env)


def test_the_local_stage_names_what_its_sign_in_lacks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AUTH_JWKS_FILE", raising=False)
    with pytest.raises(MissingSetting, match="AUTH_JWKS_FILE"):
        load().sign_in()


def test_the_rekognition_verifier_is_refused_in_the_local_stage(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # moto's CompareFaces answers a canned match: it must never let a creditor through locally
    monkeypatch.setenv("FACE_VERIFIER", "rekognition")
    with pytest.raises(ValidationError, match="local stage"):
        load()
    monkeypatch.setenv("STAGE", "prod")
    assert load().face_verifier == "rekognition"


def test_money_limits_and_shards_are_validated(monkeypatch: pytest.MonkeyPatch) -> None:
    loaded = load()
    assert loaded.counter_cash_ceiling_fen > 0
    assert loaded.ledger_system_shards >= 1
    monkeypatch.setenv("COUNTER_CASH_CEILING_FEN", "-1")
    with pytest.raises(ValidationError, match="counter_cash_ceiling_fen"):
        load()
    monkeypatch.setenv("COUNTER_CASH_CEILING_FEN", "100")
    monkeypatch.setenv("LEDGER_SYSTEM_SHARDS", "0")
    with pytest.raises(ValidationError, match="ledger_system_shards"):
        load()

"""The settings object: read from the environment, validated, and clear about what is wrong."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from chalicelib.settings import load


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

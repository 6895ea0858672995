"""What an auditor or finance asks to export: kind, format, period and, for a statement, the
account. Apart from the models, so the routes load only this at a cold start."""

from __future__ import annotations

from enum import StrEnum

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator, model_validator

MAX_PERIOD_DAYS = 400


class ExportKind(StrEnum):
    JOURNAL = "journal"  # every entry of every transfer made in the period
    STATEMENT = "statement"  # one case account's entries in the period, with running balances
    TRIAL_BALANCE = "trial_balance"  # per account: opening, debits, credits, closing


class ExportFormat(StrEnum):
    CSV = "csv"  # UTF-8 with a byte order mark, so Excel reads the Chinese correctly
    XLSX = "xlsx"
    JSONL = "jsonl"


class ExportRequest(BaseModel):
    """An auditor's or finance's request: what, which period (``start <= at < end``), how."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: ExportKind
    format: ExportFormat = ExportFormat.CSV
    start: AwareDatetime
    end: AwareDatetime
    account: str | None = Field(default=None, min_length=1, max_length=64)

    @field_validator("account")
    @classmethod
    def _typed_in_groups(cls, value: str | None) -> str | None:
        # case account numbers are read out and typed in groups of four
        return "".join(value.split()) if value is not None else None

    @model_validator(mode="after")
    def _coherent(self) -> ExportRequest:
        if self.end <= self.start:
            raise ValueError("the period's end must be after its start")
        if (self.end - self.start).days > MAX_PERIOD_DAYS:
            raise ValueError(f"an export covers at most {MAX_PERIOD_DAYS} days")
        if (self.kind == ExportKind.STATEMENT) != (self.account is not None):
            raise ValueError("a statement, and only a statement, names its account")
        return self

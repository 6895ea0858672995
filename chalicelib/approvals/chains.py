"""Approval chains: which roles approve an item, in which order, by amount tier, per court."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, model_validator

from chalicelib.identity.roles import Role
from chalicelib.money import MAX_FEN

EVERY_COURT = "*"


class ChainKind(StrEnum):
    """Each kind of item that moves money names its chain."""

    REFUND = "refund"  # 退付
    DISBURSEMENT = "disbursement"  # 案款发放
    DEFERRAL = "deferral"  # 延缓发放
    STAFF_RELEASE = "staff_release"  # money held back by staff, released
    PAYEE_CHANGE = "payee_change"  # the creditor's receiving account changed after filing
    COUNTER_CASH = "counter_cash"  # 现场交款补录: cash taken at the counter, confirmed
    CLAIM = "claim"  # 认领: unidentified money claimed to a case, confirmed


class _Config(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Step(_Config):
    """One approval in a chain: the role it needs and how the court names the post."""

    role: Role
    title: str = Field(min_length=1, max_length=60)


class Tier(_Config):
    """Amounts up to ``up_to_fen`` (inclusive) go through ``steps``; ``None`` is any amount
    above the tiers before it."""

    up_to_fen: int | None = Field(default=None, gt=0, le=MAX_FEN)
    steps: tuple[Step, ...] = Field(min_length=1, max_length=8)


class Chain(_Config):
    tiers: tuple[Tier, ...] = Field(min_length=1, max_length=8)

    @model_validator(mode="after")
    def _ascending_and_open_ended(self) -> Chain:
        bounds = [tier.up_to_fen for tier in self.tiers]
        if bounds[-1] is not None:
            raise ValueError("the last tier has no upper bound, so every amount has a chain")
        limited = bounds[:-1]
        if any(b is None for b in limited) or limited != sorted(set(limited)):  # type: ignore[type-var]
            raise ValueError("tiers rise strictly, each with an upper bound but the last")
        return self

    def steps_for(self, amount_fen: int) -> tuple[Step, ...]:
        for tier in self.tiers:
            if tier.up_to_fen is None or amount_fen <= tier.up_to_fen:
                return tier.steps
        raise AssertionError("unreachable: the last tier is open-ended")  # pragma: no cover


class ChainBook(_Config):
    """Chains per court (by court code); ``"*"`` holds the chains of every court that has
    none of its own, and must name a chain for every kind."""

    courts: dict[str, dict[ChainKind, Chain]]

    @model_validator(mode="after")
    def _every_kind_has_a_default(self) -> ChainBook:
        defaults = self.courts.get(EVERY_COURT, {})
        missing = [kind.value for kind in ChainKind if kind not in defaults]
        if missing:
            raise ValueError(f'the "*" chains must name every kind; missing: {missing}')
        return self

    def chain(self, court: str, kind: ChainKind) -> Chain:
        own = self.courts.get(court, {})
        return own.get(kind) or self.courts[EVERY_COURT][kind]


_CHIEF = Step(role=Role.APPROVER, title="执行局长 bureau chief")
_LEADER = Step(role=Role.APPROVER, title="分管院领导 court leader")
_FINANCE = Step(role=Role.FINANCE, title="财务 finance")
# Up to 50,000.00 yuan the bureau chief approves; above it a court leader also approves;
# finance releases last, in both tiers.
_MONEY_OUT = Chain(
    tiers=(
        Tier(up_to_fen=5_000_000, steps=(_CHIEF, _FINANCE)),
        Tier(steps=(_CHIEF, _LEADER, _FINANCE)),
    )
)

_FINANCE_CONFIRMS = Chain(tiers=(Tier(steps=(_FINANCE,)),))


def default_chains() -> ChainBook:
    """The chains a stage gets unless ``APPROVAL_CHAINS`` (JSON of a ``ChainBook``) says else."""
    return ChainBook(
        courts={
            EVERY_COURT: {
                ChainKind.REFUND: _MONEY_OUT,
                ChainKind.DISBURSEMENT: _MONEY_OUT,
                ChainKind.DEFERRAL: Chain(tiers=(Tier(steps=(_CHIEF,)),)),
                ChainKind.STAFF_RELEASE: Chain(tiers=(Tier(steps=(_CHIEF, _FINANCE)),)),
                ChainKind.PAYEE_CHANGE: Chain(tiers=(Tier(steps=(_CHIEF, _FINANCE)),)),
                # Money coming in: finance confirms what someone else entered or proposed; a
                # court may add an approver above an amount with a tier of its own.
                ChainKind.COUNTER_CASH: _FINANCE_CONFIRMS,
                ChainKind.CLAIM: _FINANCE_CONFIRMS,
            }
        }
    )

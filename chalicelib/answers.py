"""What route answers share: the strict base of the models that describe a JSON answer, and
money as every answer shows it.

A model here is a route's contract (``route(..., answer=...)``): the OpenAPI document shows it
and the edge holds each answer to it, so a field the model does not name cannot leave."""

from __future__ import annotations

from typing import Generic, TypeVar

from pydantic import BaseModel, ConfigDict

Item = TypeVar("Item")


class AnswerBody(BaseModel):
    """Exactly the fields named (an unnamed one is a breach); built on first use, not at
    import, to keep the cold start short."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)


class MoneyShown(AnswerBody):
    """An amount as answers show it: integer fen, its currency, and yuan as text ("123.45")."""

    fen: int
    currency: str
    yuan: str


class Items(AnswerBody, Generic[Item]):
    """A list answered under ``items``."""

    items: list[Item]

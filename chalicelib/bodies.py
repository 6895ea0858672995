"""What request bodies and query strings share: a strict base and common field types."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, StringConstraints


class RequestBody(BaseModel):
    """Unknown fields are refused (pydantic never turns numbers into text); validators are
    built on first use, not at import, to keep the cold start short."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)


# Why someone did something, for the trail: a few words at least, never an essay.
Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=2, max_length=500)]

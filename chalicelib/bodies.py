"""What request bodies and query strings share: a strict base and common field types."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, StringConstraints


class RequestBody(BaseModel):
    """Unknown fields are refused (pydantic never turns numbers into text); validators are
    built on first use, not at import, to keep the cold start short."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)


# Characters no typed text needs and that hide or disguise what a reader sees: C0 and C1
# controls (NUL, ANSI escapes), zero-width characters, and the bidi overrides and isolates that
# reorder a line ("payee" shown as "eeyap"). A line break is allowed in reasons only.
_HIDDEN = "\x00-\x09\x0b-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff"
_HIDDEN_IN_TEXT = re.compile(f"[{_HIDDEN}]")
_HIDDEN_IN_LINE = re.compile(f"[{_HIDDEN}\n\u2028\u2029]")


def _plain_text(value: str) -> str:
    if _HIDDEN_IN_TEXT.search(value):
        raise ValueError("the text contains control, zero-width or direction-changing characters")
    return value


def _plain_line(value: str) -> str:
    if _HIDDEN_IN_LINE.search(value):
        raise ValueError(
            "the text contains line breaks, control, zero-width or direction-changing characters"
        )
    return value


# Why someone did something, for the trail: a few words at least, never an essay.
Reason = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=2, max_length=500),
    AfterValidator(_plain_text),
]


class Question(RequestBody):
    """What an approver needs to know before deciding; whoever asked for the item answers it."""

    question: Reason


class Answer(RequestBody):
    """The requester's answer to an approver's question; the same step then waits again."""

    answer: Reason


# A one-line text a person types (a name, a receipt number): not blank, no hidden characters.
Line = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=100),
    AfterValidator(_plain_line),
]


# The years a court's money can be dated in. Any other year is a typing mistake, and years near
# 1 or 9999 overflow when a time zone offset turns them into UTC.
EARLIEST_YEAR, LATEST_YEAR = 1990, 2100


def _sane_year(value: datetime) -> datetime:
    if not EARLIEST_YEAR <= value.year <= LATEST_YEAR:
        raise ValueError(f"a date must fall in the years {EARLIEST_YEAR} to {LATEST_YEAR}")
    return value


# A moment with its time zone, in the years the service deals in.
Moment = Annotated[AwareDatetime, AfterValidator(_sane_year)]

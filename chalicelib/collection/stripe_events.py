"""The shape a Stripe event and PaymentIntent must have before collection acts on it.

A signed event is still only a notice: a rail bug, an API version change or a test sent from the
dashboard can carry an amount as text or a fraction, a missing currency, metadata as a list or a
timestamp no calendar holds. Such an event fails these models, is recorded for people to review
and is acknowledged (so Stripe stops retrying); it is never posted and never a 500.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from chalicelib.collection.rail import RailPayment, RailStatus
from chalicelib.money import MAX_FEN

# Seconds since 1970 up to the end of 2100: anything later is not a time Stripe sends.
Timestamp = Annotated[int, Field(ge=0, le=4_133_980_799)]
StripeId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_]{1,255}$")]

_STATUSES = {
    "requires_payment_method": RailStatus.AWAITING_METHOD,
    "requires_confirmation": RailStatus.AWAITING_CONFIRMATION,
    "requires_action": RailStatus.REQUIRES_ACTION,
    "processing": RailStatus.PROCESSING,
    "requires_capture": RailStatus.PROCESSING,
    "succeeded": RailStatus.SUCCEEDED,
    "canceled": RailStatus.CANCELED,
}


class _Shape(BaseModel):
    """Strict: an amount of ``1.5`` or ``"100"`` is refused, not turned into 1 or 100."""

    model_config = ConfigDict(strict=True, frozen=True, extra="ignore", defer_build=True)


class _PaymentError(_Shape):
    message: Annotated[str, StringConstraints(max_length=1000)] | None = None


class IntentShape(_Shape):
    object: Literal["payment_intent"]
    id: StripeId
    amount: Annotated[int, Field(ge=0, le=MAX_FEN)]
    amount_received: Annotated[int, Field(ge=0, le=MAX_FEN)] | None = None
    currency: Annotated[str, StringConstraints(pattern=r"^[A-Za-z]{3}$")]
    status: Annotated[str, StringConstraints(max_length=64)]
    created: Timestamp = 0
    metadata: dict[str, Annotated[str, StringConstraints(max_length=500)]] = Field(
        default_factory=dict
    )
    last_payment_error: _PaymentError | None = None
    client_secret: Annotated[str, StringConstraints(max_length=500)] | None = None


class _EventData(_Shape):
    object: dict[str, Any]


class EventShape(_Shape):
    id: StripeId
    type: Annotated[str, StringConstraints(pattern=r"^[a-z_.]{1,100}$")]
    created: Timestamp
    data: _EventData


class MisshapenData(ValueError):
    """What the rail sent does not have the shape collection acts on; says what is wrong."""


def _why(error: ValidationError) -> str:
    parts = []
    for item in error.errors(include_url=False)[:3]:
        where = ".".join(str(p) for p in item["loc"]) or "body"
        parts.append(f"{where}: {item['msg']}")
    return "; ".join(parts)


def event_shape(data: Any) -> EventShape:
    try:
        return EventShape.model_validate(data)
    except ValidationError as error:
        raise MisshapenData(_why(error)) from error


def intent_payment(data: Any) -> RailPayment:
    """A PaymentIntent (as a plain dict, from the API or a webhook) as a ``RailPayment``."""
    try:
        intent = IntentShape.model_validate(data)
    except ValidationError as error:
        raise MisshapenData(_why(error)) from error
    failure = intent.last_payment_error
    status = _STATUSES.get(intent.status, RailStatus.AWAITING_METHOD)
    # What was received, where Stripe reports it (localstripe does not): a succeeded intent's
    # ``amount_received`` is the money that moved, whatever ``amount`` was asked.
    received = intent.amount_received
    return RailPayment(
        reference=intent.id,
        amount=received
        if status == RailStatus.SUCCEEDED and received is not None
        else intent.amount,
        currency=intent.currency.upper(),
        status=status,
        created_at=datetime.fromtimestamp(intent.created, UTC),
        payment_id=intent.metadata.get("payment_id"),
        account_number=intent.metadata.get("case_account"),
        case_id=intent.metadata.get("case_id"),
        court_code=intent.metadata.get("court"),
        failure_message=failure.message if failure else None,
        client_secret=intent.client_secret,
    )

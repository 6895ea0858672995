"""SMS through Amazon SNS: the production ``MessageSender`` for phone numbers.

Mainland numbers are stored as 11 digits; SNS wants E.164, so ``+86`` is added. The message is
transactional (not marketing), which SNS routes for delivery rather than cost.
"""

from __future__ import annotations

from typing import Any

COUNTRY_CODE = "+86"


class SnsSmsSender:
    """``MessageSender`` for ``Channel.SMS``; the subject is not sent, SMS has none."""

    def __init__(self, client: Any, *, sender_id: str | None = None) -> None:
        self._client = client
        self._sender_id = sender_id

    def send(self, *, address: str, subject: str, body: str) -> str:
        attributes: dict[str, Any] = {
            "AWS.SNS.SMS.SMSType": {"DataType": "String", "StringValue": "Transactional"}
        }
        if self._sender_id:
            attributes["AWS.SNS.SMS.SenderID"] = {
                "DataType": "String",
                "StringValue": self._sender_id,
            }
        number = address if address.startswith("+") else COUNTRY_CODE + address
        answer = self._client.publish(
            PhoneNumber=number, Message=body, MessageAttributes=attributes
        )
        return str(answer["MessageId"])

"""The local outbox: notifications written as JSON lines to a file that people and tests read.

The local stack has no SMS gateway; the outbox shows exactly what would have been sent. A file
(not memory) so that a test, a developer's terminal and the running app all see the same list.
"""

from __future__ import annotations

import json
import threading
from dataclasses import asdict
from pathlib import Path

from chalicelib.clock import Clock, isoformat, parse_iso
from chalicelib.notifications.models import Channel, Delivery, Notification


class OutboxNotifier:
    """``Notifier`` that appends every delivery to ``path``. A recipient that already has a
    message with this key is skipped, so the outbox shows one message per recipient even if a
    caller's guard were to fail."""

    def __init__(self, path: Path, *, clock: Clock) -> None:
        self.path = path
        self._clock = clock
        self._lock = threading.Lock()

    def notify(self, notification: Notification) -> list[Delivery]:
        with self._lock:
            earlier = [d for d in self.deliveries() if d.notification_key == notification.key]
            told = {(d.channel, d.address) for d in earlier}
            fresh = [r for r in notification.recipients if (r.channel, r.address) not in told]
            now = self._clock.now()
            deliveries = [
                notification.delivered(
                    recipient, sent_at=now, reference=f"outbox:{notification.key}:{index}"
                )
                for index, recipient in enumerate(fresh, start=len(earlier))
            ]
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a", encoding="utf-8") as out:
                for delivery in deliveries:
                    record = asdict(delivery) | {"sent_at": isoformat(delivery.sent_at)}
                    out.write(json.dumps(record, ensure_ascii=False) + "\n")
            return deliveries

    def deliveries(self) -> list[Delivery]:
        """Everything sent so far, oldest first."""
        if not self.path.exists():
            return []
        result = []
        for line in self.path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                record = json.loads(line)
                record["channel"] = Channel(record["channel"])
                record["sent_at"] = parse_iso(record["sent_at"])
                result.append(Delivery(**record))
        return result

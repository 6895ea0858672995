"""The creditor's face check on a claim: compare the selfie with the reference photo, count
failures, lock the claim after too many, and issue the grant that a payout release consumes.

The selfie is held in memory only while it is compared: nothing of it is stored, only the
decision (outcome, scores, thresholds, checks run, model version).
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from chalicelib.clock import isoformat
from chalicelib.identity.errors import (
    ClaimLocked,
    GrantRefused,
    IdentityError,
    LivenessNotUsed,
    LivenessSessionRefused,
    NoReferencePhoto,
)
from chalicelib.identity.face_decisions import ADVICE, FaceDecision, Outcome
from chalicelib.identity.face_records import (
    ClaimEvent,
    ClaimState,
    Contended,
    FaceStore,
    ReferenceRecord,
)
from chalicelib.identity.grants import Binding, GrantClaims, GrantSigner, check_binding

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence

    from chalicelib.clock import Clock
    from chalicelib.identity.face_interface import FaceVerifier, LivenessVerifier
    from chalicelib.identity.reference_photo_store import ReferencePhotos
    from chalicelib.notifications.interface import Notifier

log = logging.getLogger(__name__)
RETRIES = 3
ANY_COURT = "*"


@dataclass(frozen=True)
class FaceCheckLimits:
    grant_ttl: timedelta
    max_failures: int
    failure_window: timedelta
    liveness_min_confidence: float = 90.0


@dataclass(frozen=True)
class CheckResult:
    """What the phone is told after a face check."""

    decision: FaceDecision
    attempts_left: int
    locked: bool
    grant: str | None = None
    grant_expires_at: datetime | None = None

    def as_dict(self) -> dict[str, Any]:
        refusal = self.decision.refusal
        advice = ADVICE[refusal] if refusal else None
        return {
            "outcome": self.decision.outcome.value,
            "reason": refusal.value if refusal else None,
            "advice": {"zh": advice[0], "en": advice[1]} if advice else None,
            "attempts_left": self.attempts_left,
            "locked": self.locked,
            "liveness": self.decision.liveness,
            "grant": self.grant,
            "grant_expires_at": isoformat(self.grant_expires_at) if self.grant_expires_at else None,
        }


class FaceChecks:
    def __init__(
        self,
        *,
        store: FaceStore,
        photos: ReferencePhotos,
        verifier: Callable[[], FaceVerifier],
        signer: GrantSigner,
        clock: Clock,
        limits: FaceCheckLimits,
        notifier: Notifier,
        lock_contacts: Mapping[str, Sequence[str]],
    ) -> None:
        self._store = store
        self._photos = photos
        self._verifier = verifier
        self._signer = signer
        self._clock = clock
        self._limits = limits
        self._notifier = notifier
        self._lock_contacts = lock_contacts

    def _recent(self, state: ClaimState, now: datetime) -> tuple[datetime, ...]:
        since = now - self._limits.failure_window
        return tuple(t for t in state.failures if t > since)

    def check(
        self, binding: Binding, selfie: bytes, *, court: str, case_number: str = ""
    ) -> CheckResult:
        """One attempt on a claim. A locked claim is refused before the photo is looked at.
        A clear face that is not the creditor's counts as a failure; a photo refused for its
        quality does not (the person is told what to fix), but it is recorded. The attempt
        that locks the claim tells the case officers."""
        self._refuse_locked(binding)
        on_file, reference = self._photos.on_file(binding.case_id, binding.creditor_party_id)
        decision = self._verifier().compare(reference, selfie)
        return self._decide(
            binding, decision, court=court, case_number=case_number, reference=on_file
        )

    def _refuse_locked(self, binding: Binding) -> None:
        if self._store.claim(binding.disbursement_id).locked:
            raise ClaimLocked(
                "this claim is locked after too many failed face checks; "
                "the case officer has been told and can unlock it",
                disbursement_id=binding.disbursement_id,
            )

    def _live_verifier(self) -> LivenessVerifier:
        from chalicelib.identity.face_interface import LivenessVerifier

        verifier = self._verifier()
        if not isinstance(verifier, LivenessVerifier):
            raise LivenessNotUsed("this court's face check takes a photo; it has no live check")
        return verifier

    def start_live(self, binding: Binding) -> str:
        """A Face Liveness session for the phone's liveness component, bound to this payout's
        claim so that no other claim can use what it captures; returns the session's id."""
        self._refuse_locked(binding)
        # say so now if none is on file; the record answers that, no biometric bytes are read
        record = self._store.reference(binding.case_id, binding.creditor_party_id)
        if record is None or record.purged_at is not None:
            raise NoReferencePhoto(
                "no reference photo is on file for this creditor; the case officer enrols one"
            )
        session_id = self._live_verifier().start_liveness(client_token=uuid.uuid4().hex)
        if not self._store.put_liveness_session(
            session_id, binding.disbursement_id, binding.attempt, at=self._clock.now()
        ):
            raise LivenessSessionRefused("this live check is taken; start a new one")
        return session_id

    def check_live(
        self, binding: Binding, session_id: str, *, court: str, case_number: str = ""
    ) -> CheckResult:
        """Where the stage checks liveness: the face a finished session of this claim captured,
        compared with the reference photo. The session is used once, whatever the outcome."""
        self._refuse_locked(binding)
        verifier = self._live_verifier()
        used = self._store.use_liveness_session(
            session_id, binding.disbursement_id, binding.attempt, at=self._clock.now()
        )
        if not used:
            raise LivenessSessionRefused(
                "this live check was not started for this claim or was used already; "
                "start a new one"
            )
        on_file, reference = self._photos.on_file(binding.case_id, binding.creditor_party_id)
        decision = verifier.compare_live(
            reference, session_id, min_confidence=self._limits.liveness_min_confidence
        )
        return self._decide(
            binding, decision, court=court, case_number=case_number, reference=on_file
        )

    def record_decision(
        self, binding: Binding, decision: FaceDecision, *, court: str, actor: str
    ) -> CheckResult:
        """A decision made by a person (the human review) recorded as a comparison's would be:
        a match issues the grant, and the decision names who decided in its checks."""
        return self._decide(binding, decision, court=court, case_number="", actor=actor)

    def _decide(
        self,
        binding: Binding,
        decision: FaceDecision,
        *,
        court: str,
        case_number: str,
        actor: str = "creditor",
        reference: ReferenceRecord | None = None,
    ) -> CheckResult:
        for _ in range(RETRIES):
            try:
                result, after = self._record(
                    binding, decision, court=court, actor=actor, reference=reference
                )
            except Contended:
                continue
            if after.locked and after.locked_at is not None:
                self._tell_officers(binding, after, court=court, case_number=case_number)
            return result
        raise IdentityError("the claim is busy with another attempt; try again")

    def _record(
        self,
        binding: Binding,
        decision: FaceDecision,
        *,
        court: str,
        actor: str,
        reference: ReferenceRecord | None,
    ) -> tuple[CheckResult, ClaimState]:
        now = self._clock.now()
        state = self._store.claim(binding.disbursement_id)
        if state.locked:
            raise ClaimLocked(
                "this claim was locked by another attempt a moment ago",
                disbursement_id=binding.disbursement_id,
            )
        failures = self._recent(state, now)
        if decision.outcome is Outcome.NO_MATCH:
            failures = (*failures, now)
        locked = len(failures) >= self._limits.max_failures
        after = replace(
            state,
            failures=failures,
            locked=locked,
            locked_at=now if locked else None,
            court=court,
        )
        details: dict[str, Any] = {**decision.as_record(), "binding": binding.__dict__}
        if reference is not None:  # which photo on file the face was compared with
            details["reference"] = {
                "enrolled_at": isoformat(reference.enrolled_at),
                "enrolled_by": reference.enrolled_by,
            }
        token = expires = None
        grant_item = None
        if decision.outcome is Outcome.MATCH:
            expires = now + self._limits.grant_ttl
            claims = GrantClaims(
                grant_id=uuid.uuid4().hex, binding=binding, issued_at=now, expires_at=expires
            )
            token = self._signer.sign(claims)
            details["grant_id"] = claims.grant_id
            grant_item = self._store.grant_item(
                claims.grant_id, {"binding": binding.__dict__, "issued_at": str(now)}, expires
            )
        self._store.record(
            state,
            after,
            ClaimEvent(at=now, kind="decision", actor=actor, details=details),
            grant=grant_item,
        )
        result = CheckResult(
            decision=decision,
            attempts_left=max(0, self._limits.max_failures - len(failures)),
            locked=locked,
            grant=token,
            grant_expires_at=expires,
        )
        return result, replace(after, version=state.version + 1)

    def _tell_officers(
        self, binding: Binding, lock: ClaimState, *, court: str, case_number: str
    ) -> None:
        """Tell the court's case officers of a lock, once per lock: the notice is recorded in
        the claim's trail before it is sent, and a second call for the same lock sends nothing.
        A failed send is recorded too; the locked-claims queue shows the claim either way."""
        from chalicelib.money import format_yuan
        from chalicelib.notifications import Channel, Notification, Recipient

        claim, locked_at = binding.disbursement_id, lock.locked_at or self._clock.now()
        key = f"face-lock:{claim}:{lock.version}"
        contacts = tuple(self._lock_contacts.get(court) or self._lock_contacts.get(ANY_COURT, ()))
        details: dict[str, Any] = {"notification_key": key, "recipients": list(contacts)}
        begun = ClaimEvent(at=locked_at, kind="lock_notice", actor="system",
                           details={**details, "state": "sending"})  # fmt: skip
        if not self._store.begin_lock_notice(claim, locked_at, lock.version, begun):
            return
        if not contacts:
            log.warning("identity: no face lock contact for court %s", court)
            state = "no_contact"
        else:
            case = case_number or binding.case_id
            minutes = int(self._limits.failure_window.total_seconds() // 60)
            notification = Notification(
                key=key,
                kind="identity.claim_locked",
                case_id=binding.case_id,
                recipients=tuple(
                    Recipient(Channel.EMAIL if "@" in a else Channel.SMS, a) for a in contacts
                ),
                subject=f"领取锁定 / claim locked: {case}",
                body=(
                    f"{case}（{court}）发放 {claim}（{format_yuan(binding.amount_fen)}元）的"
                    f"刷脸核验在 {minutes} 分钟内 {self._limits.max_failures} 次未通过，已于 "
                    f"{isoformat(locked_at)} 锁定。请核实后在锁定队列中解锁。"
                ),
            )
            try:
                self._notifier.notify(notification)
                state = "sent"
            except Exception:  # the gateway failed: the record says so, the queue shows it
                log.exception("identity: lock notice %s was not sent", key)
                state = "failed"
        self._store.finish_lock_notice(
            claim,
            locked_at,
            lock.version,
            replace(begun, at=self._clock.now(), details={**details, "state": state}),
        )

    def trail(self, disbursement_id: str) -> tuple[ClaimState, list[ClaimEvent]]:
        """A claim's state and every face check and unlock on it (decisions, never photos)."""
        return self._store.claim(disbursement_id), self._store.claim_events(disbursement_id)

    def locked(self, court: str) -> list[ClaimState]:
        """The case officers' queue: a court's claims locked after failed face checks."""
        return self._store.locked_claims(court)

    def unlock(self, disbursement_id: str, *, actor: str, reason: str) -> ClaimState:
        """The case officer's recorded unlock: the failures are cleared, the trail keeps them."""
        state = self._store.claim(disbursement_id)
        if not state.locked:
            return state
        after = replace(state, failures=(), locked=False, locked_at=None)
        event = ClaimEvent(
            at=self._clock.now(), kind="unlock", actor=actor, details={"reason": reason}
        )
        try:
            self._store.record(state, after, event)
        except Contended as error:
            raise ClaimLocked("the claim changed meanwhile; look again and retry") from error
        return after

    def grant_use(
        self, token: str, binding: Binding, *, used_for: str, now: datetime | None = None
    ) -> tuple[str, dict[str, Any]]:
        """For the release step: check the grant against the payout it is about to send, then
        hand back its id and the conditional update that uses it, to commit in the same
        transaction that records the release. That transaction fails if the grant was used
        meanwhile."""
        now = now or self._clock.now()
        claims = self._signer.read(token)
        check_binding(claims, binding, now=now)
        if self._store.grant_state(claims.grant_id) != "issued":
            raise GrantRefused("the grant has been used already")
        item = self._store.grant_use_item(claims.grant_id, now=now, used_for=used_for)
        return claims.grant_id, item

    def redeem(self, token: str, binding: Binding, *, used_for: str) -> str:
        """Use a grant on its own; returns its id. Refused when replayed, expired or issued for
        another disbursement, case, creditor, amount or destination."""
        grant_id, _ = self.grant_use(token, binding, used_for=used_for)
        if not self._store.use_grant(grant_id, now=self._clock.now(), used_for=used_for):
            raise GrantRefused("the grant has been used already or has expired")
        return grant_id

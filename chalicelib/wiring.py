"""The composition root: every service and adapter of the product is built here, lazily, once.

Nothing here runs at import time, so a Lambda cold start pays only for what a request uses and
tests can point everything at moto before the first call. Capability packages never build their
own dependencies and never import this module: only the entry points (``app.py``, the
``routes.py`` of each capability, the pages and the HTTP edge) ask it for a service, and a
capability's service module is imported only when its first route runs. Tests call ``reset()``
between cases and ``override(clock=...)`` to inject a clock or any other built object.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from chalicelib.clock import Clock, SystemClock

if TYPE_CHECKING:
    from chalicelib.approvals.chains import ChainBook
    from chalicelib.approvals.service import ApprovalService
    from chalicelib.audit.check import LedgerCheck
    from chalicelib.audit.daily import DailyLedgerCheck
    from chalicelib.audit.publisher import DigestPublisher
    from chalicelib.cases.accounts import ReceivingAccountChanges
    from chalicelib.cases.service import CaseService
    from chalicelib.collection.claims import ClaimDesk
    from chalicelib.collection.counter_cash import CounterCashDesk
    from chalicelib.collection.decision_store import DecisionStore
    from chalicelib.collection.rail import PaymentRail
    from chalicelib.collection.service import CollectionService
    from chalicelib.deadlines.daily import DeadlineService
    from chalicelib.exports.service import ExportService
    from chalicelib.identity.face_interface import FaceVerifier
    from chalicelib.identity.face_records import FaceStore
    from chalicelib.identity.face_reviews import FaceReviews
    from chalicelib.identity.face_service import FaceChecks
    from chalicelib.identity.reference_photo_store import ReferencePhotos
    from chalicelib.identity.tokens import TokenVerifier
    from chalicelib.ledger.service import LedgerService
    from chalicelib.monitoring.figures import MonitoringService
    from chalicelib.notifications.interface import Notifier
    from chalicelib.ratelimit import RateLimiter
    from chalicelib.reconciliation.service import ReconciliationService
    from chalicelib.refunds.drafts import Drafts
    from chalicelib.refunds.service import RefundService
    from chalicelib.secrets import Secrets
    from chalicelib.settings import Settings
    from chalicelib.workdays.schedules import CalendarService
    from chalicelib.workdays.working_calendar import WorkingCalendar

T = TypeVar("T")

_lock = threading.RLock()
_cache: dict[str, Any] = {}


def cached(name: str, factory: Callable[[], T]) -> T:
    """Build ``name`` once with ``factory`` and keep it until ``reset()``."""
    with _lock:
        if name not in _cache:
            _cache[name] = factory()
        return _cache[name]  # type: ignore[no-any-return]


def override(**objects: Any) -> None:
    """Replace built objects (``clock=...``, ``dynamodb=...``) until the next ``reset()``."""
    with _lock:
        _cache.update(objects)


def reset() -> None:
    with _lock:
        _cache.clear()


# -- settings and shared adapters ------------------------------------------------------------


def table_name(env_var: str) -> str:
    """The physical name of a table, by the variable that names it (``LEDGER_TABLE``):
    ``infra.tables`` names the tables, ``config.json`` sets them per stage, a test checks both."""
    return str(getattr(settings(), env_var.lower()))


def settings() -> Settings:
    """The validated settings, read once (and again after ``reset()``)."""

    def build() -> Settings:
        from chalicelib.settings import load

        return load()

    return cached("settings", build)


def clock() -> Clock:
    return cached("clock", SystemClock)


def secrets() -> Secrets:
    """Where secrets are read by name: SSM Parameter Store (or Secrets Manager, where a court
    keeps its keys there) in dev and prod, the local stack's folder otherwise."""

    def build() -> Secrets:
        from pathlib import Path

        from chalicelib.secrets import (
            DirectorySecrets,
            ParameterStoreSecrets,
            SecretsManagerSecrets,
        )

        if settings().secrets_from == "ssm":
            import boto3

            return ParameterStoreSecrets(boto3.client("ssm"))
        if settings().secrets_from == "secretsmanager":
            import boto3

            return SecretsManagerSecrets(boto3.client("secretsmanager"))
        return DirectorySecrets(Path(settings().secrets_dir))

    return cached("secrets", build)


def dynamodb() -> Any:
    """The low-level DynamoDB client. AWS_ENDPOINT_URL_DYNAMODB points it at moto or another
    endpoint; boto3 reads that variable itself."""

    def build() -> Any:
        import boto3
        from botocore.config import Config

        return boto3.client(
            "dynamodb",
            config=Config(retries={"max_attempts": 3, "mode": "standard"}, connect_timeout=2),
        )

    return cached("dynamodb", build)


def s3() -> Any:
    """The S3 client (reference photos, digests, exports). AWS_ENDPOINT_URL_S3 points it at moto
    locally."""

    def build() -> Any:
        import boto3
        from botocore.config import Config

        # SigV4 presigned links carry their lifetime (X-Amz-Expires); every region accepts them
        return boto3.client(
            "s3",
            config=Config(
                retries={"max_attempts": 3, "mode": "standard"},
                connect_timeout=2,
                signature_version="s3v4",
            ),
        )

    return cached("s3", build)


def kms() -> Any:
    def build() -> Any:
        import boto3

        return boto3.client("kms")

    return cached("kms", build)


def payment_rail() -> PaymentRail:
    """The payment rail (Stripe), its keys read from the secrets on first use. STRIPE_API_BASE
    points it at localstripe in the local stack."""

    def build() -> PaymentRail:
        from chalicelib.collection.stripe_rail import StripeRail, StripeSettings

        named, read = settings(), secrets()
        stripe = StripeSettings(
            secret_key=read.get(named.stripe_secret_key_name),
            publishable_key=read.get(named.stripe_publishable_key_name),
            webhook_secrets=tuple(read.get(named.stripe_webhook_secret_name).split(",")),
            api_base=named.stripe_api_base or None,
            wallets=tuple(w for w in named.stripe_wallets.split(",") if w),
        )
        return StripeRail(stripe, clock=clock())

    return cached("payment_rail", build)


# -- paying creditors (案款发放) ---------------------------------------------------------------

if TYPE_CHECKING:
    from chalicelib.payouts.rail import PayoutRail
    from chalicelib.payouts.release import FaceGrants
    from chalicelib.payouts.sending import PayoutSender
    from chalicelib.payouts.workflow import DisbursementWorkflow


def payout_rail() -> PayoutRail:
    """The payout rail (Stripe Treasury OutboundPayments), its keys read from the secrets on
    first use (the same Stripe account and webhook secret as payments). STRIPE_API_BASE points
    it at the local Stripe stand-in, which serves them in the local stack."""

    def build() -> PayoutRail:
        from chalicelib.payouts.stripe_payouts import StripePayoutRail, StripePayoutSettings
        from chalicelib.settings import MissingSetting

        named, read = settings(), secrets()
        if not named.stripe_financial_account or not named.stripe_payout_routing_number:
            raise MissingSetting(
                "payouts need STRIPE_FINANCIAL_ACCOUNT and STRIPE_PAYOUT_ROUTING_NUMBER"
            )
        return StripePayoutRail(
            StripePayoutSettings(
                secret_key=read.get(named.stripe_secret_key_name),
                financial_account=named.stripe_financial_account,
                routing_number=named.stripe_payout_routing_number,
                webhook_secrets=tuple(read.get(named.stripe_webhook_secret_name).split(",")),
                api_base=named.stripe_api_base or None,
            ),
            clock=clock(),
        )

    return cached("payout_rail", build)


def face_grants() -> FaceGrants:
    """Face-verification grants for the creditor's own release (``chalicelib.payouts.release``
    defines the interface; ``chalicelib.identity`` issues them through ``face_checks()``, which
    is built, and its grant key read, on the first release)."""

    def build() -> FaceGrants:
        from chalicelib.payouts.face_grants import PayoutFaceGrants

        return PayoutFaceGrants(face_checks)

    return cached("face_grants", build)


def disbursement_workflow() -> DisbursementWorkflow:
    """Paying creditors before money leaves: propose, approve, defer, reissue, claim links."""

    def build() -> DisbursementWorkflow:
        from chalicelib.payouts.store import PayoutStore
        from chalicelib.payouts.workflow import DisbursementWorkflow

        return DisbursementWorkflow(
            PayoutStore(dynamodb(), settings().payouts_table),
            cases=case_service(),
            ledger=ledger_service(),
            approvals=approval_service(),
            deadlines=deadline_service(),
            notifier=notifier(),
            clock=clock(),
            settings=settings(),
        )

    return cached("disbursements", build)


def payout_sender() -> PayoutSender:
    """Paying creditors as money leaves: release, send, settle, the webhook and the sweeper.
    The face grants come from ``face_grants()``."""

    def build() -> PayoutSender:
        from chalicelib.payouts.sending import PayoutSender

        return PayoutSender(
            disbursement_workflow(),
            rail=payout_rail,
            ledger=ledger_service(),
            grants=face_grants(),
            clock=clock(),
            settings=settings(),
        )

    return cached("payout_sender", build)


def notifier() -> Notifier:
    """Where notifications go: ``notify_by=sms`` sends SMS through SNS; otherwise (the local
    stack, tests) they go to the outbox file in ``notify_outbox_dir``."""

    def build() -> Notifier:
        from pathlib import Path

        from chalicelib.notifications import (
            Channel,
            ChannelNotifier,
            OutboxNotifier,
            SnsSmsSender,
        )

        if settings().notify_by == "sms":
            import boto3

            sender = SnsSmsSender(boto3.client("sns"), sender_id=settings().sms_sender_id or None)
            return ChannelNotifier({Channel.SMS: sender}, clock=clock())
        folder = Path(settings().notify_outbox_dir)
        return OutboxNotifier(folder / "notifications.jsonl", clock=clock())

    return cached("notifier", build)


# -- services, one per capability --------------------------------------------------------------


def token_verifier() -> TokenVerifier:
    """Staff sign-in: the token verifier for this stage's issuer (Cognito in dev and prod)."""

    def build() -> TokenVerifier:
        from chalicelib.identity.tokens import TokenSettings, TokenVerifier

        sign_in = settings().sign_in()
        return TokenVerifier(
            TokenSettings(
                stage=settings().stage,
                issuer=sign_in.issuer,
                audience=sign_in.audience,
                jwks_url=sign_in.jwks_url,
                jwks_file=sign_in.jwks_file,
                max_age_seconds=settings().max_token_age_hours * 3600,
            )
        )

    return cached("token_verifier", build)


def ledger_service() -> LedgerService:
    """The ledger: the system of record every capability posts through."""

    def build() -> LedgerService:
        from chalicelib.ledger.service import LedgerService

        return LedgerService(
            dynamodb(),
            settings().ledger_table,
            clock(),
            system_shards=settings().ledger_system_shards,
            max_attempts=settings().ledger_posting_attempts,
        )

    return cached("ledger", build)


def _open_ledger_account(account_number: str, case_id: str, currency: str) -> object:
    return ledger_service().open_case_account(account_number, case_id=case_id, currency=currency)


def case_service() -> CaseService:
    """Cases: filing, parties and status; opening a case opens its ledger account."""

    def build() -> CaseService:
        from chalicelib.cases.service import CaseService
        from chalicelib.cases.store import CasesStore

        store = CasesStore(dynamodb(), settings().cases_table)
        return CaseService(store, clock(), _open_ledger_account)

    return cached("cases", build)


def receiving_account_changes() -> ReceivingAccountChanges:
    """Changing a creditor's receiving account: proposed, decided through the chain, refused
    while a disbursement to that creditor is under way."""

    def build() -> ReceivingAccountChanges:
        from chalicelib.cases.accounts import ReceivingAccountChanges
        from chalicelib.cases.store import CasesStore

        return ReceivingAccountChanges(
            CasesStore(dynamodb(), settings().cases_table),
            approval_service(),
            clock(),
            _disbursements_under_way,
        )

    return cached("receiving_accounts", build)


def _disbursements_under_way(case_id: str, party_id: str) -> list[str]:
    from chalicelib.payouts.models import UNDER_WAY_STATES

    return [
        d.disbursement_id
        for d in disbursement_workflow().of_case(case_id)
        if d.creditor_party_id == party_id and d.state in UNDER_WAY_STATES
    ]


def collection_service() -> CollectionService:
    """Online collection: the pay page, webhooks, the sweeper, claims and counter cash."""

    def build() -> CollectionService:
        from chalicelib.collection.service import CollectionService
        from chalicelib.collection.store import CollectionStore

        return CollectionService(
            CollectionStore(dynamodb(), settings().collection_table),
            payment_rail,
            clock(),
            cases=case_service(),
            ledger=ledger_service(),
            notifier=notifier(),
            max_payment_multiple=settings().max_payment_multiple,
            clocks=deadline_service,
        )

    return cached("collection", build)


def face_verifier() -> FaceVerifier:
    """The face verifier the settings choose: Rekognition, or dlib offline (loaded here, on the
    first face check, never at import)."""

    def build() -> FaceVerifier:
        from chalicelib.identity.face_interface import build_verifier

        the_settings = settings()
        if the_settings.face_verifier == "rekognition":
            import boto3

            return build_verifier(the_settings, rekognition=boto3.client("rekognition"))
        return build_verifier(the_settings)

    return cached("face_verifier", build)


def face_store() -> FaceStore:
    def build() -> FaceStore:
        from chalicelib.identity.face_records import FaceStore

        return FaceStore(dynamodb(), settings().identity_table)

    return cached("face_store", build)


def reference_photos() -> ReferencePhotos:
    """Creditors' reference photos: checked on enrolment, encrypted in S3, purged after the
    retention once the case is concluded."""

    def build() -> ReferencePhotos:
        from chalicelib.identity.reference_photo_store import ReferencePhotos

        return ReferencePhotos(
            s3=s3(),
            bucket=settings().reference_photos_bucket,
            store=face_store(),
            verifier=face_verifier,
            clock=clock(),
        )

    return cached("reference_photos", build)


def face_checks() -> FaceChecks:
    """The creditor's face check on a claim: decisions, lockout, grants."""

    def build() -> FaceChecks:
        from datetime import timedelta

        from chalicelib.identity.face_service import FaceCheckLimits, FaceChecks
        from chalicelib.identity.grants import GrantSigner

        the_settings = settings()
        grant_key = secrets().get(the_settings.face_grant_key_name).encode()
        return FaceChecks(
            store=face_store(),
            photos=reference_photos(),
            verifier=face_verifier,
            signer=GrantSigner(grant_key),
            clock=clock(),
            limits=FaceCheckLimits(
                grant_ttl=timedelta(seconds=the_settings.face_grant_ttl_seconds),
                max_failures=the_settings.face_max_failures,
                failure_window=timedelta(minutes=the_settings.face_failure_window_minutes),
            ),
            notifier=notifier(),
            lock_contacts=the_settings.face_lock_contacts,
        )

    return cached("face_checks", build)


def face_reviews() -> FaceReviews:
    """Human review of refused face checks: the selfie kept encrypted for a few hours, decided
    by a reviewer who did not propose the payout."""

    def build() -> FaceReviews:
        from datetime import timedelta

        from chalicelib.identity.face_reviews import FaceReviews
        from chalicelib.identity.review_records import ReviewStore

        the_settings = settings()
        return FaceReviews(
            store=ReviewStore(dynamodb(), the_settings.identity_table),
            claims=face_store(),
            s3=s3(),
            bucket=the_settings.reference_photos_bucket,
            photos=reference_photos(),
            checks=face_checks(),
            clock=clock(),
            retention=timedelta(hours=the_settings.face_review_retention_hours),
        )

    return cached("face_reviews", build)


def _collection_decisions() -> DecisionStore:
    """Two-person entries of collection (counter cash, claims), in the collection table."""

    def build() -> DecisionStore:
        from chalicelib.collection.decision_store import DecisionStore

        return DecisionStore(dynamodb(), settings().collection_table)

    return cached("collection_decisions", build)


def counter_cash_desk() -> CounterCashDesk:
    """Counter cash under four eyes, within the limits the settings give."""

    def build() -> CounterCashDesk:
        from datetime import timedelta

        from chalicelib.collection.counter_cash import CounterCashDesk

        limits = settings()
        return CounterCashDesk(
            collection_service(),
            _collection_decisions(),
            case_service(),
            clock(),
            approvals=approval_service(),
            ceiling=limits.counter_cash_ceiling_fen,
            max_age=timedelta(days=limits.counter_cash_max_age_days),
        )

    return cached("counter_cash_desk", build)


def claim_desk() -> ClaimDesk:
    """Claims of unidentified money under four eyes."""

    def build() -> ClaimDesk:
        from chalicelib.collection.claims import ClaimDesk

        return ClaimDesk(
            collection_service(),
            _collection_decisions(),
            case_service(),
            clock(),
            approvals=approval_service(),
        )

    return cached("claim_desk", build)


def approval_chains() -> ChainBook:
    """The approval chains per court (``APPROVAL_CHAINS``, else the default chains), checked
    when first asked for: the approvals use them to decide, the deadlines to escalate."""

    def build() -> ChainBook:
        from chalicelib.approvals.chains import ChainBook, default_chains

        config = settings().approval_chains
        return default_chains() if config is None else ChainBook.model_validate(config)

    return cached("approval_chains", build)


def approval_service() -> ApprovalService:
    """Approvals: the chain of amount tiers per court that every decision moving money takes."""

    def build() -> ApprovalService:
        from chalicelib.approvals.service import ApprovalService
        from chalicelib.approvals.store import ApprovalStore

        config = settings()
        return ApprovalService(
            ApprovalStore(dynamodb(), config.approvals_table),
            clock(),
            approval_chains(),
            overdue_working_days=config.approval_overdue_working_days,
            # the calendar is built when the first due time is asked for, not with the service
            due_after=lambda moment, days: working_calendar().due_after(moment, days),
        )

    return cached("approvals", build)


def refund_service() -> RefundService:
    """Refunds (退付): requests, the chain, and paying back by the rail or by bank."""

    def build() -> RefundService:
        from chalicelib.refunds.notices import PayerNotices
        from chalicelib.refunds.payback import Payback
        from chalicelib.refunds.service import RefundService
        from chalicelib.refunds.sources import Sources
        from chalicelib.refunds.store import RefundStore

        store = RefundStore(dynamodb(), settings().refunds_table)
        return RefundService(
            store,
            clock(),
            approvals=approval_service(),
            sources=Sources(collection_service(), case_service()),
            payback=Payback(
                store,
                clock(),
                ledger=ledger_service(),
                rail=payment_rail,
                tell_payer=PayerNotices(case_service(), notifier()),
            ),
        )

    return cached("refunds", build)


def refund_drafts() -> Drafts:
    """Automatic refund drafts from surpluses, concluded cases and unclaimed funds."""

    def build() -> Drafts:
        from chalicelib.refunds.drafts import Drafts
        from chalicelib.refunds.sources import Sources

        config = settings()
        return Drafts(
            refund_service(),
            Sources(collection_service(), case_service()),
            collection=collection_service(),
            cases=case_service(),
            ledger=ledger_service(),
            unidentified_court=config.unidentified_funds_court,
        )

    return cached("refund_drafts", build)


def working_calendar() -> WorkingCalendar:
    """The working-day calendar every statutory time limit is counted on."""

    def build() -> WorkingCalendar:
        from chalicelib.workdays.store import ScheduleStore
        from chalicelib.workdays.working_calendar import WorkingCalendar

        values = settings()
        return WorkingCalendar(
            ScheduleStore(dynamodb(), table_name("OVERSIGHT_TABLE")),
            clock=clock(),
            refresh_seconds=values.calendar_refresh_seconds,
            horizon_days=values.calendar_alarm_horizon_days,
        )

    return cached("working_calendar", build)


def calendar_service() -> CalendarService:
    """The calendar's own use cases: status, due dates, announced schedules."""

    def build() -> CalendarService:
        from chalicelib.workdays.schedules import CalendarService
        from chalicelib.workdays.store import ScheduleStore

        return CalendarService(
            ScheduleStore(dynamodb(), table_name("OVERSIGHT_TABLE")), working_calendar(), clock()
        )

    return cached("calendar_service", build)


def reconciliation_service() -> ReconciliationService:
    """Reconciliation with the payment rail, per day and currency."""

    def build() -> ReconciliationService:
        from chalicelib.reconciliation.service import ReconciliationService
        from chalicelib.reconciliation.store import ReconciliationStore

        return ReconciliationService(
            payment_rail(),
            ledger_service(),
            ReconciliationStore(dynamodb(), table_name("OVERSIGHT_TABLE")),
            clock(),
        )

    return cached("reconciliation", build)


def deadline_service() -> DeadlineService:
    """Statutory time limits: item clocks, the daily escalation and 公示."""

    def build() -> DeadlineService:
        from chalicelib.collection.store import CollectionStore
        from chalicelib.deadlines.daily import DeadlineService
        from chalicelib.deadlines.store import DeadlineStore

        return DeadlineService(
            DeadlineStore(dynamodb(), table_name("OVERSIGHT_TABLE")),
            working_calendar(),
            settings(),
            CollectionStore(dynamodb(), table_name("COLLECTION_TABLE")),
            notifier=notifier(),
            clock=clock(),
            chains=approval_chains(),
            refunds=refund_drafts,
        )

    return cached("deadlines", build)


def monitoring_service() -> MonitoringService:
    """Central monitoring (集中监管) across the courts this deployment serves."""

    def build() -> MonitoringService:
        from chalicelib.collection.store import CollectionStore
        from chalicelib.monitoring.figures import MonitoringService
        from chalicelib.reconciliation.store import ReconciliationStore

        return MonitoringService(
            cases=case_service(),
            ledger=ledger_service(),
            deadlines=deadline_service(),
            queue=CollectionStore(dynamodb(), table_name("COLLECTION_TABLE")),
            reconciliation=ReconciliationStore(dynamodb(), table_name("OVERSIGHT_TABLE")),
            calendar=working_calendar(),
            settings=settings(),
        )

    return cached("monitoring", build)


def digests_configured() -> bool:
    """Whether this stage publishes digests: a digest bucket and a signing key are named."""
    config = settings()
    return bool(config.audit_bucket and (config.digest_kms_key_id or config.digest_key_file))


def digest_publisher() -> DigestPublisher:
    """Ledger digests: the write-once digest bucket and the stage's signing key (KMS in dev and
    prod, the local stack's key file)."""

    def build() -> DigestPublisher:
        from chalicelib.audit import AnchorUnavailable
        from chalicelib.audit.anchor import AnchorBucket
        from chalicelib.audit.publisher import DigestPublisher
        from chalicelib.audit.signing import DigestSigner, KmsSigner, LocalKeySigner
        from chalicelib.ledger.listing import LedgerListing

        config = settings()
        if not digests_configured() or config.audit_bucket is None:
            raise AnchorUnavailable(
                "this stage has no digest bucket or signing key configured "
                "(AUDIT_BUCKET, DIGEST_KMS_KEY_ID)"
            )
        signer: DigestSigner
        if config.digest_kms_key_id:
            signer = KmsSigner(kms(), config.digest_kms_key_id)
        else:
            signer = LocalKeySigner(str(config.digest_key_file))
        return DigestPublisher(
            LedgerListing(ledger_service().store),
            AnchorBucket(s3(), config.audit_bucket, retention_days=config.digest_retention_days),
            signer,
            clock(),
            ledger_name=config.stage,
        )

    return cached("digest_publisher", build)


def ledger_check() -> LedgerCheck:
    """The whole-ledger check, compared with the latest digest where digests are published."""

    def build() -> LedgerCheck:
        from chalicelib.audit.check import LedgerCheck
        from chalicelib.ledger.listing import LedgerListing

        ledger = ledger_service()
        digests = digest_publisher() if digests_configured() else None
        return LedgerCheck(ledger, LedgerListing(ledger.store), clock(), digests=digests)

    return cached("ledger_check", build)


def daily_ledger_check() -> DailyLedgerCheck:
    """The daily check and digest: in deployed stages a run too long for one invocation goes
    on in the continuation Lambda, invoked asynchronously with the check's cursor."""

    def build() -> DailyLedgerCheck:
        from chalicelib.audit.daily import DailyLedgerCheck, LambdaContinuation

        config = settings()
        continuation = None
        if config.ledger_check_function:
            import boto3

            continuation = LambdaContinuation(boto3.client("lambda"), config.ledger_check_function)
        publish = None
        if digests_configured():

            def publish() -> int:
                return digest_publisher().publish().digest.number

        return DailyLedgerCheck(
            ledger_check(), clock(), stage=config.stage, continuation=continuation, publish=publish
        )

    return cached("daily_ledger_check", build)


def export_service() -> ExportService:
    """Exports: the export bucket, the ledger, the digest key, and where queued jobs run (the
    export Lambda, invoked asynchronously; a thread of this process in the local stack)."""

    def build() -> ExportService:
        import boto3

        from chalicelib.exports import ExportsUnavailable
        from chalicelib.exports.service import (
            ExportRunner,
            ExportService,
            LambdaRunner,
            ThreadRunner,
        )
        from chalicelib.ledger.listing import LedgerListing

        config = settings()
        if config.exports_bucket is None:
            raise ExportsUnavailable("this stage has no export bucket configured (EXPORTS_BUCKET)")
        runner: ExportRunner
        if config.export_runner == "lambda" and config.export_function:
            runner = LambdaRunner(boto3.client("lambda"), config.export_function)
        else:
            runner = ThreadRunner(lambda job_id: export_service().run(job_id))
        ledger = ledger_service()
        return ExportService(
            ledger,
            LedgerListing(ledger.store),
            s3(),
            config.exports_bucket,
            clock(),
            digests=digest_publisher(),
            runner=runner,
            direct_rows=config.export_direct_rows,
            link_seconds=config.export_link_seconds,
        )

    return cached("export_service", build)


def rate_limiter() -> RateLimiter:
    """Per-client limits on anonymous routes, counted in the collection table."""

    def build() -> RateLimiter:
        from chalicelib.ratelimit import Bucket, RateLimiter

        config = settings()
        return RateLimiter(
            dynamodb(),
            table_name("COLLECTION_TABLE"),
            clock(),
            limits={
                Bucket.LOOKUP: config.public_lookups_per_window,
                Bucket.PAYMENT: config.public_payments_per_window,
                Bucket.FACE_CHECK: config.public_face_checks_per_window,
                Bucket.CLAIM_FACE_CHECK: config.face_checks_per_code_per_window,
            },
            window_seconds=config.rate_window_seconds,
        )

    return cached("rate_limiter", build)
